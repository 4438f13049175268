"""The run's templates, built on any `Target` the same way: empty (the Supabase environment only), migrated
(every migration applied) and seeded (the project's seed data loaded).

Tests clone them (`CREATE DATABASE ... TEMPLATE`) instead of rebuilding, so
each is built once per run, or once per cache key on a server of our own.
"""

from __future__ import annotations

from dataclasses import replace

import psycopg

from phase3test.migrations.discovery import Discovery, Migration
from phase3test.migrations.runner import MigrationError, run_file
from phase3test.project import SupabaseProject
from phase3test.provisioning import ladder
from phase3test.seeding.engine import SeedError
from phase3test.seeding.template import SeedingPlan
from phase3test.server.target import OWN_PREFIX, Target
from phase3test.supabase.bootstrap import bootstrap
from phase3test.supabase.buckets import create_buckets
from phase3test.supabase.platform import Platform

EMPTY, MIGRATED, SEEDED = "empty", "migrated", "seeded"
EMPTY_TEMPLATE, MIGRATED_TEMPLATE, SEEDED_TEMPLATE = (f"{OWN_PREFIX}_{k}" for k in (EMPTY, MIGRATED, SEEDED))


def build_empty(target: Target, admin: psycopg.Connection, label: str, platform: Platform) -> None:
    """The empty template: a new database made to look like Supabase's, with `platform`'s defaults."""
    name = target.template(EMPTY)
    target.create(admin, name, "template0")
    with psycopg.connect(target.conninfo(name), autocommit=True) as conn:
        bootstrap(conn, platform)
    target.seal(admin, name, label)


def in_their_era(migrations: list[Migration], platform: Platform) -> list[Migration]:
    """Each migration set to run under the platform defaults production applied it with (`Platform.era_of`):
    how the template is built and how every suite applies a file."""
    return [replace(migration, around=platform.era_of(migration.version)) for migration in migrations]


def build_migrated(
    target: Target, admin: psycopg.Connection, discovery: Discovery, label: str, platform: Platform
) -> None:
    """The migrated template, cloned from the empty one, with its rungs on the way up; a failing migration leaves
    neither and raises."""
    name = target.template(MIGRATED)
    target.create(admin, name, target.template(EMPTY))
    try:
        ladder.climb(target, admin, name, target.template(EMPTY), in_their_era(discovery.migrations, platform), label)
    except MigrationError:
        target.drop(admin, name)
        raise
    target.seal(admin, name, label)


def build_rungs_down(
    target: Target,
    admin: psycopg.Connection,
    discovery: Discovery,
    project: SupabaseProject,
    platform: Platform,
    seeded: bool,
    label: str,
) -> None:
    """The rungs below the data head: the seeded template when there is seed data, else the migrated one."""
    head = target.template(SEEDED if seeded else MIGRATED)
    ladder.descend(target, admin, head, in_their_era(discovery.migrations, platform), project, label)


def build_seeded(target: Target, admin: psycopg.Connection, seeding: SeedingPlan, label: str) -> str | None:
    """The seeded template, cloned from the migrated one, loaded as `supabase db reset` loads it (seed files,
    then config.toml's buckets), with the Python seeders on top. A failure leaves none and its error is
    returned."""
    name = target.template(SEEDED)
    target.create(admin, name, target.template(MIGRATED))
    try:
        with psycopg.connect(target.conninfo(name), autocommit=True) as conn:
            for path in seeding.sql_files:
                run_file(conn, path)
            create_buckets(conn, list(seeding.buckets))
            seeding.apply(conn)
    except MigrationError as exc:
        target.drop(admin, name)
        return f"seed file {exc.located()}"
    except SeedError as exc:
        target.drop(admin, name)
        return str(exc)
    target.seal(admin, name, label)
    return None
