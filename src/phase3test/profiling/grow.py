"""Tables grown to a production-like row count by copying their own rows, so a migration is measured where its
cost shows (an index build or a rewrite of 1M rows, not of the 50 the seed file holds).

Any project can be grown this way, with seed data of any kind: each copy
keeps the row's values (its references, its distribution) except one column
of each unique key (primary keys included), which must differ. That column
takes its default when it has a generating one (identity, serial, a
generated uuid), else a new value of its type: a new uuid, the text with the
copy's number in front, the number or date moved past the column's range.
A key made only of references (a join table) has no such column: the table
keeps its rows and the growth says why. Copies are written with triggers
and foreign-key checks off (`session_replication_role = replica`: the rows
already reference rows that exist) and the table is analyzed after, as
production's would be.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

# Defaults that give each new row its own value: a column of a unique key with one is left to it.
_GENERATING = ("nextval(", "gen_random_uuid(", "uuid_generate_v", "extensions.uuid_generate_v")
_COLUMNS = """
select a.attname, format_type(a.atttypid, a.atttypmod), t.typcategory, a.attgenerated <> '' as generated,
       a.attidentity <> '' or coalesce(pg_get_expr(d.adbin, d.adrelid), '') ~* %s as generating
from pg_attribute a
join pg_type t on t.oid = a.atttypid
left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped
order by a.attnum"""
# Each unique index (primary keys and unique constraints have one) and exclusion constraint: its columns.
_KEYS = """
select i.indexrelid::regclass::text,
       array(select a.attname from pg_attribute a where a.attrelid = i.indrelid and a.attnum = any(i.indkey::int2[])
             or (i.indexprs is not null and a.attrelid = i.indrelid and a.attnum > 0
                 and pg_get_indexdef(i.indexrelid) ~ ('\\m' || a.attname || '\\M')))
from pg_index i
where i.indrelid = %s::regclass and (i.indisunique or exists (
  select from pg_constraint c where c.conindid = i.indexrelid and c.contype = 'x'))"""
_REFERENCES = """
select a.attname from pg_constraint c join pg_attribute a on a.attrelid = c.conrelid and a.attnum = any(c.conkey)
where c.conrelid = %s::regclass and c.contype = 'f'"""


@dataclass(frozen=True)
class Growth:
    """A table's rows before and after growing, and why it fell short of its target, if it did."""

    table: str
    before: int
    after: int
    target: int
    short: str = ""


@dataclass(frozen=True)
class _Column:
    name: str
    type: str
    category: str  # pg_type.typcategory: N numeric, S string, D date/time, U user-defined (uuid) ...
    generated: bool
    generating: bool  # an identity, or a default that gives each row its own value

    def new_value(self, copy: sql.Composable, table: sql.Composable) -> sql.Composable | None:
        """A value of this column's type that differs for each copy of a row, or None when it has none."""
        column = sql.Identifier(self.name)
        if self.type == "uuid":
            return sql.SQL("gen_random_uuid()")
        if self.category == "S":
            return sql.SQL("({g}::text || '~' || {c})::{t}").format(g=copy, c=column, t=sql.SQL(self.type))
        if self.category == "N" or self.type == "date":
            span = sql.SQL("(select max({c}) - min({c}) + 1 from {t})").format(c=column, t=table)
            return sql.SQL("{c} + {g} * {span}").format(c=column, g=copy, span=span)
        if self.category == "D":
            span = sql.SQL("(select max({c}) - min({c}) + interval '1 second' from {t})").format(c=column, t=table)
            return sql.SQL("{c} + {g} * {span}").format(c=column, g=copy, span=span)
        return None


def row_count(conn: psycopg.Connection, table: str) -> int:
    row = conn.execute(sql.SQL("select count(*) from {}").format(_identifier(table))).fetchone()
    return int(row[0]) if row else 0


def grow(conn: psycopg.Connection, table: str, target: int) -> Growth:
    """Copy `table`'s rows until it holds `target` rows (or as close as its unique keys allow); `conn` is a
    superuser's, in autocommit."""
    before = row_count(conn, table)
    if before >= target:
        return Growth(table, before, before, target)
    if before == 0:
        return Growth(table, 0, 0, target, "it has no rows to copy: seed some")
    columns = [_Column(*row) for row in conn.execute(_COLUMNS, ("|".join(map(_escape, _GENERATING)), table))]
    insert, why = _copying(conn, table, columns, target - before)
    if insert is None:
        return Growth(table, before, before, target, why)
    try:
        with conn.transaction():
            conn.execute("set local session_replication_role = replica")
            conn.execute(insert)
    except psycopg.Error as exc:
        return Growth(table, before, before, target, f"copies of its rows are refused: {exc.diag.message_primary}")
    conn.execute(sql.SQL("analyze {}").format(_identifier(table)))
    after = row_count(conn, table)
    return Growth(table, before, after, target, "" if after >= target else "some copies repeat a unique key")


def _copying(
    conn: psycopg.Connection, table: str, columns: list[_Column], missing: int
) -> tuple[sql.Composed | None, str]:
    """The insert that adds `missing` copies of the table's rows, or None and why no copy can be told apart."""
    references = {row[0] for row in conn.execute(_REFERENCES, (table,))}
    by_name = {column.name: column for column in columns}
    target, copy = _identifier(table), sql.Identifier("copy_number")
    changed: dict[str, sql.Composable | None] = {}  # column -> its new value (None: its default)
    for key, names in conn.execute(_KEYS, (table,)):
        in_key = [by_name[name] for name in names if name in by_name]
        if any(column.name in changed for column in in_key):
            continue
        generating = next((column for column in in_key if column.generating), None)
        if generating is not None:
            changed[generating.name] = None
            continue
        options = [(column, column.new_value(copy, target)) for column in in_key if column.name not in references]
        value = next(((column, new) for column, new in options if new is not None), None)
        if value is None:
            return None, f"no column of its unique key {key} can differ between copies (references or {_types(in_key)})"
        changed[value[0].name] = value[1]
    kept = [column for column in columns if not column.generated and changed.get(column.name, "") is not None]
    values = [changed.get(column.name, sql.Identifier(column.name)) for column in kept]
    copies = -(-missing // max(1, row_count(conn, table)))  # enough whole copies of every row
    insert = sql.SQL(
        "insert into {t} ({names}) select {values} from {t}, generate_series(1, {copies}) as {g} limit {missing}"
        " on conflict do nothing"
    ).format(
        t=target,
        names=sql.SQL(", ").join(sql.Identifier(column.name) for column in kept),
        values=sql.SQL(", ").join(values),
        copies=sql.Literal(copies),
        g=sql.SQL("copies(copy_number)"),
        missing=sql.Literal(missing),
    )
    return insert, ""


def _types(columns: list[_Column]) -> str:
    return ", ".join(f"{column.name} {column.type}" for column in columns)


def _escape(text: str) -> str:
    return text.replace("(", "\\(").replace(".", "\\.")


def _identifier(table: str) -> sql.Composable:
    """A `schema.name` pg_catalog gave (each part already quoted where it needs to be)."""
    return sql.SQL(table)
