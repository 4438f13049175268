"""Apply our Supabase environment to a database that is not already Supabase's."""

from __future__ import annotations

from importlib.resources import files

import psycopg

from phase3test.supabase.platform import Platform, apply_platform

BOOTSTRAP_SQL: str = (files("phase3test.supabase") / "bootstrap.sql").read_text(encoding="utf-8")


def is_supabase_database(conn: psycopg.Connection) -> bool:
    """A real Supabase database (or one we bootstrapped) has auth.users and the authenticator role."""
    row = conn.execute(
        """select to_regclass('auth.users') is not null
                  and exists (select from pg_roles where rolname = 'authenticator')"""
    ).fetchone()
    return bool(row and row[0])


def bootstrap(conn: psycopg.Connection, platform: Platform) -> bool:
    """Make `conn`'s database look like Supabase's with `platform`'s defaults; False if it already looked like
    Supabase's (its defaults are set all the same)."""
    with conn.transaction():
        created = not is_supabase_database(conn)
        if created:
            conn.execute(BOOTSTRAP_SQL)
        apply_platform(conn, platform)
    return created
