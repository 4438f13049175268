"""Baseline rules the security review found worth pinning: profiles carry privilege."""

from __future__ import annotations

import uuid

import psycopg
import pytest


def new_auth_user(conn: psycopg.Connection) -> uuid.UUID:
    user_id = uuid.uuid4()
    conn.execute(
        "insert into auth.users (id, email, aud, role) values (%s, %s, 'authenticated', 'authenticated')",
        (user_id, f"{user_id}@example.test"),
    )
    return user_id


def test_admin_cannot_create_a_profile_let_alone_a_super_admin(rows, act):
    spare = new_auth_user(rows)
    act("admin")
    with pytest.raises(psycopg.errors.InsufficientPrivilege), rows.transaction():
        rows.execute(
            "insert into public.users (id, email, role) values (%s, 'spare@example.test', 'super_admin')", (spare,)
        )


def test_super_admin_can_create_a_profile(rows, act):
    spare = new_auth_user(rows)
    act("super_admin")
    rows.execute("insert into public.users (id, email) values (%s, 'spare@example.test')", (spare,))
    assert rows.execute("select role from public.users where id = %s", (spare,)).fetchone() == ("customer",)


def test_nobody_rekeys_a_profile_to_another_auth_user(rows, people, as_role):
    spare = new_auth_user(rows)
    for actor in (people.admin, people.super_admin):
        with (
            as_role(rows, "authenticated", user=actor),
            pytest.raises(psycopg.errors.InsufficientPrivilege, match="id cannot change"),
            rows.transaction(),
        ):
            rows.execute("update public.users set id = %s where id = %s", (spare, people.super_admin))


def test_admin_cannot_delete_profiles(rows, act, people):
    act("admin")
    deleted = rows.execute("delete from public.users where id = %s", (people.other_customer,)).rowcount
    assert deleted == 0


def test_admin_edits_profiles_but_not_roles(rows, act, people):
    act("admin")
    assert rows.execute("update public.users set full_name = 'C.' where id = %s", (people.customer,)).rowcount == 1
    with pytest.raises(psycopg.errors.InsufficientPrivilege), rows.transaction():
        rows.execute("update public.users set role = 'super_admin' where id = %s", (people.admin,))


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        ("support_tickets", "(customer_id, booking_id, subject, body) values (%s, %s, 's', 'b')"),
        (
            "insurance_documents",
            "(customer_id, booking_id, document_type, storage_path) values (%s, %s, 'liability', 'x.pdf')",
        ),
    ],
)
def test_customer_cannot_attach_their_rows_to_someone_elses_booking(rows, act, people, table, columns):
    carls_booking = "00000000-0000-4000-8000-00000000b002"
    coras_booking = "00000000-0000-4000-8000-00000000b001"
    act("customer")
    with pytest.raises(psycopg.errors.InsufficientPrivilege), rows.transaction():
        rows.execute(f"insert into public.{table} {columns}", (people.customer, carls_booking))
    rows.execute(f"insert into public.{table} {columns}", (people.customer, coras_booking))
