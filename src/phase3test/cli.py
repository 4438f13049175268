"""`phase3test init | matrix | up | docs | snapshot | seed | check | report merge | profile | rls-cost | down |
settings`: the project's database in about a second, without Docker.

Every command takes the settings it uses with the flags pytest takes (`--supabase-dir`, `--pg-backend`, ...),
and reads the rest from the environment and the project's pytest configuration exactly as pytest does.
Exit codes: 0 success, 1 the migrations or the seeding failed (for `matrix`, also: the declared matrix differs
from the database), 2 setup or configuration is wrong.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg

from phase3test import adopt, seeding
from phase3test.access import matrix_diff, rls_cost
from phase3test.access.inference import infer
from phase3test.access.matrix import load as load_matrix
from phase3test.docs.pages import generated_pages, stale
from phase3test.errors import Phase3TestError, SetupError
from phase3test.gate import check, merge, shown_path
from phase3test.inspection import catalog
from phase3test.migrations.adoption import project_history
from phase3test.migrations.discovery import Migration, discover
from phase3test.migrations.runner import MigrationError
from phase3test.profiling.accepted import judge, load_accepted
from phase3test.profiling.grow import grow
from phase3test.profiling.rules import findings
from phase3test.profiling.run import profile_each, render
from phase3test.provisioning.provisioned import Provisioned
from phase3test.provisioning.registry import base_dir, new_run_id, reap_orphans
from phase3test.provisioning.remote import connect_admin
from phase3test.provisioning.run import RunServer, platform_of, seeding_plan
from phase3test.provisioning.templates import MIGRATED, SEEDED, in_their_era
from phase3test.seeding.engine import SeederResult, SeedError
from phase3test.server.process import ProcessId
from phase3test.server.target import claimed_databases, drop_abandoned, redacted_url, this_host
from phase3test.settings import BY_NAME, COMMAND_SETTINGS, FLAG, Settings, flags_of, load
from phase3test.settings_file import SETTINGS_FILE

EXIT_OK, EXIT_FAILED, EXIT_SETUP = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="phase3test", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    init = commands.add_parser(
        "init", help="adopt the gate here: write phase3test.toml and a draft access matrix inferred from the database"
    )
    init.add_argument("--force", action="store_true", help="write phase3test.toml and the matrix even if they exist")
    matrix = commands.add_parser(
        "matrix", help="the access matrix the database enforces against the declared one (exit 1 if they differ)"
    )
    matrix.add_argument(
        "--infer",
        action="store_true",
        required=True,
        help="migrate and seed a throwaway database, infer the matrix it enforces, show how the declared one differs",
    )
    matrix.add_argument(
        "--format", choices=("text", "markdown"), default="text", help="markdown: for a pull request comment"
    )
    commands.add_parser("up", help="start a migrated (and seeded) database and keep it running until Ctrl-C")
    docs = commands.add_parser(
        "docs", help="regenerate docs/admin/schema-audit.md, docs/migrations/index.md and CHANGELOG.md"
    )
    docs.add_argument("--docs-dir", default="docs", type=Path, help="where the docs live (default docs)")
    docs.add_argument("--check", action="store_true", help="only report stale pages; exit 1 if any")
    snap = commands.add_parser("snapshot", help="write the catalog snapshot of the migrated schema (or of --db-url)")
    snap.add_argument("--out", type=Path, default=Path("schema-snapshot.json"), help="where (default %(default)s)")
    snap.add_argument("--db-url", help="snapshot this database instead of migrating a throwaway one")
    seed = commands.add_parser("seed", help="load deterministic Faker data into a database, or write it as SQL")
    seed.add_argument("--db-url", help="the database to seed (required unless --emit-sql)")
    seed.add_argument("--emit-sql", type=Path, help="write the rows as INSERTs (e.g. supabase/seed.sql) instead")
    seed.add_argument("--only", help="comma-separated domains (their dependencies come along)")
    down = commands.add_parser("down", help="stop servers left by --pg-keep or by runs that died")
    down.add_argument(
        "--db-url", help="also drop the databases such runs from this machine left on this external server"
    )
    gate = commands.add_parser(
        "check", help="the migration gate: every suite in parallel, then the regression report (exit 1 if any fails)"
    )
    gate.add_argument("paths", nargs="*", help="more test paths to run with the suites (e.g. tests/)")
    gate.add_argument("--pytest-arg", action="append", default=[], help="pass this on to pytest (repeatable)")
    report = commands.add_parser(
        "report", help="merge: one report (json, md, html, JUnit) from the reports of a gate run in shards (--shard)"
    )
    report.add_argument("action", choices=("merge",), help="merge the shards' reports")
    report.add_argument(
        "reports", nargs="+", type=Path, help="every shard's report.json (reports-*/report.json), each once"
    )
    measure = commands.add_parser(
        "profile",
        help="grow the tables each migration touches (--rows), apply it and measure the locks it holds, for how "
        "long, and what that comes to at production's row counts",
    )
    measure.add_argument(
        "migrations", nargs="*", help="files or versions to profile (default: those after the history, else all)"
    )
    commands.add_parser(
        "rls-cost",
        help="time each signed-in role's reads (a page, a count) of every table it may read against "
        "service_role's, on the seed data grown to --pg-rls-cost-rows; exit 1 when a read is flagged",
    )
    shown = commands.add_parser("settings", help="print every setting, its value and where it came from")
    shown.add_argument("--json", action="store_true", help="as JSON")
    for name, command in commands.choices.items():
        _add_settings(command, COMMAND_SETTINGS[name])
    return parser


def _add_settings(command: argparse.ArgumentParser, names: tuple[str, ...]) -> None:
    """The command's settings flags, spelled as pytest spells them (plus a command's shorter aliases)."""
    group = command.add_argument_group("settings (also read from the environment and the pytest configuration)")
    for setting in (BY_NAME[name] for name in names if FLAG in BY_NAME[name].sources):
        kind = {"action": "store_true", "default": None} if setting.kind is bool else {"metavar": setting.name.upper()}
        group.add_argument(setting.option, *setting.cli_aliases, dest=setting.dest, help=setting.help, **kind)


def settings_for(args: argparse.Namespace) -> Settings:
    """The settings a command runs with: its flags, then the environment and the project's pytest
    configuration, resolved by pytest's own parser."""
    resolved = load(_flags(args), only=COMMAND_SETTINGS[args.command])
    for notice in resolved.renamed:
        print(f"warning: {notice}", file=sys.stderr)
    return resolved


