"""The lock profile of each migration the suite checks (setting `suites`: profile=new by default, the files a
pull request adds): what applying it does to a database at production's size, measured.

Per file, as `phase3test profile` does it (profiling/run.py): a clone of the seeded head rolled back to just
before it, the tables it touches grown to `profile_rows`, the file applied and measured at half and at all of
them, then again under readers and writers; the figures carried to `production_rows`. It fails on every
finding of profiling/rules.py the project has not accepted (`profile_accepted`) and on an acceptance of this
file that finds nothing any more. The profile, with what squawk says of the same statements, goes to the
report (timeline per table in report.html).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from phase3test.errors import Phase3TestError
from phase3test.fixtures import PROFILE_ACCEPTED, ChainBroken, ServerInfo
from phase3test.migrations.discovery import Migration
from phase3test.migrations.static import find_squawk, squawk_notes
from phase3test.profiling.accepted import Accepted, judge, load_accepted
from phase3test.profiling.beside_squawk import compare
from phase3test.profiling.rules import findings
from phase3test.profiling.run import profile_each, render
from phase3test.profiling.serialize import profile_to_json
from phase3test.report.regression import CONDITIONS, PROFILE
from phase3test.settings import Settings


@pytest.fixture(scope="session")
def accepted_findings(pg_settings: Settings) -> list[Accepted]:
    """The project's accepted findings; a file that does not load is a setup error (exit 2), reported once."""
    if pg_settings.profile_accepted is None:
        return []
    try:
        return load_accepted(pg_settings.profile_accepted)
    except Phase3TestError as exc:
        raise ChainBroken(PROFILE_ACCEPTED, str(exc), f"{pg_settings.profile_accepted.name} does not load") from None


@pytest.mark.cause(PROFILE_ACCEPTED)
def test_the_accepted_profile_findings_load(request: pytest.FixtureRequest) -> None:
    """Every entry names a migration, a known rule and a reason: else this fails, once, naming each problem, and
    the profiles the list decides are not run."""
    request.getfixturevalue("accepted_findings")


def test_the_migration_keeps_the_api_waiting_no_longer_than_the_budget(
    migration: Migration,
    migration_chain: list[Migration],
    data_template: str,
    pg_server: ServerInfo,
    pg_settings: Settings,
    accepted_findings: list[Accepted],
    record_property: Callable[[str, object], None],
) -> None:
    project = pg_settings.project
    (measured,) = profile_each(
        pg_server.target,
        data_template,
        migration_chain,
        [migration],
        project,
        pg_settings.profile_rows,
        pg_settings.production_rows,
    )
    found = findings(measured, pg_settings.max_lock_ms)
    verdict = judge(found, accepted_findings, {measured.migration})
    squawk_bin = find_squawk()
    beside = compare(measured, squawk_notes(squawk_bin, migration, project.root.parent), found) if squawk_bin else None
    record_property(PROFILE, profile_to_json(measured, verdict, beside))
    empty = [growth.table for growth in measured.growth if growth.after == 0]
    if empty:
        record_property(CONDITIONS, f"measured on empty tables ({', '.join(empty)}): no rows to grow them from")
    problems = [
        f"{pg_settings.profile_accepted} accepts {entry}, which the profile no longer finds: remove it"
        for entry in verdict.stale
    ]
    problems += [str(finding) for finding in verdict.failing]  # check: profile.gate
    assert not problems, (
        f"{migration.path.name} keeps production waiting (accept a finding with its reason in profile_accepted):\n  "
        + "\n  ".join(problems)
        + "\n\n"
        + render([measured])
    )
