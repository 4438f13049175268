"""What the Data API serves from the exposed schemas: its tables and the functions it calls as RPC.

The access suite's coverage test and `phase3test init` ask the same question and must get the same
answer: what one requires a decision for, the other drafts. Supabase's own schemas (auth, storage, ...)
are left out even when a config exposes them: the platform decides who reaches those, not the project.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from phase3test.inspection.catalog import not_extension_member
from phase3test.supabase.platform import PLATFORM_SCHEMAS


@dataclass(frozen=True)
class ServedFunction:
    oid: int
    signature: str  # schema.name(argument names and types), as the matrix names it
    call_with_nulls: str  # schema.name(null::type, ...): a call that needs no real arguments


def project_schemas(exposed: list[str]) -> list[str]:
    """The exposed schemas whose access the project decides."""
    return [schema for schema in exposed if schema not in PLATFORM_SCHEMAS]


def platform_owned(name: str) -> bool:
    """A table or function (schema.name...) in a schema Supabase owns: a matrix may declare it, nothing infers it."""
    return name.split(".", 1)[0] in PLATFORM_SCHEMAS


def served_tables(conn: psycopg.Connection, exposed: list[str]) -> list[str]:
    rows = conn.execute(
        """select format('%%I.%%I', n.nspname, c.relname) from pg_class c
             join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = any (%s) and c.relkind in ('r', 'p') and not c.relispartition order by 1""",
        (project_schemas(exposed),),
    )
    return [name for (name,) in rows]


def served_functions(conn: psycopg.Connection, exposed: list[str]) -> list[ServedFunction]:
    """Callable by an API role, not a trigger, not an extension's: what PostgREST serves as RPC."""
    rows = conn.execute(
        f"""select p.oid::int,
                   format('%%I.%%I(%%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
                   format('%%I.%%I(%%s)', n.nspname, p.proname,
                          (select string_agg(format('null::%%s', format_type(t, null)), ', ' order by i)
                             from unnest(p.proargtypes) with ordinality as a(t, i)))
              from pg_proc p join pg_namespace n on n.oid = p.pronamespace
             where n.nspname = any (%s) and p.prokind = 'f'
               and p.prorettype not in ('trigger'::regtype, 'event_trigger'::regtype)
               and (has_function_privilege('anon', p.oid, 'execute')
                    or has_function_privilege('authenticated', p.oid, 'execute')
                    or has_function_privilege('service_role', p.oid, 'execute'))
               and {not_extension_member("pg_proc", "p.oid")}
             order by 2""",
        (project_schemas(exposed),),
    )
    return [ServedFunction(*row) for row in rows]
