"""The schema audit: every exposed table with its columns, indexes, grants and policies.

Rendered from the live catalog of a migrated database, deterministically, so
a checked-in copy can be compared with what the migrations really produce.
"""

from __future__ import annotations

from collections.abc import Iterable

import psycopg

from phase3test.supabase.roles import API_ROLES

PRIVILEGES = (("SELECT", "r"), ("INSERT", "a"), ("UPDATE", "w"), ("DELETE", "d"))
KINDS = {"r": "table", "p": "partitioned table", "v": "view", "m": "materialized view"}


def render(conn: psycopg.Connection, schemas: Iterable[str] = ("public",)) -> str:
    """Markdown for every table, view and materialized view in `schemas`."""
    relations = conn.execute(
        """select c.oid, n.nspname, c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity
             from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = any (%s) and c.relkind in ('r', 'p', 'v', 'm')
            order by n.nspname, c.relname""",
        (list(schemas),),
    ).fetchall()
    lines = [
        "# Schema audit",
        "",
        "Generated from the live catalog of the migrated database by `phase3test docs`;",
        "a test fails when this file is out of date. Do not edit by hand.",
        "",
        f"Schemas: {', '.join(schemas)}. Grants are the API roles' table privileges",
        "(S select, I insert, U update, D delete); RLS decides which rows they reach.",
        "",
        "| relation | kind | RLS | anon | authenticated | service_role | policies |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for oid, schema, name, kind, rls, forced in relations:
        grants = [_grants(conn, oid, role) for role in API_ROLES]
        counted = conn.execute(
            "select count(*) from pg_policies where schemaname = %s and tablename = %s", (schema, name)
        ).fetchone()
        policies = counted[0] if counted else 0
        rls_text = ("forced" if forced else "on") if rls else ("-" if kind in "vm" else "**off**")
        lines.append(f"| `{schema}.{name}` | {KINDS[kind]} | {rls_text} | {' | '.join(grants)} | {policies} |")
    for oid, schema, name, kind, _rls, _forced in relations:
        lines += ["", f"## `{schema}.{name}` ({KINDS[kind]})", ""]
        lines += _columns(conn, oid)
        lines += _indexes(conn, oid)
        lines += _policies(conn, schema, name)
    return "\n".join(lines) + "\n"


def _grants(conn: psycopg.Connection, oid: int, role: str) -> str:
    row = conn.execute(
        "select " + ", ".join(f"has_table_privilege(%s, %s, '{p}')" for p, _ in PRIVILEGES),
        [value for _ in PRIVILEGES for value in (role, oid)],
    ).fetchone()
    letters = "".join(p[0] for (p, _), granted in zip(PRIVILEGES, row or (), strict=True) if granted)
    return letters or "-"


def _columns(conn: psycopg.Connection, oid: int) -> list[str]:
    rows = conn.execute(
        """select a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                  coalesce(pg_get_expr(d.adbin, d.adrelid), ''), a.attidentity, a.attgenerated
             from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
            where a.attrelid = %s and a.attnum > 0 and not a.attisdropped
            order by a.attnum""",
        (oid,),
    ).fetchall()
    lines = ["| column | type | null | default |", "| --- | --- | --- | --- |"]
    for name, type_, notnull, default, identity, generated in rows:
        if identity:
            default = "identity " + ("always" if identity == "a" else "by default")
        elif generated:
            default = f"generated: {default}"
        lines.append(f"| `{name}` | {type_} | {'not null' if notnull else 'null'} | {_cell(default)} |")
    return lines


def _indexes(conn: psycopg.Connection, oid: int) -> list[str]:
    rows = conn.execute(
        "select pg_get_indexdef(indexrelid) from pg_index where indrelid = %s order by indexrelid::regclass::text",
        (oid,),
    ).fetchall()
    if not rows:
        return []
    return ["", "Indexes:", "", *(f"- `{definition}`" for (definition,) in rows)]


def _policies(conn: psycopg.Connection, schema: str, name: str) -> list[str]:
    rows = conn.execute(
        """select policyname, cmd, array_to_string(roles, ', '), permissive,
                  coalesce(qual, ''), coalesce(with_check, '')
             from pg_policies where schemaname = %s and tablename = %s order by policyname""",
        (schema, name),
    ).fetchall()
    if not rows:
        return []
    lines = ["", "| policy | command | roles | mode | using | with check |", "| --- | --- | --- | --- | --- | --- |"]
    for policy, command, roles, permissive, using, check in rows:
        lines.append(f"| `{policy}` | {command} | {roles} | {permissive.lower()} | {_cell(using)} | {_cell(check)} |")
    return lines


def _cell(text: str) -> str:
    """A SQL expression fit for one Markdown table cell."""
    if not text:
        return ""
    return "`" + " ".join(text.split()).replace("|", "\\|") + "`"
