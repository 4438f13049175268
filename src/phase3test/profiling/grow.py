"""Tables grown to a production-like row count by copying their own rows, so a migration is measured where its
cost shows (an index build or a rewrite of 1M rows, not of the 50 the seed file holds).

Any project can be grown this way, with seed data of any kind: each copy
keeps the row's values (its references, its distribution) except one column
of each unique key (primary keys included), which must differ. That column
takes its default when it has a generating one (identity, serial, a
generated uuid), else a new value of its type: a new uuid, the text with the
copy's number in front, the number or date moved past the column's range.
A key whose column is a uuid referencing another table (Supabase's
`profiles.id references auth.users`) grows that table with it: both derive
the copy's uuid from the original's and the copy's number, so each copy
references a copy. A key made only of other references (a join table) has
no such column: the table keeps its rows and the growth says why. Copies
are written with triggers
and foreign-key checks off (`session_replication_role = replica`: the rows
already reference rows that exist) and the table is analyzed after, as
production's would be.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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
# Each column of a foreign key, with the table and column a one-column key references (else nulls).
_REFERENCES = """
select a.attname,
       case when cardinality(c.conkey) = 1
            then format('%%s.%%s', p.relnamespace::regnamespace, quote_ident(p.relname)) end,
       case when cardinality(c.conkey) = 1 then (select attname from pg_attribute
                                                  where attrelid = c.confrelid and attnum = c.confkey[1]) end
from pg_constraint c
join pg_attribute a on a.attrelid = c.conrelid and a.attnum = any(c.conkey)
join pg_class p on p.oid = c.confrelid
where c.conrelid = %s::regclass and c.contype = 'f'"""
MAX_DEPTH = 3  # a key referencing a key referencing a key: deeper chains keep their rows


@dataclass(frozen=True)
class Growth:
    """A table's rows before and after growing, and why it fell short of its target, if it did."""

    table: str
    before: int
    after: int
    target: int
    short: str = ""
    parents: tuple[str, ...] = ()  # tables grown with it: its key references theirs
    copies: range = range(0)  # the copy numbers its new rows carry

    @property
    def next_copy(self) -> int:
        """The first copy number a later growth of the same database may use."""
        return max(self.copies.stop, 1)


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
        if self.type == "uuid":  # derived, so that a copy referencing a copy finds it
            return sql.SQL("md5({c}::text || '~' || {g})::uuid").format(c=column, g=copy)
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


