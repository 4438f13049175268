"""A batch's rows as COPY data: binary where both formats load the same values, text otherwise.

Binary COPY is much cheaper to format in Python than text, and cheaper for
the server to read (docs/architecture.md, "Seeding", has the figures). But binary
input takes each value as the column's type: a str for a jsonb column would be
stored as a JSON string, a naive datetime carries no time zone, a float is no
numeric. So a batch goes binary only if every value is exactly a Python type
whose binary form means what its text form means for that column; anything
else (text forms, other types, user-defined types) goes as text, as before.
"""

from __future__ import annotations

import io
import ipaddress
import operator
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.copy import FileWriter
from psycopg.postgres import types as builtin_types
from psycopg.types.json import Json, Jsonb

_SAFE_BY_NAME: dict[str, frozenset[type]] = {
    "bool": frozenset({bool}),
    "int2": frozenset({int}),
    "int4": frozenset({int}),
    "int8": frozenset({int}),
    "float8": frozenset({float}),
    "numeric": frozenset({Decimal}),
    "text": frozenset({str}),
    "varchar": frozenset({str}),
    "uuid": frozenset({UUID}),
    "date": frozenset({date}),
    "timestamp": frozenset({datetime}),
    "timestamptz": frozenset({datetime}),
    "interval": frozenset({timedelta}),
    "json": frozenset({Json}),
    "jsonb": frozenset({Jsonb}),
    "bytea": frozenset({bytes}),
    "inet": frozenset({ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Interface, ipaddress.IPv6Interface}),
}
# Column type oid -> the Python types (exact, not subclasses: bool is an int) its binary input reads alike.
_SAFE: dict[int, frozenset[type]] = {builtin_types[name].oid: kinds for name, kinds in _SAFE_BY_NAME.items()}
# Array type oid -> its element type's oid: a list whose elements are all safe for the element type.
_ARRAYS: dict[int, int] = {builtin_types[name].array_oid: builtin_types[name].oid for name in _SAFE_BY_NAME}
# Which datetimes mean the same in both formats: an aware one for timestamptz (text would read a naive one
# in the session's time zone), a naive one for timestamp (text would drop an aware one's offset).
_AWARE, _NAIVE = builtin_types["timestamptz"].oid, builtin_types["timestamp"].oid
# psycopg's binary integer dumpers truncate what does not fit (70000 arrives in an int2 as 4464), where text
# input fails naming the column: integers go binary only within their column's range. (No float4 either:
# a float rounded to 32 bits in Python can differ from its decimal text rounded by the server.)
_INTEGER_RANGES = {
    builtin_types[f"int{size}"].oid: (-(2 ** (8 * size - 1)), 2 ** (8 * size - 1) - 1) for size in (2, 4, 8)
}
_NONE = type(None)
_NUMERIC = builtin_types["numeric"].oid


def _not_none(value: Any) -> bool:
    return value is not None


def table_types(conn: psycopg.Connection, tables: list[str]) -> dict[str, dict[str, int]]:
    """table -> column -> its type's oid (a domain's base type: binary input reads that), for the tables
    that exist; a batch for any other goes as text and the server names what is missing."""
    types: dict[str, dict[str, int]] = {}
    for table, column, oid in conn.execute(
        """select n.name, a.attname, coalesce(nullif(t.typbasetype, 0), t.oid)::int
             from unnest(%s::text[]) n(name)
             join pg_attribute a on a.attrelid = to_regclass(n.name)
             join pg_type t on t.oid = a.atttypid
            where a.attnum > 0 and not a.attisdropped""",
        (tables,),
    ):
        types.setdefault(table, {})[column] = oid
    return types


def binary_safe(rows: Sequence[Sequence[Any]], oids: Sequence[int]) -> bool:
    """Whether every value loads as the same thing in binary as in text (see the module's docstring)."""
    if not rows or {len(oids)} != set(map(len, rows)):
        return False
    return all(_column_safe(list(map(operator.itemgetter(i), rows)), oid) for i, oid in enumerate(oids))


def _column_safe(values: list[Any], oid: int) -> bool:
    if oid not in _SAFE and oid not in _ARRAYS:  # even if every value is NULL: psycopg has no dumper for it
        return False
    kinds = set(map(type, values))
    kinds.discard(_NONE)
    if oid in _ARRAYS:
        element = _ARRAYS[oid]
        return kinds <= {list} and all(_column_safe(items, element) for items in filter(None, values))
    if not kinds <= _SAFE[oid]:
        return False
    if oid in _INTEGER_RANGES:
        numbers = list(filter(_not_none, values))
        low, high = _INTEGER_RANGES[oid]
        return not numbers or (low <= min(numbers) and max(numbers) <= high)
    if oid == _NUMERIC:  # NaN and infinities: text input refuses some of them ('-NaN', 'sNaN')
        return all(map(Decimal.is_finite, filter(_not_none, values)))
    if oid == _AWARE:
        return None not in map(operator.attrgetter("tzinfo"), filter(None, values))
    if oid == _NAIVE:
        return set(map(operator.attrgetter("tzinfo"), filter(None, values))) <= {None}
    return True


def table_with_columns(table: str, columns: Sequence[str]) -> sql.Composed:
    """`"schema"."table" ("a", "b")` for a batch's table (public unless named) and columns."""
    schema, _, name = table.rpartition(".")
    return sql.SQL("{} ({})").format(
        sql.Identifier(schema or "public", name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )


def copy_statement(table: str, columns: Sequence[str], binary: bool) -> sql.Composed:
    """`COPY table (columns) FROM STDIN` for data `copy_data` formatted, binary or not."""
    return sql.SQL("copy {} from stdin{}").format(
        table_with_columns(table, columns), sql.SQL(" (format binary)" if binary else "")
    )


def copy_data(conn: psycopg.Connection, rows: Sequence[Sequence[Any]], oids: Sequence[int]) -> tuple[bytes, bool]:
    """The rows formatted for `COPY … FROM STDIN`, and whether in binary.

    Only the connection's adapters are used, never its socket: this runs where
    the rows are generated, apart from where they are loaded. A value binary
    cannot take after all (a Decimal whose exponent the binary format cannot
    carry) is formatted as text, so the server reports it as it would have.
    """
    if binary_safe(rows, oids):
        try:
            return _formatted(conn, rows, oids), True
        except (psycopg.DataError, psycopg.ProgrammingError, ValueError, TypeError, OverflowError):
            pass
    return _formatted(conn, rows, None), False


def _formatted(conn: psycopg.Connection, rows: Sequence[Sequence[Any]], oids: Sequence[int] | None) -> bytes:
    data = io.BytesIO()
    with psycopg.Copy(conn.cursor(), binary=oids is not None, writer=FileWriter(data)) as copy:
        if oids is not None:
            copy.set_types(list(oids))
        for row in rows:
            copy.write_row(row)
    return data.getvalue()
