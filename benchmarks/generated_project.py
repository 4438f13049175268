"""A Supabase project of any number of migrations, written for the gate-at-scale benchmark (never checked in).

The shapes a real team's history is made of, in a fixed rotation: tables with
row-level security and own-row policies, columns added to earlier tables,
indexes, functions, backfills, policies rewritten, and now and then a
materialized view; each file idempotent and set with a lock timeout, each
with a rollback that restores the catalog (and a backfill's rows). With them
the access matrix (every table: `writer` its own rows, `service_role` all,
`anon` nothing), a seeder that puts rows in every table, and phase3test.toml.

    .venv/bin/python benchmarks/generated_project.py 300 /tmp/bench-300
"""

from __future__ import annotations

import argparse
import textwrap
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

FIRST_VERSION = datetime(2023, 1, 2, 9, 0, tzinfo=UTC)
# One shape per migration, in turn; `view` every VIEW_EVERY-th file instead.
ROTATION = ("table", "column", "function", "table", "index", "backfill", "table", "column", "function", "policy")
VIEW_EVERY = 25
PROFILE_ROWS = 2000  # the lock profile's scale: small, so 300 migrations profile in minutes, not hours
ROWS_PER_TABLE = 20

SEEDERS = '''"""Rows in every table of the generated project: two writers, ROWS rows each table, owned in turn; the
backfilled note columns hold what the backfills write (the head's data), the others nothing."""

from phase3test.seeding import Batch, Seeder

TABLES = {tables!r}  # table -> its backfilled note columns
ROWS = {rows}


class Everything(Seeder):
    name = "everything"
    tables = ("auth.users", *TABLES)

    def generate(self, ctx):
        users = [(ctx.uuid(), f"writer{{n}}@example.test", "authenticated", "authenticated") for n in range(2)]
        yield Batch("auth.users", ("id", "email", "aud", "role"), users)
        for table, notes in TABLES.items():
            titles = [f"{{table}} row {{n}}" for n in range(ROWS)]
            rows = [(ctx.uuid(), users[n % 2][0], title, *[title] * len(notes)) for n, title in enumerate(titles)]
            yield Batch(table, ("id", "owner_id", "title", *notes), rows)


SEEDERS = [Everything()]
'''


@dataclass
class History:
    """What the migrations so far have made: the later shapes build on it."""

    tables: list[str] = field(default_factory=list)
    added_columns: list[tuple[str, str]] = field(default_factory=list)  # (table, column) not backfilled yet
    private_schema: bool = False  # a function or view has created schema private (its rollback drops it)
    backfilled: dict[str, list[str]] = field(default_factory=dict)  # table -> its note columns a backfill fills
    rewritten: set[str] = field(default_factory=set)  # tables whose select policy was rewritten


def write_project(folder: Path, count: int) -> list[str]:
    """Write a project of `count` migrations into `folder`; returns its tables."""
    migrations, rollbacks = folder / "supabase" / "migrations", folder / "supabase" / "rollbacks"
    for path in (migrations, rollbacks, folder / "fixtures"):
        path.mkdir(parents=True, exist_ok=True)
    (folder / "supabase" / "config.toml").write_text('project_id = "bench"\n\n[db]\nmajor_version = 15\n')
    history = History()
    for number in range(1, count + 1):
        shape = "view" if number % VIEW_EVERY == 0 and history.tables else ROTATION[(number - 1) % len(ROTATION)]
        if not history.tables:
            shape = "table"
        if shape == "backfill" and not history.added_columns:
            shape = "column"
        name, up, down = SHAPES[shape](number, history)
        version = (FIRST_VERSION + timedelta(hours=number)).strftime("%Y%m%d%H%M%S")
        (migrations / f"{version}_{name}.sql").write_text(f"set local lock_timeout = '5s';\n\n{up.strip()}\n")
        (rollbacks / f"{version}_{name}.down.sql").write_text(f"{down.strip()}\n")
    (folder / "fixtures" / "rls_matrix.yaml").write_text(_matrix(history.tables))
    columns = {table: history.backfilled.get(table, []) for table in history.tables}
    (folder / "bench_seeders.py").write_text(SEEDERS.format(tables=columns, rows=ROWS_PER_TABLE))
    (folder / "phase3test.toml").write_text(
        'supabase_dir = "supabase"\nseeders = "bench_seeders"\nrls_matrix = "fixtures/rls_matrix.yaml"\n'
        f'profile_rows = "{PROFILE_ROWS}"\n'
    )
    (folder / "pytest.ini").write_text("[pytest]\npythonpath = .\n")  # where the seeders are imported from
    (folder / ".squawk.toml").write_text(
        'assume_in_transaction = true\npg_version = "15.0"\n'
        'excluded_rules = ["require-statement-timeout", "require-concurrent-index-creation"]\n'
    )
    return history.tables


