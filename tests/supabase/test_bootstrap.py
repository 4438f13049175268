"""The bootstrapped database looks like a Supabase project's to the API roles.

Each test checks something a migration or an RLS policy would run into on a
real project, so that a test environment missing it fails here first.
"""

from __future__ import annotations

import importlib.resources
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors

from phase3test.migrations.discovery import discover
from phase3test.migrations.runner import migrate, reapply
from phase3test.provisioning.templates import in_their_era
from phase3test.settings import BY_NAME
from phase3test.supabase.platform import CURRENT, DEFAULT_GRANTS, LEGACY, Platform, apply_platform
from phase3test.supabase.prelude import STORAGE_API_DELETES, as_role

API_ROLES = ("anon", "authenticated", "service_role")


def _connect_like(conn: psycopg.Connection) -> psycopg.Connection:
    """A new session on the same database: database-level settings apply at login."""
    return psycopg.connect(conn.info.dsn, password=conn.info.password, autocommit=True)


def _one(conn: psycopg.Connection, query: str, params: Any = None) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


# Roles ---------------------------------------------------------------------


def test_role_attributes_match_supabase(empty_db: psycopg.Connection) -> None:
    rows = empty_db.execute(
        """
        select rolname, rolcanlogin, rolinherit, rolbypassrls
        from pg_roles
        where rolname = any(%s)
        """,
        [[*API_ROLES, "authenticator"]],
    ).fetchall()
    assert {name: attrs for name, *attrs in rows} == {
        "anon": [False, False, False],
        "authenticated": [False, False, False],
        "service_role": [False, False, True],
        "authenticator": [True, False, False],
    }


@pytest.mark.parametrize("member", ["authenticator", "postgres"])
def test_api_roles_are_granted_to(empty_db: psycopg.Connection, member: str) -> None:
    granted = empty_db.execute(
        """
        select roleid::regrole::text
        from pg_auth_members
        where member = %s::regrole
        """,
        [member],
    ).fetchall()
    assert {name for (name,) in granted} >= set(API_ROLES)


@pytest.mark.parametrize("role", API_ROLES)
def test_authenticator_must_switch_role_to_use_privileges(empty_db: psycopg.Connection, role: str) -> None:
    # NOINHERIT: PostgREST's login role holds no privileges of its own.
    assert _one(empty_db, "select pg_has_role('authenticator', %s, 'MEMBER')", [role])
    assert not _one(empty_db, "select pg_has_role('authenticator', %s, 'USAGE')", [role])


@pytest.mark.parametrize(("role", "timeout"), [("anon", "3s"), ("authenticated", "8s")])
def test_statement_timeout_is_configured_per_role(empty_db: psycopg.Connection, role: str, timeout: str) -> None:
    # A role's settings apply when a session logs in as it, not on SET ROLE,
    # so the configuration itself is what can be checked here.
    config = _one(empty_db, "select rolconfig from pg_roles where rolname = %s", [role])
    assert f"statement_timeout={timeout}" in config


# Default privileges ----------------------------------------------------------


@pytest.mark.parametrize("role", API_ROLES)
def test_a_new_public_table_is_refused_to_the_api_roles_until_a_migration_grants_it(
    empty_db: psycopg.Connection, role: str
) -> None:
    """Supabase since 2026-10-30: without a grant the API answers 42501, whatever the policies say."""
    apply_platform(empty_db, Platform(CURRENT))
    empty_db.execute("create table public.gadgets (id int primary key)")
    with pytest.raises(errors.InsufficientPrivilege), empty_db.transaction():
        as_role(empty_db, role)
        empty_db.execute("select count(*) from public.gadgets")

    empty_db.execute(f"grant select on public.gadgets to {role}")
    with empty_db.transaction():
        as_role(empty_db, role)
        assert _one(empty_db, "select count(*) from public.gadgets") == 0


@pytest.mark.parametrize("role", ["anon", "authenticated"])
def test_legacy_grants_make_a_new_public_table_readable_until_rls_is_enabled(
    empty_db: psycopg.Connection, role: str
) -> None:
    apply_platform(empty_db, Platform(LEGACY))
    empty_db.execute("create table public.gadgets (id int primary key)")
    empty_db.execute("insert into public.gadgets values (1), (2)")

    with empty_db.transaction():
        as_role(empty_db, role)
        assert _one(empty_db, "select count(*) from public.gadgets") == 2

    empty_db.execute("alter table public.gadgets enable row level security")

    with empty_db.transaction():
        as_role(empty_db, role)
        assert _one(empty_db, "select count(*) from public.gadgets") == 0


