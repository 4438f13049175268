"""Security checks on the whole schema: the mistakes RLS reviews miss, each named precisely.

They read the catalog of the migrated (seeded) database and compare it with
the access matrix where a decision is needed: RLS on every exposed table, no
write policy that is always true unless the matrix allows every row, pinned
`search_path` on every SECURITY DEFINER function and none executable by
`anon` unless declared, no materialized view or view over `auth.users`
readable through the API, and no policy trusting `user_metadata`.
"""

from __future__ import annotations

import psycopg

from phase3test.access.matrix import Matrix
from phase3test.access.probes import holds_privilege
from phase3test.inspection.catalog import not_extension_member
from phase3test.project import SupabaseProject
from phase3test.supabase.roles import API_ROLES

# What a policy's command (pg_policy.polcmd) governs, and its name in `create policy ... for`.
_PRIVILEGES: dict[str, tuple[str, ...]] = {
    "r": ("select",),
    "a": ("insert",),
    "w": ("update",),
    "d": ("delete",),
    "*": ("select", "insert", "update", "delete"),
}
_COMMANDS = {
    command: tuple(op for op in ops if op != "select") for command, ops in _PRIVILEGES.items() if command != "r"
}
_COMMAND_NAMES = {command: ops[0] if len(ops) == 1 else "all" for command, ops in _PRIVILEGES.items()}


def test_row_level_security_is_enabled_on_every_exposed_table(
    db: psycopg.Connection, supabase_project: SupabaseProject
) -> None:
    unprotected = _rows(
        db,
        """select format('%%I.%%I', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = any (%s) and c.relkind in ('r', 'p') and not c.relrowsecurity order by 1""",
        (supabase_project.api_schemas(),),
    )
    assert not unprotected, "row level security is off on: " + ", ".join(unprotected)  # check: security.rls_enabled


def test_no_write_policy_is_always_true_unless_the_matrix_allows_every_row(
    db: psycopg.Connection, access_matrix: Matrix, supabase_project: SupabaseProject
) -> None:
    policies = db.execute(
        """select format('%%I.%%I', n.nspname, c.relname), p.polname, p.polcmd,
                  array(select coalesce((select rolname from pg_roles where oid = r), 'public')
                          from unnest(p.polroles) r),
                  pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
             from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = any (%s) and p.polpermissive and p.polcmd <> 'r'""",
        (supabase_project.api_schemas(),),
    ).fetchall()
    problems = []
    for table, name, command, roles, using, check in policies:
        if table not in access_matrix.tables:
            continue  # a table missing from the matrix fails the coverage test
        access = access_matrix.tables[table]
        for operation in _COMMANDS[command]:
            clause, text = _deciding_clause(operation, using, check)
            if text != "true":
                continue
            for role in access_matrix.roles.values():
                if ("public" in roles or role.api_role in roles) and access.expected(operation, role.name) != "allow":
                    problems.append(
                        f"{table}: policy {name} ({clause} true) lets {role.name} {operation} every row, "
                        f"but the matrix says {access.expected(operation, role.name)}"
                    )
    assert not problems, "\n".join(problems)  # check: security.always_true_writes


def _deciding_clause(operation: str, using: str | None, check: str | None) -> tuple[str, str | None]:
    """The clause that decides which rows an operation may write: insert its WITH CHECK (USING when there is
    none), delete its USING; update is judged by USING, the rows it may reach."""
    if operation == "insert":
        return ("WITH CHECK", check) if check is not None else ("USING", using)
    return "USING", using


def test_security_definer_functions_pin_their_search_path(db: psycopg.Connection) -> None:
    unpinned = _rows(
        db,
        f"""select format('%%I.%%I(%%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
              from pg_proc p join pg_namespace n on n.oid = p.pronamespace
             where p.prosecdef and n.nspname not in ('pg_catalog', 'information_schema')
               and not exists (select from unnest(p.proconfig) c where c like 'search_path=%%')
               and {not_extension_member("pg_proc", "p.oid")} order by 1""",
    )
    assert not unpinned, (
        "SECURITY DEFINER without a fixed search_path (add `set search_path = ''`): "
        + ", ".join(  # check: security.definer_search_path
            unpinned
        )
    )