def _table(number: int, history: History) -> tuple[str, str, str]:
    table = f"public.items_{number}"
    history.tables.append(table)
    policies = "\n".join(
        f"drop policy if exists items_{number}_{op} on {table};\n"
        f"create policy items_{number}_{op} on {table} for {op} to authenticated {rule};"
        for op, rule in (
            ("select", "using ((select auth.uid()) = owner_id)"),
            ("insert", "with check ((select auth.uid()) = owner_id)"),
            ("update", "using ((select auth.uid()) = owner_id) with check ((select auth.uid()) = owner_id)"),
            ("delete", "using ((select auth.uid()) = owner_id)"),
        )
    )
    up = f"""
        create table if not exists {table} (
          id uuid primary key default gen_random_uuid(),
          owner_id uuid not null references auth.users (id) on delete cascade,
          title text not null,
          created_at timestamptz not null default now()
        );
        create index if not exists items_{number}_owner_id_idx on {table} (owner_id);
        alter table {table} enable row level security;
        grant select, insert, update, delete on {table} to authenticated, service_role;
    """
    return f"items_{number}", textwrap.dedent(up) + policies, f"drop table if exists {table};"


def _column(number: int, history: History) -> tuple[str, str, str]:
    table = history.tables[number % len(history.tables)]
    column = f"note_{number}"
    history.added_columns.append((table, column))
    up = f"alter table {table} add column if not exists {column} text;"
    return f"{column}_on_{_short(table)}", up, f"alter table {table} drop column if exists {column};"


def _index(number: int, history: History) -> tuple[str, str, str]:
    table = history.tables[number % len(history.tables)]
    index = f"{_short(table)}_created_{number}_idx"
    up = f"create index if not exists {index} on {table} (created_at);"
    return f"index_{index}", up, f"drop index if exists public.{index};"


def _function(number: int, history: History) -> tuple[str, str, str]:
    function = f"private.weight_{number}"
    up = f"""
        create schema if not exists private;
        create or replace function {function}(amount numeric) returns numeric
          language sql immutable set search_path = '' as $$ select amount * {number} $$;
        revoke execute on function {function}(numeric) from public, anon;
    """
    down = f"drop function if exists {function}(numeric);" + _private_schema_made(history)
    return f"weight_{number}", textwrap.dedent(up), down


def _private_schema_made(history: History) -> str:
    """What the rollback of the first file to create schema private adds: the schema goes with it."""
    if history.private_schema:
        return ""
    history.private_schema = True
    return "\ndrop schema if exists private;"


def _backfill(number: int, history: History) -> tuple[str, str, str]:
    table, column = history.added_columns.pop(0)
    history.backfilled.setdefault(table, []).append(column)
    up = f"update {table} set {column} = title where {column} is null;"
    down = "-- The backfilled values stay: they are what the column holds from now on.\nselect 1;"
    return f"backfill_{column}", up, down


def _policy(number: int, history: History) -> tuple[str, str, str]:
    """The select policy of an earlier table rewritten (the same rows, a new name), as teams tidy them; a
    table's once (a second rewrite would drop a name the first one already replaced)."""
    fresh = [table for table in history.tables if table not in history.rewritten]
    if not fresh:
        return _column(number, history)
    table = fresh[number % len(fresh)]
    history.rewritten.add(table)
    old, new = f"{_short(table)}_select", f"{_short(table)}_read_own_{number}"
    rule = "for select to authenticated using ((select auth.uid()) = owner_id)"
    up = f"drop policy if exists {old} on {table};\ndrop policy if exists {new} on {table};\n"
    down = f"drop policy if exists {new} on {table};\ndrop policy if exists {old} on {table};\n"
    return (
        f"policy_{new}",
        f"{up}create policy {new} on {table} {rule};",
        f"{down}create policy {old} on {table} {rule};",
    )


def _view(number: int, history: History) -> tuple[str, str, str]:
    table = history.tables[-1]
    view = f"private.owners_{number}"
    up = f"""
        create schema if not exists private;
        create materialized view if not exists {view} as
          select owner_id, count(*) as items from {table} group by owner_id;
        create unique index if not exists owners_{number}_owner_id_idx on {view} (owner_id);
        revoke all on {view} from anon, authenticated;
    """
    down = f"drop materialized view if exists {view};" + _private_schema_made(history)
    return f"owners_{number}", textwrap.dedent(up), down


def _short(table: str) -> str:
    return table.removeprefix("public.")


SHAPES = {
    "table": _table,
    "column": _column,
    "index": _index,
    "function": _function,
    "backfill": _backfill,
    "policy": _policy,
    "view": _view,
}


def _matrix(tables: list[str]) -> str:
    lines = [
        "roles:",
        "  anon: {api_role: anon}",
        '  writer: {api_role: authenticated, users: "select id from auth.users order by email"}',
        "  service_role: {api_role: service_role}",
        "",
        "tables:",
    ]
    for table in sorted(tables):
        lines.append(f"  {table}:")
        lines.append('    own: "owner_id = auth.uid()"')
        lines += [f"    {op}: {{writer: own, service_role: allow}}" for op in ("select", "insert", "update", "delete")]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("migrations", type=int, help="how many migrations")
    parser.add_argument("folder", type=Path, help="where to write the project (created)")
    args = parser.parse_args()
    tables = write_project(args.folder, args.migrations)
    print(f"{args.migrations} migrations, {len(tables)} tables in {args.folder}")


if __name__ == "__main__":
    main()