def _flags(args: argparse.Namespace) -> list[str]:
    given = [BY_NAME[name] for name in COMMAND_SETTINGS[args.command] if FLAG in BY_NAME[name].sources]
    return flags_of({setting.name: getattr(args, setting.dest) for setting in given})


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "check":
            return check(_flags(args), args.paths, args.pytest_arg)
        if args.command == "init":
            return init(args)
        settings = settings_for(args)
        if args.command == "settings":
            return show_settings(settings, args.json)
        if args.command == "report":
            return merge(args.reports, settings.report_dir, settings.baseline)
        if args.command == "down":
            return down(settings, args.db_url)
        if args.command == "seed":
            return seed_command(settings, args)
        if args.command == "snapshot":
            return snapshot_command(settings, args.out, args.db_url)
        if args.command == "up":
            return up(settings)
        if args.command == "profile":
            return profile_command(settings, args.migrations)
        if args.command == "matrix":
            return matrix_command(settings, args.format)
        if args.command == "rls-cost":
            return rls_cost_command(settings)
        return docs(settings, args.docs_dir, args.check)
    except psycopg.OperationalError as exc:
        print(f"phase3test: cannot connect to the database: {exc}", file=sys.stderr)
        return EXIT_SETUP
    except MigrationError as exc:
        print(f"phase3test: migrations failed:\n{exc}", file=sys.stderr)
        return EXIT_FAILED
    except SeedError as exc:
        print(f"phase3test: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except Phase3TestError as exc:
        print(f"phase3test: {exc}", file=sys.stderr)
        return EXIT_SETUP


def show_settings(settings: Settings, as_json: bool) -> int:
    """Every setting with its value and origin, as `git config --show-origin` would."""
    if as_json:
        print(json.dumps(settings.to_json(), indent=1))
        return EXIT_OK
    rows = settings.shown()
    width = max(len(name) for name, _, _ in rows)
    for name, value, origin in rows:
        print(f"{name:<{width}}  {value or '-':<40}  {origin}")
    return EXIT_OK


@contextlib.contextmanager
def _project_server(settings: Settings) -> Iterator[Provisioned]:
    """The project's migrated server for one command, stopped and removed afterwards.

    Failed migrations raise (exit 1), so commands only see a usable server.
    """
    run = RunServer(settings, new_run_id(), ProcessId.of_self())
    try:
        provisioned = run.get()
        for warning in provisioned.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if provisioned.migration_error is not None:
            raise provisioned.migration_error
        yield provisioned
    finally:
        run.shutdown()


@contextlib.contextmanager
def _migrated_database(settings: Settings, purpose: str, seeded: bool = False) -> Iterator[psycopg.Connection]:
    """A connection to a fresh clone of the project's migrated (or seeded) template, gone with the run."""
    with _project_server(settings) as provisioned:
        if seeded and provisioned.seed_error is not None:
            raise SeedError(f"seeding failed:\n{provisioned.seed_error}")
        target = provisioned.target
        name = target.name(purpose)
        template = SEEDED if seeded and provisioned.seeded else MIGRATED
        with psycopg.connect(target.conninfo(), autocommit=True) as admin:
            target.create(admin, name, target.template(template))
        with psycopg.connect(target.conninfo(name)) as conn:
            yield conn


def init(args: argparse.Namespace) -> int:
    """Adopt the gate in this folder: phase3test.toml, then the access matrix the database enforces, as a draft."""
    here = Path.cwd()
    given = args.supabase_dir
    supabase_dir = (here / given).resolve() if given else adopt.locate(here, _ask if sys.stdin.isatty() else None)
    root = adopt.repository_root(supabase_dir)
    settings_file = root / SETTINGS_FILE
    adopt.refuse_overwrite([settings_file], args.force)
    before = settings_file.read_text(encoding="utf-8") if settings_file.exists() else None
    settings_file.write_text(adopt.settings_text(root, supabase_dir), encoding="utf-8")
    try:  # the settings decide where the matrix goes; a failure from here on leaves the file as it was
        settings = settings_for(args)
        matrix = settings.rls_matrix
        assert matrix is not None  # it has a default
        adopt.refuse_overwrite([matrix], args.force)
        with _migrated_database(settings, "init", seeded=True) as conn:
            source = "the migrations and the seed data" if seeding_plan(settings) else "the migrations (no seed data)"
            written = adopt.write_matrix(conn, settings.project, matrix, source)
    except BaseException:
        if before is None:
            settings_file.unlink()
        else:
            settings_file.write_text(before, encoding="utf-8")
        raise
    print(f"wrote {shown_path(settings_file)} (project {shown_path(supabase_dir)})")
    print(f"wrote {written}")
    print("next: review the matrix, then run `phase3test check` (docs/adopting.md)")
    return EXIT_OK


def matrix_command(settings: Settings, output: str) -> int:
    """What the database allows against what the matrix declares; exit 1 when they differ, so a review step can
    stop on it."""
    path = settings.rls_matrix
    assert path is not None  # it has a default
    if not path.is_file():
        raise SetupError(
            f"no access matrix at {path}", hint="`phase3test init` writes one from what the database allows"
        )
    declared = load_matrix(path)  # a broken file stops before any database is built
    with _migrated_database(settings, "matrix", seeded=True) as conn:
        inferred = infer(conn, settings.project.api_schemas())
    diff = matrix_diff.compare(declared, inferred)
    print((matrix_diff.markdown if output == "markdown" else matrix_diff.text)(diff, str(shown_path(path))))
    return EXIT_FAILED if diff.differs else EXIT_OK


def rls_cost_command(settings: Settings) -> int:
    """The RLS cost grid of the whole schema (every table a signed-in role may read), the flagged reads with
    their policies and causes; exit 1 when a read is flagged, as the rls_cost suite would fail."""
    path = settings.rls_matrix
    assert path is not None  # it has a default
    if not path.is_file():
        raise SetupError(f"no access matrix at {path}", hint="`phase3test init` writes one")
    declared = load_matrix(path)
    costs = []
    with _migrated_database(settings, "rls-cost", seeded=True) as conn:
        conn.autocommit = True
        for table in rls_cost.readable_tables(declared):
            if settings.rls_cost_rows:
                grow(conn, table, settings.rls_cost_rows)
            costs += rls_cost.measure(conn, declared, table)
    print("\n".join(rls_cost.grid(costs, settings.rls_cost_max_ratio, settings.rls_cost_min_ms)))
    flagged = [cost for cost in costs if cost.flagged(settings.rls_cost_max_ratio, settings.rls_cost_min_ms)]
    for cost in flagged:
        print(f"FLAG {cost.line()}")
    return EXIT_FAILED if flagged else EXIT_OK


def _ask(candidates: list[Path]) -> Path:
    """Which of several Supabase projects to adopt, asked on the terminal."""
    for number, path in enumerate(candidates, start=1):
        print(f"  {number}. {shown_path(path)}")
    answer = input(f"which project (1-{len(candidates)})? ").strip()
    if not answer.isdigit() or not 1 <= int(answer) <= len(candidates):
        raise SetupError(f"{answer!r} is none of 1-{len(candidates)}")
    return candidates[int(answer) - 1]


def up(settings: Settings) -> int:
    """Start, migrate, expose the result as database `postgres`, wait for Ctrl-C, clean up."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with _project_server(settings) as provisioned:
        if provisioned.seed_error is not None:
            raise SeedError(f"seeding failed:\n{provisioned.seed_error}")
        _announce(provisioned, _publish(provisioned))
        stop.wait()
    return EXIT_OK


def _publish(provisioned: Provisioned) -> str:
    """A clone of the seeded (or migrated) template to work in: on a server of our own it replaces the stock
    `postgres` database, as on Supabase; on a shared server it is one more database of the run's."""
    target = provisioned.target
    template = target.template(SEEDED if provisioned.seeded else MIGRATED)
    name = target.name("up") if target.shared else "postgres"
    with psycopg.connect(target.conninfo("template1" if name == "postgres" else None), autocommit=True) as admin:
        target.drop(admin, name)
        target.create(admin, name, template)
    return name


def _announce(provisioned: Provisioned, name: str) -> None:
    shared = provisioned.target.shared
    # on a shared server the password stays out of the terminal: the user has it
    dsn = redacted_url(provisioned.target.conninfo(name)) if shared else provisioned.target.conninfo(name)
    cli_url = dsn if shared else f"{dsn}?sslmode=disable"  # our own server speaks no TLS; the CLI tries it first
    gone = "this run's databases are dropped" if shared else "the server and its files are removed"
    print(
        f"PostgreSQL {provisioned.target.version} ready in {provisioned.timings.get('total', 0):.2f}s "
        f"({provisioned.describe_cache()}), {len(provisioned.migrations)} migration(s) applied"
        f"{', seed data loaded' if provisioned.seeded else ''}\n"
        f"  DSN:          {dsn}\n"
        f"  psql:         psql '{dsn}'\n"
        f"  Supabase CLI: supabase migration list --db-url '{cli_url}'\n"
        f"Press Ctrl-C to stop; {gone}.",
        flush=True,
    )


def docs(settings: Settings, docs_dir: Path, check: bool) -> int:
    """Render the generated pages from a migrated database; write them, or report the stale ones."""
    with _migrated_database(settings, "docs") as conn:
        pages = generated_pages(conn, settings.project, docs_dir)
    outdated = stale(pages)
    if check:
        for path in outdated:
            print(f"{path} is out of date: run `phase3test docs` and commit the result", file=sys.stderr)
        return EXIT_FAILED if outdated else EXIT_OK
    for path in outdated:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(pages[path], encoding="utf-8")
        print(f"wrote {path}")
    if not outdated:
        print("docs are up to date")
    return EXIT_OK


def snapshot_command(settings: Settings, out: Path, db_url: str | None) -> int:
    """Write the JSON snapshot of a database's schema: --db-url, or the project's migrated template."""
    if db_url:
        with psycopg.connect(db_url) as conn:
            taken = catalog.snapshot(conn)
    else:
        with _migrated_database(settings, "snapshot") as conn:
            taken = catalog.snapshot(conn)
    out.write_text(json.dumps(taken.to_json(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {out} (sha256 {taken.digest()[:16]})")
    return EXIT_OK


def seed_command(settings: Settings, args: argparse.Namespace) -> int:
    """`phase3test seed`: all or nothing, progress on a terminal only."""
    if not args.db_url and not args.emit_sql:
        raise SetupError("say where the data goes", hint="pass --db-url URL or --emit-sql FILE")
    if settings.seeders is None:
        raise SetupError(
            "no seeders configured", hint="pass --pg-seeders MODULE or set phase3test_seeders in pyproject.toml"
        )
    seeders = seeding.plan(seeding.load(settings.seeders), _domains(args.only))
    scale, seed = settings.seed_scale, settings.seed
    if args.emit_sql:
        args.emit_sql.write_text(seeding.emit_sql(seeders, seed, scale), encoding="utf-8")
        print(f"wrote {args.emit_sql} ({', '.join(s.name for s in seeders)}; seed {seed}, scale {scale})")
        return EXIT_OK
    on_terminal = sys.stderr.isatty()

    def progress(result: SeederResult) -> None:
        if on_terminal:
            print(f"  {result.name:<22} {result.rows:>10,} rows  {result.rate:>10,.0f} rows/s", file=sys.stderr)

    with psycopg.connect(args.db_url) as conn:
        report = seeding.seed(conn, seeders, seed, scale, progress)
    print(f"seeded {report.rows:,} rows in {report.seconds:.2f}s (seed {seed}, scale {scale})")
    return EXIT_OK


def profile_command(settings: Settings, wanted: list[str]) -> int:
    """Measure what the chosen migrations do on the seed data at the configured scale; exit 1 when one keeps
    the API waiting (profiling/rules.py)."""
    chain = in_their_era(discover(settings.project.migrations_dir).migrations, platform_of(settings))
    chosen = _chosen(chain, wanted, settings)
    accepted = load_accepted(settings.profile_accepted) if settings.profile_accepted else []
    with _project_server(settings) as provisioned:
        if not provisioned.seeded:
            raise SetupError(
                provisioned.seed_error or "no seed data to measure on",
                hint="the profile needs rows: add supabase/seed.sql or seeders (phase3test_seeders), and --scale",
            )
        target = provisioned.target
        profiles = profile_each(
            target,
            target.template(SEEDED),
            chain,
            chosen,
            settings.project,
            settings.profile_rows,
            settings.production_rows,
        )
    print(render(profiles), end="")
    found = [finding for measured in profiles for finding in findings(measured, settings.max_lock_ms)]
    verdict = judge(found, accepted, {measured.migration for measured in profiles})
    for finding, entry in verdict.accepted:
        print(f"accepted {finding}  [{entry.reason}]")
    for finding in verdict.failing:
        print(f"FAIL {finding}")
    for entry in verdict.stale:
        print(f"STALE {settings.profile_accepted}: accepts {entry}, which the profile no longer finds: remove it")
    return EXIT_FAILED if verdict.failing or verdict.stale else EXIT_OK


def _chosen(chain: list[Migration], wanted: list[str], settings: Settings) -> list[Migration]:
    """The files asked for (by file name or version), else those after the history, else every one."""
    if not wanted:
        history = project_history(chain, settings.project.migrations_dir, settings.adopted_at, settings.base_ref)
        return history.new(chain) or chain
    by_name = {key: m for m in chain for key in (m.version, m.path.name, m.path.stem)}
    unknown = [name for name in wanted if Path(name).name not in by_name]
    if unknown:
        raise SetupError(f"no such migration: {', '.join(unknown)}", hint=f"see {settings.project.migrations_dir}")
    return [by_name[Path(name).name] for name in wanted]


def _domains(only: str | None) -> list[str] | None:
    return [name.strip() for name in only.split(",") if name.strip()] if only else None


def down(settings: Settings, db_url: str | None) -> int:
    """Stop what runs left behind here; with `db_url`, drop what they left on that server too."""
    removed = reap_orphans(base_dir(settings.home), include_kept=True)
    print(f"stopped and removed {len(removed)} server(s)" if removed else "no server to stop")
    if db_url:
        with connect_admin(db_url) as admin:
            dropped = drop_abandoned(admin, include_kept=True)
            others = claimed_databases(admin)
        print(f"dropped {len(dropped)} database(s): {', '.join(dropped)}" if dropped else "no database to drop")
        for name, claim in sorted(others.items()):
            host = claim.host.split("/")[0]
            if claim.host != this_host():
                why = f"on {host}, whose processes cannot be seen here"
            else:
                why = "ended, but this role may not drop it" if claim.finished() else "still running"
            print(f"left {name}: phase3test run {claim.run_id} {why}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