def test_anon_executes_no_security_definer_function_unless_declared(
    db: psycopg.Connection, access_matrix: Matrix
) -> None:
    executable: dict[int, str] = dict(
        db.execute(
            f"""select p.oid, format('%%I.%%I(%%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
                  from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                 where p.prosecdef and n.nspname not in ('pg_catalog', 'information_schema')
                   and p.prorettype not in ('trigger'::regtype, 'event_trigger'::regtype)  -- no API calls those
                   and has_function_privilege('anon', p.oid, 'execute')
                   and has_schema_privilege('anon', n.oid, 'usage')
                   and {not_extension_member("pg_proc", "p.oid")}""",
            (),  # with parameters, so `%%` reads as `%` like in the other queries here
        ).fetchall()
    )
    declared = {entry: _oid(db, entry) for entry in access_matrix.anon_may_execute}
    unknown = sorted(entry for entry, oid in declared.items() if oid is None)
    undeclared = sorted(name for oid, name in executable.items() if oid not in declared.values())
    assert not unknown, (
        f"`anon_may_execute` names functions that do not exist: {', '.join(unknown)}"
    )  # check: security.anon_may_execute_known
    assert not undeclared, (  # check: security.anon_definer_declared
        "anon can execute these SECURITY DEFINER functions, which the matrix does not declare in "
        f"`anon_may_execute` (revoke execute from anon, or declare them): {', '.join(undeclared)}"
    )


def test_no_materialized_view_or_view_over_auth_users_is_readable_through_the_api(
    db: psycopg.Connection, supabase_project: SupabaseProject
) -> None:
    readable = db.execute(
        f"""select format('%%I.%%I', n.nspname, c.relname), c.relkind, r.rolname
              from pg_class c join pg_namespace n on n.oid = c.relnamespace
              cross join (values ('anon'), ('authenticated')) r (rolname)
             where n.nspname = any (%s)
               and (c.relkind = 'm' or (c.relkind = 'v' and exists (
                     select from pg_rewrite w join pg_depend d on d.classid = 'pg_rewrite'::regclass and d.objid = w.oid
                      where w.ev_class = c.oid and d.refobjid = 'auth.users'::regclass)))
               and has_table_privilege(r.rolname, c.oid, 'select') and has_schema_privilege(r.rolname, n.oid, 'usage')
               and {not_extension_member("pg_class", "c.oid")}
             order by 1, 3""",
        (supabase_project.api_schemas(),),
    ).fetchall()
    kinds = {"m": "materialized view (no RLS)", "v": "view over auth.users"}
    assert not readable, "\n".join(
        f"{name}: {kinds[kind]} readable by {role}" for name, kind, role in readable
    )  # check: security.no_api_readable_matview_or_auth_view


def test_no_view_the_api_reads_runs_with_its_owners_rights_unless_declared(
    db: psycopg.Connection, access_matrix: Matrix, supabase_project: SupabaseProject
) -> None:
    """A view reads its tables as its owner unless it says `security_invoker`: through the API it shows rows
    the tables' policies would refuse the caller (Supabase's linter calls it security_definer_view)."""
    readable = db.execute(
        f"""select format('%%I.%%I', n.nspname, c.relname), string_agg(r.rolname, ', ' order by r.rolname)
              from pg_class c join pg_namespace n on n.oid = c.relnamespace
              cross join (values ('anon'), ('authenticated')) r (rolname)
             where n.nspname = any (%s) and c.relkind = 'v'
               and not coalesce((select option_value::boolean from pg_options_to_table(c.reloptions)
                                  where option_name = 'security_invoker'), false)
               and has_table_privilege(r.rolname, c.oid, 'select') and has_schema_privilege(r.rolname, n.oid, 'usage')
               and {not_extension_member("pg_class", "c.oid")}
             group by 1 order by 1""",
        (supabase_project.api_schemas(),),
    ).fetchall()
    undeclared = [(view, roles) for view, roles in readable if view not in access_matrix.definer_views]
    assert not undeclared, "\n".join(  # check: security.definer_views
        f"{view}: a view readable by {roles} that runs with its owner's rights, past the RLS of the tables it "
        f"reads (`alter view {view} set (security_invoker = on)`, or list it under `definer_views` in the matrix)"
        for view, roles in undeclared
    )


