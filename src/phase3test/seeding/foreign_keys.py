"""Foreign keys checked once, set-based, after loading, instead of once per row while loading.

Per-row checks (the referencing table's RI triggers) are the largest part
of the server's work during a seeding: one index probe per row and key. A
superuser may switch those triggers off for the seeding transaction; one
anti-join per foreign key afterwards finds the same violations (MATCH
SIMPLE: a row with a NULL in its key is exempt) and fails the seeding with
the constraint's name and an offending key, as the trigger would have. Every
other trigger, the business rules included, still fires on every row. Not a
superuser: the per-row checks stay on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from phase3test.seeding.deferred import check_deferred_now

# The referencing side's RI trigger functions: the ones checking each inserted or updated row.
CHECK_FUNCTIONS = ("RI_FKey_check_ins", "RI_FKey_check_upd")
# Below this many rows in a table's first batch, switching its triggers off and on (catalog lookups, an
# ALTER TABLE each way, one check query per key) costs more than the per-row checks it saves (measured:
# at scale 1, switching every table made seeding 1.4x slower).
WORTH_IT_FROM_ROWS = 1000


class ForeignKeyViolation(Exception):
    """A loaded row references nothing; its message reads like Postgres' own. `table` as the catalog prints
    it (schema-qualified outside the search path), `writers` the seeders that wrote it."""

    def __init__(self, message: str, table: str, writers: list[str]) -> None:
        super().__init__(message)
        self.table = table
        self.writers = writers


@dataclass
class DeferredForeignKeys:
    conn: psycopg.Connection
    enabled: bool = field(init=False)
    _writers: dict[str, list[str]] = field(default_factory=dict)  # table as named -> seeders that wrote it
    _relations: dict[str, str] = field(default_factory=dict)  # table as regclass prints it -> as named
    _switched_off: list[tuple[str, str]] = field(default_factory=list)  # (table, trigger)

    def __post_init__(self) -> None:
        row = self.conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()
        self.enabled = bool(row and row[0])

    def before_writing(self, table: str, seeder: str, rows: int) -> None:
        """Switch off `table`'s per-row foreign key checks the first time it is written to, if it gets enough
        rows for that to pay (`rows`: in this batch; 0 for an UPDATE)."""
        if not self.enabled:
            return
        if table in self._writers:
            if seeder not in self._writers[table]:
                self._writers[table].append(seeder)
            return
        self._writers[table] = [seeder]
        if rows < WORTH_IT_FROM_ROWS:
            return
        row = self.conn.execute("select %s::regclass::text", (table,)).fetchone()
        assert row is not None
        self._relations[row[0]] = table
        triggers = self.conn.execute(
            """select t.tgrelid::regclass::text, t.tgname from pg_trigger t join pg_proc f on f.oid = t.tgfoid
                where t.tgrelid = %s::regclass and t.tgenabled <> 'D' and f.proname = any (%s)""",
            (table, list(CHECK_FUNCTIONS)),
        ).fetchall()
        for relation, trigger in triggers:
            self._alter(relation, trigger, "disable")
            self._switched_off.append((relation, trigger))

    def check(self) -> None:
        """Switch the triggers back on and check every foreign key of the tables written to, set-based.

        A table with pending trigger events cannot be altered: whatever those tables' deferred constraints
        still have queued is checked first (the engine checks most of it after each seeder).
        """
        if not self._switched_off:
            return
        tables = sorted({table for table, _ in self._switched_off})
        check_deferred_now(self.conn, tables)
        for table, trigger in self._switched_off:
            self._alter(table, trigger, "enable")
        keys = self.conn.execute(
            """select c.conname, c.conrelid::regclass::text, c.confrelid::regclass::text,
                      array(select a.attname from unnest(c.conkey) with ordinality k(n, i)
                              join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.n order by k.i),
                      array(select a.attname from unnest(c.confkey) with ordinality k(n, i)
                              join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.n order by k.i)
                 from pg_constraint c
                where c.contype = 'f' and c.conrelid = any (%s::regclass[])""",
            (tables,),
        ).fetchall()
        for name, child, parent, columns, referenced in keys:
            self._check_one(name, child, parent, columns, referenced)

    def _check_one(self, name: str, child: str, parent: str, columns: list[str], referenced: list[str]) -> None:
        own = sql.SQL(", ").join(sql.SQL("c.{}").format(sql.Identifier(c)) for c in columns)
        query = sql.SQL(
            "select ({})::text from {} c where {} and not exists (select from {} p where {}) limit 1"
        ).format(
            own,
            sql.SQL(child),
            sql.SQL(" and ").join(sql.SQL("c.{} is not null").format(sql.Identifier(c)) for c in columns),
            sql.SQL(parent),
            sql.SQL(" and ").join(
                sql.SQL("p.{} = c.{}").format(sql.Identifier(r), sql.Identifier(c))
                for c, r in zip(columns, referenced, strict=True)
            ),
        )
        found = self.conn.execute(query).fetchone()
        if found is not None:
            raise ForeignKeyViolation(
                f"insert or update on table {child} violates foreign key constraint {name}: "
                f"key ({', '.join(columns)})=({found[0].strip('()')}) is not present in table {parent}",
                child,
                self._writers.get(self._relations.get(child, child), []),
            )

    def _alter(self, table: str, trigger: str, action: str) -> None:
        self.conn.execute(
            sql.SQL("alter table {} {} trigger {}").format(sql.SQL(table), sql.SQL(action), sql.Identifier(trigger))
        )
