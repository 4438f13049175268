"""The Phase 3 seeders: deterministic, consistent, loadable from the CLI and as seed.sql."""

from __future__ import annotations

import os
import pty
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from phase3test.cli import main
from phase3test.seeding import load, plan, seed
from phase3test.seeding.phase3 import user_id
from phase3test.seeding.phase3.users import APP_ROLES
from phase3test.supabase.cli import find_cli
from phase3test.supabase.cli import run as cli_run

SEEDERS = "phase3test.seeding.phase3"


@pytest.fixture(scope="module")
def seeders():
    return plan(load(SEEDERS))


def test_same_seed_gives_identical_tables_and_another_seed_does_not(fresh_db, seeders, checksums):
    with fresh_db.transaction(force_rollback=True):
        seed(fresh_db, seeders, seed=11, scale=2)
        first = checksums(fresh_db)
    with fresh_db.transaction(force_rollback=True):
        seed(fresh_db, seeders, seed=11, scale=2)
        again = checksums(fresh_db)
    with fresh_db.transaction(force_rollback=True):
        seed(fresh_db, seeders, seed=12, scale=2)
        other = checksums(fresh_db)
    seeded = {table.removeprefix("public.") for seeder in seeders for table in seeder.tables}
    assert all(not first[table].startswith("0:") for table in seeded)
    assert first == again
    unchanged = sorted(table for table in seeded if first[table] == other[table])
    assert unchanged == ["system_settings"], "every domain's rows depend on the seed (settings are fixed values)"


def test_the_rows_do_not_depend_on_the_order_the_seeders_run_in(fresh_db, seeders, checksums):
    """The project lists payments early for speed; any order the dependencies allow gives the same rows."""
    backwards = plan(list(reversed(load(SEEDERS))))
    assert [s.name for s in backwards] != [s.name for s in seeders]
    runs = []
    for order in (seeders, backwards):
        with fresh_db.transaction(force_rollback=True):
            seed(fresh_db, order, seed=11, scale=2)
            runs.append(checksums(fresh_db))
    assert runs[0] == runs[1]


def test_every_app_role_has_two_users_with_ids_that_do_not_depend_on_the_seed(fresh_db, seeders):
    with fresh_db.transaction(force_rollback=True):
        seed(fresh_db, seeders, seed=5, scale=1)
        counts = dict(fresh_db.execute("select role, count(*) from public.users group by role"))
        finance = fresh_db.execute("select role from public.users where id = %s", (user_id("finance", 1),)).fetchone()
    assert set(counts) == set(APP_ROLES) and min(counts.values()) >= 2
    assert finance == ("finance",)


INVARIANTS = {
    "bookings of one machine overlap": """
        select count(*) from public.bookings a join public.bookings b
          on a.equipment_id = b.equipment_id and a.id < b.id
         and tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)""",
    "succeeded payments exceed the booking total": """
        select count(*) from public.bookings b
         where (select coalesce(sum(amount), 0) from public.payments p
                 where p.booking_id = b.id and p.status = 'succeeded') > b.total_amount""",
    "completed or active booking not paid in full": """
        select count(*) from public.bookings b where b.status in ('completed', 'active')
           and (select coalesce(sum(amount), 0) from public.payments p
                 where p.booking_id = b.id and p.status = 'succeeded') <> b.total_amount""",
    "balance_due disagrees with payments": """
        select count(*) from public.bookings b
         where b.balance_due <> b.total_amount - (select coalesce(sum(amount), 0) from public.payments p
                                                   where p.booking_id = b.id and p.status = 'succeeded')""",
    "billing_status disagrees with payments": """
        select count(*) from public.bookings b
         where b.billing_status <> case when b.balance_due <= 0 then 'paid'
                                        when b.balance_due < b.total_amount then 'partially_paid' else 'unpaid' end""",
    "payment, ticket, document or contract of another customer's booking": """
        select (select count(*) from public.payments x join public.bookings b on b.id = x.booking_id
                 where x.customer_id <> b.customer_id)
             + (select count(*) from public.support_tickets x join public.bookings b on b.id = x.booking_id
                 where x.customer_id <> b.customer_id)
             + (select count(*) from public.insurance_documents x join public.bookings b on b.id = x.booking_id
                 where x.customer_id <> b.customer_id)
             + (select count(*) from public.contracts x join public.bookings b on b.id = x.booking_id
                 where x.customer_id <> b.customer_id)""",
    "SLA deadline before the ticket was opened": """
        select count(*) from public.support_tickets
         where first_response_due_at <= created_at or resolution_due_at <= created_at""",
}


@pytest.mark.parametrize("scale", [1, 5])
def test_business_invariants_hold(fresh_db, seeders, scale):
    with fresh_db.transaction(force_rollback=True):
        seed(fresh_db, seeders, seed=scale, scale=scale)
        considered = fresh_db.execute(
            "select (select count(*) from public.bookings), (select count(*) from public.payments),"
            " (select count(*) from public.support_tickets)"
        ).fetchone()
        violations = {name: fresh_db.execute(query).fetchone()[0] for name, query in INVARIANTS.items()}
    assert all(considered), f"nothing to check: {considered}"
    assert violations == dict.fromkeys(INVARIANTS, 0)


