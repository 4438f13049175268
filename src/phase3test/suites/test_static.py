"""Static checks: names, rollbacks, row-level security on new tables, squawk.

All but one read the files alone. Whether a migration enables RLS on the
tables it creates is read from the catalog instead (before and after the
file), because projects often enable it through a helper function or a `DO`
block that no parser can follow.
"""

from __future__ import annotations

import warnings

import pytest

from phase3test.fixtures import MigratedTo
from phase3test.inspection.catalog import snapshot
from phase3test.migrations.discovery import Migration, discover, rollback_for
from phase3test.migrations.runner import apply
from phase3test.migrations.static import find_squawk, naming_problems, squawk, unusual_names
from phase3test.project import SupabaseProject


class UnusualMigrationName(UserWarning):
    """A migration file name the CLI accepts but its own tools would not write."""


def test_file_names_follow_the_supabase_cli_rule(supabase_project: SupabaseProject) -> None:
    discovery = discover(supabase_project.migrations_dir)
    for note in unusual_names(discovery):
        warnings.warn(note, UnusualMigrationName, stacklevel=1)
    problems = naming_problems(discovery)
    assert not problems, "\n".join(problems)  # check: static.file_names


def test_has_a_rollback_or_declares_why_not(migration: Migration, supabase_project: SupabaseProject) -> None:
    rollback = rollback_for(migration, supabase_project.rollbacks_dir)
    assert not rollback.missing, (  # check: static.rollback_present
        f"{migration.path.name} has no rollback: add {rollback.expected_path} "
        "(or write `-- irreversible: <reason>` in it)"
    )
    refusal = rollback.refuses
    assert refusal is None or refusal.sqlstate is not None, (  # check: static.refusal_names_its_error
        f"{rollback.expected_path.name} declares `-- refuses: {refusal}` without the error it refuses with: "
        "write the SQLSTATE or condition name first (`-- refuses: object_in_use while ...`), so that no other "
        "failure of the rollback passes for the declared refusal"
    )


def test_new_tables_in_exposed_schemas_enable_row_level_security(
    migration: Migration,
    migration_chain: list[Migration],
    migrated_to: MigratedTo,
    supabase_project: SupabaseProject,
) -> None:
    exposed = supabase_project.api_schemas()
    conn = migrated_to(migration_chain.index(migration))
    before = snapshot(conn, exposed).objects["table"]
    apply(conn, migration)
    after = snapshot(conn, exposed).objects["table"]
    unprotected = [table for table in sorted(after.keys() - before.keys()) if not after[table]["rls_enabled"]]
    assert not unprotected, (  # check: static.rls_on_new_tables
        f"{migration.path.name} creates {', '.join(unprotected)} in an exposed schema ({', '.join(exposed)}) "
        "without enabling row level security in the same file: the API would serve every row"
    )


def test_squawk_is_clean(migration: Migration, supabase_project: SupabaseProject) -> None:
    squawk_bin = find_squawk()
    if squawk_bin is None:
        pytest.skip("squawk is not installed (pip install squawk-cli)")
    result = squawk(squawk_bin, migration, supabase_project.root.parent)
    assert result.clean, f"squawk flags {migration.path.name}:\n{result.report}"  # check: static.squawk
