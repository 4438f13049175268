"""`phase3test up | down`: the project's database in about a second, without Docker.

Exit codes: 0 success, 1 the migrations failed, 2 setup or configuration is wrong.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

import psycopg

from phase3test import janitor
from phase3test.errors import Phase3TestError
from phase3test.provision import MIGRATED_TEMPLATE, Provisioned
from phase3test.server.process import ProcessId
from phase3test.server.registry import base_dir, new_run_id, reap_orphans
from phase3test.session import BACKENDS, RunServer, Settings

EXIT_OK, EXIT_FAILED, EXIT_SETUP = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="phase3test", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start a migrated database and keep it running until Ctrl-C")
    up.add_argument("--supabase-dir", default="supabase", type=Path, help="the project's supabase/ folder")
    up.add_argument("--pg-backend", default="embedded", choices=BACKENDS)
    up.add_argument("--pg-bindir", help="PostgreSQL bin folder (default: found automatically)")
    up.add_argument("--pg-user", help="as root, the unprivileged user that runs Postgres (default nobody)")
    commands.add_parser("down", help="stop servers left by --pg-keep or by runs that died")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "up":
            return up(
                Settings(
                    supabase_dir=args.supabase_dir.resolve(),
                    backend=args.pg_backend,
                    bindir=args.pg_bindir,
                    pg_user=args.pg_user,
                )
            )
        return down()
    except Phase3TestError as exc:
        print(f"phase3test: {exc}", file=sys.stderr)
        return EXIT_SETUP


def up(settings: Settings) -> int:
    """Start, migrate, expose the result as database `postgres`, wait for Ctrl-C, clean up."""
    run = RunServer(settings, new_run_id(), ProcessId.of_self())
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        provisioned = run.get()
        for warning in provisioned.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if provisioned.migration_error is not None:
            print(f"phase3test: migrations failed:\n{provisioned.migration_error}", file=sys.stderr)
            return EXIT_FAILED
        _publish_as_postgres(provisioned)
        _announce(provisioned)
        stop.wait()
        return EXIT_OK
    finally:
        run.shutdown()


def _publish_as_postgres(provisioned: Provisioned) -> None:
    """Replace the stock `postgres` database by a clone of the migrated template, as on Supabase."""
    with psycopg.connect(provisioned.server.conninfo("template1"), autocommit=True) as admin:
        janitor.drop(admin, "postgres")
        janitor.create_from_template(admin, "postgres", MIGRATED_TEMPLATE)


def _announce(provisioned: Provisioned) -> None:
    dsn = provisioned.server.conninfo("postgres")
    print(
        f"PostgreSQL {provisioned.server.version} ready in {provisioned.timings.get('total', 0):.2f}s "
        f"({provisioned.describe_cache()}), {len(provisioned.migrations)} migration(s) applied\n"
        f"  DSN:          {dsn}\n"
        f"  psql:         psql '{dsn}'\n"
        f"  Supabase CLI: supabase migration list --db-url '{dsn}?sslmode=disable'\n"
        "Press Ctrl-C to stop; the server and its files are removed.",
        flush=True,
    )


def down() -> int:
    removed = reap_orphans(base_dir(), include_kept=True)
    print(f"stopped and removed {len(removed)} server(s)" if removed else "nothing to stop")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