def test_each_migration_runs_under_the_defaults_of_its_era(empty_db: psycopg.Connection, tmp_path: Path) -> None:
    """History up to `legacy_until` gets the grants production gave it then; later files and anything after
    them get today's defaults, however often a file is applied again."""
    for name, table in (("20241120083000_old.sql", "old_things"), ("20261201090000_new.sql", "new_things")):
        (tmp_path / name).write_text(f"create table if not exists public.{table} (id int primary key);\n")
    chain = in_their_era(discover(tmp_path).migrations, Platform(CURRENT, legacy_until="20241120083000"))
    apply_platform(empty_db, Platform(CURRENT))
    migrate(empty_db, chain)
    reapply(empty_db, chain[0])
    empty_db.execute("create table public.later_things (id int primary key)")
    granted = {
        table: _one(empty_db, f"select has_table_privilege('anon', 'public.{table}', 'select')")
        for table in ("old_things", "new_things", "later_things")
    }
    assert granted == {"old_things": True, "new_things": False, "later_things": False}


def test_the_platform_setting_offers_exactly_the_modelled_defaults() -> None:
    assert BY_NAME["default_grants"].choices == tuple(DEFAULT_GRANTS)
    assert BY_NAME["default_grants"].default == CURRENT


def test_extension_functions_stay_executable_after_public_loses_execute(empty_db: psycopg.Connection) -> None:
    """A project revokes execute from PUBLIC; what extensions install (pgTAP in a test) still runs as a role."""
    empty_db.execute("alter default privileges revoke execute on functions from public")
    empty_db.execute("create function extensions.answer() returns int language sql as 'select 42'")
    with empty_db.transaction():
        as_role(empty_db, "authenticated", user=str(uuid.uuid4()))
        assert _one(empty_db, "select extensions.answer()") == 42


# auth ----------------------------------------------------------------------


def test_auth_functions_read_the_request_claims(empty_db: psycopg.Connection) -> None:
    uid = uuid.uuid4()
    with empty_db.transaction():
        as_role(empty_db, "authenticated", user=str(uid), claims={"email": "ada@example.com"})
        row = empty_db.execute("select auth.uid(), auth.role(), auth.email(), auth.jwt()").fetchone()
    assert row is not None
    got_uid, role, email, jwt = row
    assert got_uid == uid
    assert role == "authenticated"
    assert email == "ada@example.com"
    assert jwt["sub"] == str(uid)
    assert jwt["role"] == "authenticated"
    assert jwt["email"] == "ada@example.com"


def test_anon_has_a_role_but_no_uid(empty_db: psycopg.Connection) -> None:
    with empty_db.transaction():
        as_role(empty_db, "anon")
        row = empty_db.execute("select auth.uid(), auth.role()").fetchone()
    assert row == (None, "anon")


def test_legacy_sub_setting_wins_when_not_empty(empty_db: psycopg.Connection) -> None:
    claimed, legacy = uuid.uuid4(), uuid.uuid4()
    with empty_db.transaction():
        as_role(empty_db, "authenticated", user=str(claimed))
        empty_db.execute("select set_config('request.jwt.claim.sub', %s, true)", [str(legacy)])
        assert _one(empty_db, "select auth.uid()") == legacy

        empty_db.execute("select set_config('request.jwt.claim.sub', '', true)")
        assert _one(empty_db, "select auth.uid()") == claimed


def test_claims_do_not_outlive_the_request(empty_db: psycopg.Connection) -> None:
    # A setting once set locally reads as '' afterwards; that must mean
    # "no user", not an invalid-json or invalid-uuid error.
    with empty_db.transaction():
        as_role(empty_db, "authenticated", user=str(uuid.uuid4()))
    row = empty_db.execute("select auth.uid(), auth.role(), auth.jwt()").fetchone()
    assert row == (None, None, None)


@pytest.mark.parametrize("role", ["anon", "authenticated"])
def test_api_roles_cannot_read_auth_users(empty_db: psycopg.Connection, role: str) -> None:
    with pytest.raises(errors.InsufficientPrivilege), empty_db.transaction():
        as_role(empty_db, role, user=str(uuid.uuid4()))
        empty_db.execute("select * from auth.users")