def test_no_policy_trusts_user_metadata(db: psycopg.Connection) -> None:
    trusting = _rows(
        db,
        """select format('%%s on %%I.%%I', policyname, schemaname, tablename) from pg_policies
            where concat(qual, ' ', with_check) ~* '(user_metadata|raw_user_meta_data)' order by 1""",
    )
    assert not trusting, (  # check: security.no_user_metadata
        "policies reading user_metadata, which every user can edit about themselves (use app_metadata or "
        "a table): " + ", ".join(trusting)
    )


def test_every_policy_names_roles_that_hold_the_privilege_it_governs(
    db: psycopg.Connection, supabase_project: SupabaseProject
) -> None:
    """Privileges are checked before policies: a policy for a role without the grant never applies, and the API
    answers 42501 (since 2026-10-30 Supabase grants new tables to no API role, so a forgotten grant is common).
    A policy for PUBLIC needs one API role that holds it."""
    policies = db.execute(
        """select format('%%I.%%I', n.nspname, c.relname), p.polname, p.polcmd,
                  array(select case when r = 0 then 'public' else r::regrole::text end from unnest(p.polroles) r)
             from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = any (%s) or c.oid = to_regclass('realtime.messages') order by 1, 2""",
        (supabase_project.api_schemas(),),
    ).fetchall()
    problems = []
    for table, name, command, roles in policies:
        for role in roles:
            holders = API_ROLES if role == "public" else (role,)
            if any(holds_privilege(db, holder, table, op) for holder in holders for op in _PRIVILEGES[command]):
                continue
            what = " or ".join(op.upper() for op in _PRIVILEGES[command])
            who = "no API role" if role == "public" else role
            problems.append(
                f"{table}: policy {name} never applies: {who} holds no {what} privilege on it "
                f"(grant {_PRIVILEGES[command][0]} on {table} to {'authenticated' if role == 'public' else role})"
            )
    assert not problems, "\n".join(problems)  # check: security.policy_without_grant


def test_broadcast_policies_depend_on_the_channel(db: psycopg.Connection) -> None:
    """A Broadcast policy on realtime.messages that never reads realtime.topic() opens every private channel to
    the roles it names (`using (true)`: every signed-in user receives every channel)."""
    blind = db.execute(
        """select p.polname, p.polcmd, concat_ws(' ', pg_get_expr(p.polqual, p.polrelid),
                                                 pg_get_expr(p.polwithcheck, p.polrelid))
             from pg_policy p where p.polrelid = to_regclass('realtime.messages') and p.polpermissive
              and (p.polroles && array[0]::oid[]
                   or p.polroles && array(select oid from pg_roles where rolname in ('anon', 'authenticated')))
            order by 1"""
    ).fetchall()
    problems = [
        f"realtime.messages: policy {name} ({_COMMAND_NAMES[command]}: {expression or 'true'}) lets its roles "
        f"{'receive' if command == 'r' else 'use'} every private channel: restrict it by `realtime.topic()`"
        for name, command, expression in blind
        if "topic()" not in (expression or "")
    ]
    assert not problems, "\n".join(problems)  # check: security.broadcast_by_topic


def _oid(conn: psycopg.Connection, signature: str) -> int | None:
    row = conn.execute("select to_regprocedure(%s)::oid", (signature,)).fetchone()
    return row[0] if row else None


def _rows(conn: psycopg.Connection, query: str, params: tuple = ()) -> list[str]:  # type: ignore[type-arg]
    return [value for (value,) in conn.execute(query, params)]
