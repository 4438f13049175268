"""The chain builds: the server starts, every migration applies in order on Supabase's bootstrap, the seed data
loads.

Every other suite starts from what these build, so these are where a broken
chain is reported: once, with the file, line, column, statement and SQLSTATE
of the migration that failed (or the seeder's error). Each test that needed
the migrated or seeded database is then reported as not run because of it,
instead of failing a hundred times with the same message. Checks that read
the files alone (the static suite) still run.
"""

from __future__ import annotations

import pytest

from phase3test.fixtures import MIGRATIONS, SEEDING, SERVER
from phase3test.provisioning.provisioned import Provisioned


@pytest.mark.cause(SERVER, MIGRATIONS)
def test_every_migration_applies_in_order(pg_provisioned: Provisioned) -> None:
    error = pg_provisioned.migration_error
    assert error is None, f"the migrations do not apply:\n{error}"  # check: migrations.apply


@pytest.mark.cause(SEEDING)
def test_the_seed_data_loads(pg_provisioned: Provisioned, migrated_template: str) -> None:
    if not pg_provisioned.seeded and pg_provisioned.seed_error is None:
        pytest.skip("no seed data: no supabase/seed.sql, no buckets in config.toml, no phase3test_seeders")
    error = pg_provisioned.seed_error
    assert error is None, f"the seed data does not load:\n{error}"  # check: seeding.loads