def test_auth_users_email_is_unique(empty_db: psycopg.Connection) -> None:
    insert = "insert into auth.users (id, email) values (gen_random_uuid(), %s)"
    empty_db.execute(insert, ["ada@example.com"])
    with pytest.raises(errors.UniqueViolation):
        empty_db.execute(insert, ["ada@example.com"])


@pytest.mark.parametrize("table", ["auth.users", "storage.buckets", "storage.objects", "realtime.messages"])
def test_row_level_security_is_enabled(empty_db: psycopg.Connection, table: str) -> None:
    assert _one(empty_db, "select relrowsecurity from pg_class where oid = %s::regclass", [table])


# search_path and extensions ------------------------------------------------------


def test_new_sessions_get_supabase_search_path(empty_db: psycopg.Connection) -> None:
    with _connect_like(empty_db) as conn:
        assert _one(conn, "show search_path") == '"$user", public, extensions'


@pytest.mark.parametrize(
    ("extension", "call"),
    [("pgcrypto", "gen_random_bytes(4)"), ("uuid-ossp", "uuid_generate_v4()")],
)
def test_extension_functions_resolve_unqualified(empty_db: psycopg.Connection, extension: str, call: str) -> None:
    available = _one(
        empty_db,
        "select exists (select from pg_available_extensions where name = %s)",
        [extension],
    )
    if not available:
        pytest.skip(f"{extension} is not available on this PostgreSQL server")
    with _connect_like(empty_db) as conn:
        assert _one(conn, f"select {call}") is not None


# storage -------------------------------------------------------------------


def test_storage_path_helpers(empty_db: psycopg.Connection) -> None:
    row = empty_db.execute(
        """
        select storage.foldername('a/b/c.png'),
               storage.filename('a/b/c.png'),
               storage.extension('a/b/c.png')
        """
    ).fetchone()
    assert row == (["a", "b"], "c.png", "png")


@pytest.mark.parametrize(
    ("name", "extension"),
    [
        ("a/archive.tar.gz", "gz"),  # after the last dot
        ("a.b/c", "c"),  # dots in folders do not count; no dot: the whole filename
        ("a/b.", ""),
    ],
)
def test_storage_extension_edge_cases(empty_db: psycopg.Connection, name: str, extension: str) -> None:
    assert _one(empty_db, "select storage.extension(%s)", [name]) == extension


def test_top_level_object_has_no_folders(empty_db: psycopg.Connection) -> None:
    assert _one(empty_db, "select storage.foldername('c.png')") == []


def test_object_name_is_unique_within_a_bucket(empty_db: psycopg.Connection) -> None:
    empty_db.execute("insert into storage.buckets (id, name) values ('media', 'media'), ('docs', 'docs')")
    insert = "insert into storage.objects (bucket_id, name) values (%s, 'u/1.png')"
    empty_db.execute(insert, ["media"])
    empty_db.execute(insert, ["docs"])
    with pytest.raises(errors.UniqueViolation):
        empty_db.execute(insert, ["media"])


def test_object_path_tokens_are_generated(empty_db: psycopg.Connection) -> None:
    empty_db.execute("insert into storage.buckets (id, name) values ('media', 'media')")
    tokens = _one(
        empty_db,
        """
        insert into storage.objects (bucket_id, name) values ('media', 'u/1.png')
        returning path_tokens
        """,
    )
    assert tokens == ["u", "1.png"]


def test_storage_refuses_a_direct_delete_as_current_supabase_does(empty_db: psycopg.Connection) -> None:
    empty_db.execute("insert into storage.buckets (id, name) values ('media', 'media')")
    empty_db.execute("insert into storage.objects (bucket_id, name) values ('media', 'u/1.png')")
    for table in ("storage.objects", "storage.buckets"):
        with pytest.raises(errors.InsufficientPrivilege, match="Use the Storage API"), empty_db.transaction():
            empty_db.execute(f"delete from {table}")
    with empty_db.transaction():
        empty_db.execute(STORAGE_API_DELETES)
        empty_db.execute("delete from storage.objects")
        empty_db.execute("delete from storage.buckets")
    assert _one(empty_db, "select count(*) from storage.buckets") == 0


# realtime and the platform's other parts -------------------------------------------


