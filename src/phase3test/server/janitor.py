"""Create and drop databases cloned from templates.

`CREATE DATABASE … TEMPLATE` copies files but not database-level settings
(`ALTER DATABASE … SET`), and Supabase's search_path is one of those, so the
clone gets its template's settings re-applied. Values travel through
`set_config` + `SET … FROM CURRENT`, never through string formatting.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from phase3test.server.process import interrupts_deferred


def create_from_template(admin: psycopg.Connection, name: str, template: str, label: str | None = None) -> None:
    """Clone `template` into a new database `name`, settings included; `label` is its comment, written
    before anything else can fail (and before an interrupt is let through)."""
    strategy = sql.SQL(" strategy file_copy") if admin.info.server_version >= 150000 else sql.SQL("")
    with interrupts_deferred():
        admin.execute(
            sql.SQL("create database {} template {}").format(sql.Identifier(name), sql.Identifier(template)) + strategy
        )
        if label is not None:
            comment(admin, name, label)
    copy_settings(admin, template, name)


def copy_settings(admin: psycopg.Connection, source: str, target: str) -> None:
    rows = admin.execute(
        """select unnest(s.setconfig)
             from pg_db_role_setting s join pg_database d on d.oid = s.setdatabase
            where d.datname = %s and s.setrole = 0""",
        (source,),
    ).fetchall()
    for (assignment,) in rows:
        key, _, value = assignment.partition("=")
        with admin.transaction():
            admin.execute("select set_config(%s, %s, true)", (key, value))
            admin.execute(
                sql.SQL("alter database {} set {} from current").format(sql.Identifier(target), sql.Identifier(key))
            )


def drop(admin: psycopg.Connection, name: str) -> None:
    """Drop a database even if a test left connections open to it."""
    admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def mark_template(admin: psycopg.Connection, name: str, label: str) -> None:
    """Freeze a built database, labelled with its cache key; as a template it cannot be dropped by mistake."""
    comment(admin, name, label)
    freeze(admin, name)
    admin.execute(sql.SQL("alter database {} with is_template true").format(sql.Identifier(name)))


def comment(admin: psycopg.Connection, name: str, text: str) -> None:
    admin.execute(sql.SQL("comment on database {} is {}").format(sql.Identifier(name), sql.Literal(text)))


def freeze(admin: psycopg.Connection, name: str, frozen: bool = True) -> None:
    """A template nobody connects to (a connection would block every clone); `frozen=False` lets them in again."""
    admin.execute(
        sql.SQL("alter database {} with allow_connections {}").format(
            sql.Identifier(name), sql.SQL("false" if frozen else "true")
        )
    )


def label_of(admin: psycopg.Connection, name: str) -> str | None:
    row = admin.execute(
        "select shobj_description(oid, 'pg_database') from pg_database where datname = %s", (name,)
    ).fetchone()
    return row[0] if row else None
