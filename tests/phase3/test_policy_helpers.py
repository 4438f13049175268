"""The policy helpers after 20261205000600_phase3_one_policy_per_operation: one permissive policy per operation.

The access matrix proves the merged policies decide as the separate ones did; these tests prove the helpers
keep it so for the files that come later: a rule registered twice is one rule, a role list and an own-row
condition share a policy, and a plain CREATE POLICY is folded in by a merge.
"""

from __future__ import annotations

import psycopg
import pytest

NOTES = "public.helper_notes"


@pytest.fixture
def notes(rows: psycopg.Connection) -> psycopg.Connection:
    """A table a later migration might add: rows owned by users, RLS through the helpers."""
    rows.execute(
        f"create table {NOTES} (id bigint generated always as identity primary key,"
        " owner_id uuid not null default auth.uid(), body text)"
    )
    rows.execute(f"grant select, insert, update, delete on {NOTES} to authenticated")
    rows.execute(
        f"insert into {NOTES} (owner_id, body) values"
        " ('00000000-0000-4000-8000-0000000c0001', 'Cora'), ('00000000-0000-4000-8000-0000000c0002', 'Carl')"
    )
    return rows


def policies(conn: psycopg.Connection) -> list[tuple[str, str, bool]]:
    return conn.execute(
        "select polname, polcmd::text, polpermissive from pg_policy where polrelid = %s::regclass order by 1",
        (NOTES,),
    ).fetchall()


def definitions(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        "select policyname, cmd, qual, with_check from pg_policies where tablename = 'helper_notes' order by 1"
    ).fetchall()


def test_a_role_list_gives_one_policy_per_operation(notes):
    notes.execute(f"select private.policy_admin_read_write('{NOTES}')")
    assert policies(notes) == [
        ("helper_notes_delete", "d", True),
        ("helper_notes_insert", "a", True),
        ("helper_notes_select", "r", True),
        ("helper_notes_update", "w", True),
    ]


def test_the_same_helper_call_twice_changes_nothing(notes):
    notes.execute(f"select private.policy_admin_read_write('{NOTES}')")
    once = definitions(notes)
    notes.execute(f"select private.policy_admin_read_write('{NOTES}')")
    assert definitions(notes) == once


def test_roles_and_an_own_row_rule_share_the_operations_policy(notes, act, ids):
    notes.execute(f"select private.policy_admin_read_write('{NOTES}')")
    notes.execute(f"select private.policy_role_based('{NOTES}', array['security'], array['select'])")
    notes.execute(
        f"select private.policy_rule('{NOTES}', 'helper_notes_select_own', 'select', 'owner_id = (select auth.uid())')"
    )
    assert [name for name, cmd, _ in policies(notes) if cmd == "r"] == ["helper_notes_select"]
    seen = {}
    for who in ("customer", "other_customer", "admin", "security", "finance"):
        with act(who):
            seen[who] = [body for (body,) in notes.execute(f"select body from {NOTES} order by body")]
    assert seen == {
        "customer": ["Cora"],
        "other_customer": ["Carl"],
        "admin": ["Carl", "Cora"],
        "security": ["Carl", "Cora"],
        "finance": [],
    }


def test_a_plain_create_policy_is_folded_in_by_a_merge(notes, act):
    notes.execute(f"select private.policy_admin_read_write('{NOTES}')")
    for operation in ("select", "update"):  # an update reads the rows it changes: it needs both
        notes.execute(
            f"create policy notes_{operation}_own on {NOTES} for {operation} to authenticated"
            " using (owner_id = auth.uid())"
        )
    notes.execute(f"select private.merge_policies('{NOTES}')")
    merged = [f"helper_notes_{operation}" for operation in ("delete", "insert", "select", "update")]
    assert [name for name, *_ in policies(notes)] == merged
    with act("customer"):
        assert notes.execute(f"update {NOTES} set body = body || '!'").rowcount == 1  # her own row only


def test_restrictive_policies_are_left_alone(notes, act, refused):
    notes.execute(f"select private.policy_admin_read_write('{NOTES}')")
    notes.execute(
        f"create policy notes_insert_as_self on {NOTES} as restrictive for insert to authenticated"
        " with check (owner_id = (select auth.uid()))"
    )
    notes.execute(f"select private.merge_policies('{NOTES}')")
    assert ("notes_insert_as_self", "a", False) in policies(notes)
    with act("admin"):
        assert refused(
            notes, f"insert into {NOTES} (owner_id, body) values ('00000000-0000-4000-8000-0000000c0001', 'x')"
        )
