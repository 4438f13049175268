"""Two auth users shared by the sample tests."""

import uuid

import pytest

ALICE = uuid.UUID("00000000-0000-4000-8000-00000000a11c")
BOB = uuid.UUID("00000000-0000-4000-8000-000000000b0b")


@pytest.fixture
def users(db):
    """Alice and Bob exist, each with one note; everything is rolled back after the test."""
    for user_id, email in ((ALICE, "alice@example.test"), (BOB, "bob@example.test")):
        db.execute(
            "insert into auth.users (id, email, aud, role) values (%s, %s, 'authenticated', 'authenticated')",
            (user_id, email),
        )
        db.execute("insert into public.notes (owner_id, body) values (%s, %s)", (user_id, f"note of {email}"))
    return {"alice": ALICE, "bob": BOB}
