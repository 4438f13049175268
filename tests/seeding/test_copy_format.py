"""Binary COPY only where it loads what text COPY loads; everything else goes as text."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Json, Jsonb

from phase3test.seeding.copy_format import copy_data, copy_statement, table_types

COLUMNS = {
    "flag": "bool",
    "small": "int2",
    "whole": "int4",
    "big": "int8",
    "ratio": "float8",
    "amount": "numeric(12,4)",
    "label": "text",
    "code": "varchar(20)",
    "id": "uuid",
    "day": "date",
    "stamp": "timestamp",
    "at": "timestamptz",
    "span": "interval",
    "doc": "json",
    "bag": "jsonb",
    "blob": "bytea",
    "address": "inet",
    "tags": "text[]",
    "counts": "int4[]",
}
PLUS_TWO = timezone(timedelta(hours=2))
ROWS: list[tuple[Any, ...]] = [
    (
        True, 0, -2147483648, 9223372036854775807, 1e-300, Decimal("-12345678.1234"), "tab\there \\ \"q\" ünï",
        "", uuid.UUID(int=1), date(1, 1, 1), datetime(2025, 2, 28, 23, 59, 59, 999999),
        datetime(2025, 11, 1, 12, 0, tzinfo=PLUS_TWO), timedelta(days=-3, seconds=5), Json([1, "a", None]),
        Jsonb({"nested": {"list": [1.5, True]}, "text": "line\nbreak"}), b"\x00\x01\\\xff",
        ipaddress.ip_address("2001:db8::1"), ["a,b", None, '"quoted"', ""], [1, None, -3],
    ),
    (None,) * len(COLUMNS),
    (
        False, 32767, 7, -1, float("inf"), Decimal("0.0001"), "x", "y" * 20, uuid.uuid5(uuid.NAMESPACE_DNS, "p3t"),
        date(2024, 2, 29), datetime(1999, 12, 31), datetime(2000, 1, 1, tzinfo=UTC), timedelta(0), Json({}),
        Jsonb([]), b"", ipaddress.ip_interface("10.0.0.1/8"), [], [],
    ),
]  # fmt: skip


def load_as_text(conn: psycopg.Connection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """What the engine did before binary COPY: psycopg's text COPY of the same values."""
    with conn.cursor().copy(copy_statement(f"public.{table}", columns, binary=False)) as copy:
        for row in rows:
            copy.write_row(row)


def load_as_chosen(conn: psycopg.Connection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> bool:
    """Load the rows the way the seeding engine does; whether they went binary."""
    types = table_types(conn, [f"public.{table}"])[f"public.{table}"]
    data, binary = copy_data(conn, rows, [types.get(c, 0) for c in columns])
    with conn.cursor().copy(copy_statement(f"public.{table}", columns, binary)) as copy:
        copy.write(data)
    return binary


def contents(conn: psycopg.Connection, table: str) -> list[str]:
    return [r[0] for r in conn.execute(sql.SQL("select t::text from {} t order by 1").format(sql.Identifier(table)))]


@pytest.fixture
def twins(empty_db: psycopg.Connection) -> psycopg.Connection:
    """Two tables of the same shape: one loaded as text, the other as the engine chooses."""
    empty_db.execute("set timezone = 'America/New_York'")  # naive datetimes would shift, if sent as binary
    for name in ("as_text", "as_chosen"):
        definition = ", ".join(f"{column} {kind}" for column, kind in COLUMNS.items())
        empty_db.execute(f"create table public.{name} ({definition})")
    return empty_db


def test_values_of_the_columns_types_go_binary_and_load_as_text_would(twins):
    columns = list(COLUMNS)
    load_as_text(twins, "as_text", columns, ROWS)
    assert load_as_chosen(twins, "as_chosen", columns, ROWS)
    assert contents(twins, "as_chosen") == contents(twins, "as_text")


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("bag", '{"a": 1}'),  # text form of jsonb: binary would store a JSON string
        ("at", datetime(2025, 1, 1, 9, 0)),  # naive for timestamptz: text reads it in the session's zone
        ("stamp", datetime(2025, 1, 1, 9, 0, tzinfo=PLUS_TWO)),  # aware for timestamp: text drops the offset
        ("amount", 1.25),  # a float for numeric
        ("address", "192.0.2.7"),  # text form of inet
        ("ratio", 3),  # an int for float8
        ("day", datetime(2025, 1, 1, 23, 0)),  # a datetime is a date, but not to date's binary input
        ("tags", "{a,b}"),  # text form of an array
        ("counts", [[1, 2], [3, 4]]),  # a two-dimensional array
        ("amount", Decimal("NaN")),  # text input refuses some of NaN's spellings ('-NaN', 'sNaN')
    ],
)
def test_a_value_binary_would_misread_sends_the_batch_as_text(twins, column, value):
    rows = [ROWS[0][list(COLUMNS).index(column)], value]
    load_as_text(twins, "as_text", [column], [(v,) for v in rows])
    assert not load_as_chosen(twins, "as_chosen", [column], [(v,) for v in rows])
    assert contents(twins, "as_chosen") == contents(twins, "as_text")


@pytest.mark.parametrize(("column", "value"), [("small", 70000), ("whole", -(2**31) - 1), ("big", 2**63)])
def test_an_integer_out_of_its_columns_range_goes_as_text_and_the_server_names_it(twins, column, value):
    """psycopg's binary dumpers would wrap it around silently: 70000 would arrive in an int2 as 4464."""
    with pytest.raises(psycopg.errors.NumericValueOutOfRange, match="out of range"):
        load_as_chosen(twins, "as_chosen", [column], [(1,), (value,)])


@pytest.mark.parametrize("value", ["x", None], ids=["a-value", "only-null"])
def test_a_column_the_table_lacks_goes_as_text_and_the_server_names_it(twins, value):
    _data, binary = copy_data(twins, [(value,)], [0])  # oid 0: a column the catalog did not list
    assert not binary
    with pytest.raises(psycopg.errors.UndefinedColumn, match="nope"):
        load_as_chosen(twins, "as_chosen", ["nope"], [(value,)])


def test_a_column_of_a_type_without_a_binary_dumper_goes_as_text_even_if_all_null(twins):
    """psycopg has no binary dumper for char(n): a NULL-only batch must not try one."""
    twins.execute("alter table public.as_chosen add column initials char(3)")
    assert not load_as_chosen(twins, "as_chosen", ["initials"], [(None,), (None,)])
    assert twins.execute("select count(*) from public.as_chosen where initials is null").fetchone() == (2,)