def grow(conn: psycopg.Connection, table: str, target: int, first_copy: int = 1) -> Growth:
    """Copy `table`'s rows until it holds `target` rows (or as close as its unique keys allow), the copies
    numbered from `first_copy` (a later growth of the same database starts past the numbers an earlier one
    used, so that no derived value repeats); `conn` is a superuser's, in autocommit."""
    before = row_count(conn, table)
    if before >= target:
        return Growth(table, before, before, target)
    if before == 0:
        return Growth(table, 0, 0, target, "it has no rows to copy: seed some")
    copies = range(first_copy, first_copy + -(-(target - before) // before))  # enough whole copies of every row
    plan = _plan(conn, table, {}, MAX_DEPTH)
    if isinstance(plan, str):
        return Growth(table, before, before, target, plan)
    try:
        with conn.transaction():
            conn.execute("set local session_replication_role = replica")
            plan.write(conn, copies, target - before)
    except psycopg.Error as exc:
        return Growth(table, before, before, target, f"copies of its rows are refused: {exc.diag.message_primary}")
    parents = plan.ancestors()
    for grown in (*parents, table):
        conn.execute(sql.SQL("analyze {}").format(_identifier(grown)))
    after = row_count(conn, table)
    short = "" if after >= target else "some copies repeat a unique key"
    return Growth(table, before, after, target, short, parents, copies)


@dataclass(frozen=True)
class _Plan:
    """How copies of a table's rows are told apart: the columns written and each one's value."""

    table: str
    values: tuple[tuple[str, sql.Composable], ...]  # column -> value, the changed ones included
    parents: tuple[_Plan, ...]  # the tables a changed key column references, grown first with derived keys
    only: sql.Composable | None = None  # a parent's: the rows its child references, the copies it needs

    def ancestors(self) -> tuple[str, ...]:
        return tuple(name for parent in self.parents for name in (*parent.ancestors(), parent.table))

    def write(self, conn: psycopg.Connection, copies: range, limit: int | None) -> None:
        """The copies numbered `copies` of every row (at most `limit` of them) after those of every row of its
        parents, copy for copy: each copy's derived key then finds its parent's copy."""
        for parent in self.parents:
            parent.write(conn, copies, None)
        conn.execute(self._insert(copies, limit))

    def _insert(self, copies: range, limit: int | None) -> sql.Composed:
        target = _identifier(self.table)
        return sql.SQL(
            "insert into {t} ({names}) select {values} from {t}, generate_series({first}, {last})"
            " as copies(copy_number){only}{limit} on conflict do nothing"
        ).format(
            t=target,
            names=sql.SQL(", ").join(sql.Identifier(name) for name, _ in self.values),
            values=sql.SQL(", ").join(value for _, value in self.values),
            first=sql.Literal(copies.start),
            last=sql.Literal(copies.stop - 1),
            only=self.only or sql.SQL(""),
            limit=sql.SQL(" limit {}").format(sql.Literal(limit)) if limit is not None else sql.SQL(""),
        )


def _plan(conn: psycopg.Connection, table: str, derived: dict[str, None], depth: int) -> _Plan | str:
    """The copies of `table`'s rows (with the columns in `derived` given derived values whatever they are), or
    why no copy can be told apart from its row."""
    columns = [_Column(*row) for row in conn.execute(_COLUMNS, ("|".join(map(_escape, _GENERATING)), table))]
    references = {name: (parent, column) for name, parent, column in conn.execute(_REFERENCES, (table,))}
    by_name = {column.name: column for column in columns}
    copy = sql.Identifier("copy_number")
    changed: dict[str, sql.Composable | None] = {}  # column -> its new value (None: its default)
    parents: list[_Plan] = []
    for name in derived:
        changed[name] = by_name[name].new_value(copy, _identifier(table))
    for key, names in conn.execute(_KEYS, (table,)):
        in_key = [by_name[name] for name in names if name in by_name]
        if any(column.name in changed for column in in_key):
            continue
        generating = next((column for column in in_key if column.generating), None)
        if generating is not None:
            changed[generating.name] = None
            continue
        free = [(c, c.new_value(copy, _identifier(table))) for c in in_key if c.name not in references]
        value = next(((column, new) for column, new in free if new is not None), None)
        if value is None:
            through = _through_parent(conn, in_key, references, depth, copy, table)
            if through is None:
                return f"no column of its unique key {key} can differ between copies (references or {_types(in_key)})"
            value, parent = through
            parents.append(parent)
        changed[value[0].name] = value[1]
    kept = [c for c in columns if not c.generated and (c.name not in changed or changed[c.name] is not None)]
    values = tuple((c.name, changed.get(c.name) or sql.Identifier(c.name)) for c in kept)
    return _Plan(table, values, tuple(parents))


def _through_parent(
    conn: psycopg.Connection,
    in_key: list[_Column],
    references: dict[str, tuple[str | None, str | None]],
    depth: int,
    copy: sql.Composable,
    table: str,
) -> tuple[tuple[_Column, sql.Composable], _Plan] | None:
    """A uuid key column referencing one column of a table that can itself be grown with that column derived:
    the column's derived value and the referenced table's plan."""
    for column in in_key:
        parent, parent_column = references.get(column.name, (None, None))
        if column.type != "uuid" or parent is None or parent_column is None or depth <= 1:
            continue
        plan = _plan(conn, parent, {parent_column: None}, depth - 1)
        new = column.new_value(copy, _identifier(table))
        if not isinstance(plan, str) and new is not None:
            only = sql.SQL(" where {p} in (select {c} from {t})").format(
                p=sql.Identifier(parent_column), c=sql.Identifier(column.name), t=_identifier(table)
            )
            return (column, new), replace(plan, only=only)
    return None


def _types(columns: list[_Column]) -> str:
    return ", ".join(f"{column.name} {column.type}" for column in columns)


def _escape(text: str) -> str:
    return text.replace("(", "\\(").replace(".", "\\.")


def _identifier(table: str) -> sql.Composable:
    """A `schema.name` pg_catalog gave (each part already quoted where it needs to be)."""
    return sql.SQL(table)
