"""Whether a clone a test handed back is still exactly as it was cloned, so the pool may hand it out again.

Three things together cover what a test can change in a database:
- rows, in any table, catalogs included (so every DDL statement, large
  objects, ANALYZE): the server's own per-database counters of inserted,
  updated and deleted rows must be zero and never reset. A backend flushes
  its counters before it leaves the database, and a database cannot be renamed
  while anyone is connected, so once the owner has renamed the clone the
  counters are complete;
- sequences, which `nextval` and `setval` change in place without counting a
  row: each one's last value must be the template's;
- what changes in place, counting no row: every relation's storage and
  planner figures (`VACUUM`, a rewrite, `ANALYZE` of an empty table), read
  from `pg_class`, which also tells a clone of one template from another's;
- the database's own entry, which lives in shared catalogs (owner, grants,
  connection limit, settings, comment, security labels), and what hangs on
  it there (subscriptions, replication slots).
Where the owner cannot read all of it (counters off, a sequence it may not
read, a server before PostgreSQL 15, whose counters reach the statistics
collector late), nothing is reused: the clone is dropped, as without a pool.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import sql

_DATABASE_ENTRY = """
    select d.datdba, d.datacl::text, d.datconnlimit, d.datallowconn, d.datistemplate, d.dattablespace,
           d.datcollversion,
           (select array_agg(s.setrole::text || ':' || c order by s.setrole, c)
              from pg_db_role_setting s, unnest(s.setconfig) c where s.setdatabase = d.oid)::text,
           shobj_description(d.oid, 'pg_database'),
           (select array_agg(l.provider || ':' || l.label order by l.provider)
              from pg_shseclabel l where l.objoid = d.oid and l.classoid = 'pg_database'::regclass)::text,
           (select count(*) from pg_subscription s where s.subdbid = d.oid),
           (select count(*) from pg_replication_slots r where r.datoid = d.oid)
      from pg_database d where d.datname = %s
"""
_WRITTEN = """
    select tup_inserted + tup_updated + tup_deleted > 0 or stats_reset is not null
      from pg_stat_database where datname = %s
"""
_RELATIONS = """
    select md5(coalesce(string_agg(concat_ws(':', oid, relfilenode, relpages, reltuples, relallvisible), ','
                                   order by oid), ''))
      from pg_class
"""
_SEQUENCES = """
    select n.nspname, c.relname, has_sequence_privilege(c.oid, 'select')
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.relkind = 'S' and c.relpersistence <> 't'
     order by 1, 2
"""


@dataclass(frozen=True)
class Fingerprint:
    """What a clone of a template looks like before any test touched it."""

    entry: tuple[object, ...]
    relations: str
    sequences: tuple[tuple[object, ...], ...]

    @classmethod
    def of(cls, admin: psycopg.Connection, name: str, conn: psycopg.Connection) -> Fingerprint | None:
        """The fingerprint of the untouched clone `name` (`conn` is connected to it); None when the owner
        cannot see all of it, so no clone of its template is ever reused."""
        if admin.info.server_version < 150000:
            return None
        if admin.execute("select current_setting('track_counts')::bool").fetchone() != (True,):
            return None
        sequences = _sequences(conn)
        return None if sequences is None else cls(_entry(admin, name), _relations(conn), sequences)

    def unchanged(self, admin: psycopg.Connection, name: str, connect: Callable[[str], psycopg.Connection]) -> bool:
        """Whether the clone `name`, which nobody is connected to, still matches this fingerprint."""
        if written(admin, name) or _entry(admin, name) != self.entry:
            return False
        with connect(name) as conn:
            return _relations(conn) == self.relations and _sequences(conn) == self.sequences


def written(admin: psycopg.Connection, name: str) -> bool:
    """Whether the server already counted a row written in `name` (its tests' sessions may still be leaving)."""
    row = admin.execute(_WRITTEN, (name,)).fetchone()
    return row is None or bool(row[0])


def _entry(admin: psycopg.Connection, name: str) -> tuple[object, ...]:
    row = admin.execute(_DATABASE_ENTRY, (name,)).fetchone()
    return tuple(row) if row is not None else ()


def _relations(conn: psycopg.Connection) -> str:
    row = conn.execute(_RELATIONS).fetchone()
    return str(row[0]) if row else ""


def _sequences(conn: psycopg.Connection) -> tuple[tuple[object, ...], ...] | None:
    """Every sequence's next value as `nextval` would compute it (last value and whether it was handed out);
    None when one cannot be read."""
    found = conn.execute(_SEQUENCES).fetchall()
    if not all(readable for _, _, readable in found):
        return None
    if not found:
        return ()
    reads = [
        sql.SQL("select {}, {}, last_value, is_called from {}").format(
            sql.Literal(schema), sql.Literal(name), sql.Identifier(schema, name)
        )
        for schema, name, _ in found
    ]
    return tuple(sorted(tuple(row) for row in conn.execute(sql.SQL(" union all ").join(reads)).fetchall()))
