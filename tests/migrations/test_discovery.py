"""Finding migration files and splitting them into statements, as the Supabase CLI would."""

from __future__ import annotations

from pathlib import Path

import pytest

from phase3test.errors import SetupError
from phase3test.migrations.discovery import discover
from phase3test.migrations.statements import Statement, needs_autocommit, split_statements


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def test_files_follow_the_cli_rule_and_order(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "migrations",
        {
            "20240102000000_second.sql": "select 2;",
            "20240101000000_first_one.sql": "select 1;",
            "README.md": "not a migration",
            "20240103_no_sql_suffix.txt": "",
            ".gitkeep": "",
        },
    )
    found = discover(folder)
    assert [(m.version, m.name) for m in found.migrations] == [
        ("20240101000000", "first_one"),
        ("20240102000000", "second"),
    ]
    assert sorted(p.name for p in found.skipped) == ["20240103_no_sql_suffix.txt", "README.md"]
    assert "README.md" in found.warnings()[1] and "<digits>_name.sql" in found.warnings()[1]


def test_duplicate_versions_name_both_files(tmp_path: Path) -> None:
    folder = write(tmp_path / "m", {"1_a.sql": "", "1_b.sql": ""})
    with pytest.raises(SetupError, match=r"1_a\.sql and 1_b\.sql"):
        discover(folder)


def test_missing_folder_is_a_setup_error(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="cannot read migrations folder"):
        discover(tmp_path / "nope")


def test_checksum_changes_with_content(tmp_path: Path) -> None:
    folder = write(tmp_path / "m", {"1_a.sql": "select 1;"})
    before = discover(folder).migrations[0].checksum
    (folder / "1_a.sql").write_text("select 2;")
    assert discover(folder).migrations[0].checksum != before


def test_split_keeps_dollar_quotes_and_atomic_bodies_whole() -> None:
    sql = (
        "-- header comment\n"
        "create table t (x text default 'a;b');\n"
        "do $$ begin perform 1; perform 2; end $$;\n"
        "create function f() returns int language sql\n"
        "  begin atomic select 1; select 2; end;\n"
        "  insert into t values ('é');\n"
    )
    statements = split_statements(sql)
    assert statements is not None
    assert [s.text.split()[0] for s in statements] == ["create", "do", "create", "insert"]
    assert statements[1].text == "do $$ begin perform 1; perform 2; end $$"
    assert "select 2; end" in statements[2].text
    assert [(s.line, s.column) for s in statements] == [(2, 1), (3, 1), (4, 1), (6, 3)]


def test_split_returns_none_on_syntax_error() -> None:
    assert split_statements("select 1; selec 2;") is None


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("create index concurrently i on t (x)", True),
        ("create unique index concurrently if not exists i on t (x)", True),
        ("drop index concurrently i", True),
        ("reindex index concurrently i", True),
        ("vacuum t", True),
        ("create database x", True),
        ("alter system set work_mem = '8MB'", True),
        ("create index i on t (x)", False),
        ("analyze t", False),
        ("comment on table t is 'vacuum concurrently'", False),
        ("refresh materialized view concurrently mv", False),
    ],
)
def test_statements_that_cannot_run_in_a_transaction(sql: str, expected: bool) -> None:
    assert needs_autocommit(Statement(sql, 0, 1, 1)) is expected