def test_cli_seeds_a_database_and_refuses_a_second_run_keeping_nothing_of_it(
    fresh_db, pg_server, checksums, capsys, monkeypatch
):
    url = pg_server.conninfo(fresh_db.info.dbname)
    args = ["seed", "--db-url", url, "--seed", "3", "--seeders", SEEDERS]
    assert main(args) == 0
    assert "seeded " in capsys.readouterr().out
    after_first = checksums(fresh_db)
    assert main(args) == 1, "the same ids again: the second run must fail"
    assert "nothing was kept" in capsys.readouterr().err
    assert checksums(fresh_db) == after_first


def test_cli_emit_sql_loads_the_same_data_as_seeding(fresh_db, pg_server, checksums, tmp_path):
    target = tmp_path / "seed.sql"
    assert main(["seed", "--emit-sql", str(target), "--seed", "4", "--seeders", SEEDERS]) == 0
    with fresh_db.transaction(force_rollback=True):
        fresh_db.execute(target.read_text())
        from_sql = checksums(fresh_db)
    with fresh_db.transaction(force_rollback=True):
        seed(fresh_db, plan(load(SEEDERS)), seed=4, scale=1)
        assert checksums(fresh_db) == from_sql


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scale", "huge"], "unknown scale 'huge'"),
        (["--seed", "x"], "seed must be a non-negative integer"),
        (["--only", "nope"], "unknown seeding domain(s): nope"),
        (["--seeders", "no.such.module"], "cannot import seeders module"),
    ],
)
def test_cli_bad_input_is_a_clear_setup_error(args, message, tmp_path, capsys):
    assert main(["seed", "--emit-sql", str(tmp_path / "x.sql"), "--seeders", SEEDERS, *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.sql").exists()


def run_cli_seed(url: str, stderr_on_terminal: bool) -> tuple[str, str]:
    """Run `phase3test seed` in a subprocess; its stderr on a pseudo-terminal or a pipe."""
    command = [sys.executable, "-m", "phase3test.cli", "seed", "--db-url", url, "--seeders", SEEDERS, "--scale", "2"]
    if not stderr_on_terminal:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
        return done.stdout, done.stderr
    leader, follower = pty.openpty()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=follower, text=True) as proc:
        os.close(follower)
        stdout, _ = proc.communicate(timeout=120)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(leader)
    assert proc.returncode == 0
    return stdout, b"".join(chunks).decode()


def test_cli_shows_progress_on_a_terminal_and_stays_quiet_otherwise(pg_databases, migrated_template):
    for on_terminal in (True, False):
        name = pg_databases.create(migrated_template, "seedcli")
        try:
            stdout, stderr = run_cli_seed(pg_databases.target.conninfo(name), on_terminal)
        finally:
            pg_databases.drop(name)
        assert "seeded " in stdout
        if on_terminal:
            assert "users" in stderr and "baseline" in stderr and "rows/s" in stderr
        else:
            assert stderr == ""


def test_a_default_seeding_fills_every_public_table(fresh_db, seeders, checksums):
    with fresh_db.transaction(force_rollback=True):
        report = seed(fresh_db, seeders, seed=0, scale=1)
        empty = sorted(table for table, value in checksums(fresh_db).items() if value.startswith("0:"))
    assert [r.name for r in report.results][:2] == ["users", "baseline"]
    assert empty == []


def test_phase3test_up_serves_the_seeded_schema():
    """From the repository root `up` picks phase3test_seeders from pyproject.toml and loads the data."""
    repo = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "phase3test.cli", "up", "--supabase-dir", "supabase", "--seed", "9"]
    with subprocess.Popen(command, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            dsn = None
            for line in proc.stdout:
                assert "ready in" not in line or "seed data loaded" in line, line
                if line.strip().startswith("DSN:"):
                    dsn = line.split("DSN:", 1)[1].strip()
                    break
            assert dsn, proc.stderr.read()
            with psycopg.connect(dsn) as conn:
                assert conn.execute("select count(*) from public.bookings").fetchone()[0] > 0
                assert conn.execute("select role from public.users where id = %s", (user_id("security", 0),)).fetchone()
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 0


def test_supabase_db_reset_loads_the_emitted_seed_file(empty_db, fresh_db, pg_server, seeders, checksums, tmp_path):
    """The real CLI applies the migrations and then supabase/seed.sql: the same rows as our own seeding."""
    cli = find_cli(Path(__file__).resolve().parents[2])
    if cli is None:
        pytest.skip("Supabase CLI not installed (run `npm ci`)")
    project = tmp_path / "project"
    shutil.copytree(
        Path(__file__).resolve().parents[2] / "supabase", project / "supabase", ignore=shutil.ignore_patterns(".temp")
    )
    assert (
        main(["seed", "--emit-sql", str(project / "supabase" / "seed.sql"), "--seed", "6", "--seeders", SEEDERS]) == 0
    )
    output = cli_run(
        cli, project, "db", "reset", "--yes", "--db-url", pg_server.conninfo(empty_db.info.dbname) + "?sslmode=disable"
    )
    assert "seed.sql" in output
    seeded = {table.removeprefix("public.") for seeder in seeders for table in seeder.tables}
    with fresh_db.transaction(force_rollback=True):
        seed(fresh_db, seeders, seed=6, scale=1)
        ours = {table: value for table, value in checksums(fresh_db).items() if table in seeded}
    theirs = {table: value for table, value in checksums(empty_db).items() if table in seeded}
    assert len(ours) == len(seeded) and theirs == ours