def test_broadcast_policies_see_the_topic_being_joined(empty_db: psycopg.Connection) -> None:
    """A Broadcast authorization policy as projects write it: receive only the channel of one's own room."""
    user = uuid.uuid4()
    empty_db.execute(
        "create policy room_members_receive on realtime.messages for select to authenticated "
        "using ((select realtime.topic()) = 'room:' || (select auth.uid())::text)"
    )
    empty_db.execute("select realtime.send('{\"hello\": 1}', 'greeting', %s, true)", [f"room:{user}"])
    for topic, visible in ((f"room:{user}", 1), (f"room:{uuid.uuid4()}", 0)):
        with empty_db.transaction():
            as_role(empty_db, "authenticated", user=str(user))
            empty_db.execute("select set_config('realtime.topic', %s, true)", [topic])
            assert _one(empty_db, "select count(*) from realtime.messages") == visible


def test_a_row_trigger_broadcasts_its_changes(empty_db: psycopg.Connection) -> None:
    empty_db.execute("create table public.scores (id int primary key, points int)")
    empty_db.execute(
        """create function public.scores_broadcast() returns trigger language plpgsql security definer
           set search_path = '' as $$
           begin
             perform realtime.broadcast_changes('scores', tg_op, tg_op, tg_table_name, tg_table_schema, new, old);
             return null;
           end $$"""
    )
    empty_db.execute(
        "create trigger scores_broadcast after insert or update on public.scores "
        "for each row execute function public.scores_broadcast()"
    )
    empty_db.execute("insert into public.scores values (1, 10)")
    empty_db.execute("update public.scores set points = 11")
    sent = empty_db.execute(
        "select event, topic, extension, private, payload -> 'record' ->> 'points' from realtime.messages"
        " order by inserted_at, event"
    ).fetchall()
    assert sent == [("INSERT", "scores", "broadcast", True, "10"), ("UPDATE", "scores", "broadcast", True, "11")]


def test_a_pulled_migration_adds_a_table_to_the_realtime_publication(empty_db: psycopg.Connection) -> None:
    empty_db.execute("create table public.scores (id int primary key)")
    empty_db.execute("alter publication supabase_realtime add table public.scores")
    assert _one(
        empty_db, "select array_agg(tablename::text) from pg_publication_tables where pubname = 'supabase_realtime'"
    ) == ["scores"]


def test_the_platform_roles_and_schemas_exist(empty_db: psycopg.Connection) -> None:
    roles = {name for (name,) in empty_db.execute("select rolname from pg_roles").fetchall()}
    assert roles >= {
        "supabase_admin",
        "supabase_auth_admin",
        "supabase_storage_admin",
        "supabase_realtime_admin",
        "supabase_replication_admin",
        "supabase_read_only_user",
        "dashboard_user",
        "pgbouncer",
    }
    schemas = {name for (name,) in empty_db.execute("select nspname from pg_namespace").fetchall()}
    assert schemas >= {"auth", "storage", "realtime", "graphql_public", "extensions", "vault"}
    assert not _one(empty_db, "select exists (select from pg_extension where extname = 'pg_graphql')")


# Re-running ----------------------------------------------------------------------


def test_bootstrap_runs_again_on_the_same_database(empty_db: psycopg.Connection) -> None:
    script = (importlib.resources.files("phase3test.supabase") / "bootstrap.sql").read_text()
    empty_db.execute(script)
    assert _one(empty_db, "select current_user") == "postgres"
    assert _one(empty_db, "select storage.filename('a/b.png')") == "b.png"


def test_platform_schemas_belong_to_supabase_admin(empty_db: psycopg.Connection) -> None:
    """As on Supabase; `supabase db reset --db-url` keeps exactly the schemas supabase_admin owns."""
    owners = empty_db.execute(
        "select nspname, nspowner::regrole::text from pg_namespace"
        " where nspname in ('auth', 'storage', 'realtime') order by 1"
    ).fetchall()
    assert owners == [("auth", "supabase_admin"), ("realtime", "supabase_admin"), ("storage", "supabase_admin")]
    tables = empty_db.execute(
        "select relname, relowner::regrole::text from pg_class"
        " where oid in ('auth.users'::regclass, 'storage.objects'::regclass) order by 1"
    ).fetchall()
    assert tables == [("objects", "supabase_storage_admin"), ("users", "supabase_auth_admin")]
