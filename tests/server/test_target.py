"""Naming a run's databases on any server: URLs stay URLs, passwords stay out of what is shown."""

from __future__ import annotations

import pytest

from phase3test.server.process import ProcessId
from phase3test.server.target import Claim, Target, redacted, redacted_url, this_host


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://u:p%40w@db.example:6543/app?sslmode=require",
            "postgresql://u:p%40w@db.example:6543/p3t_x?sslmode=require",
        ),
        ("postgresql://h/postgres?dbname=postgres&sslmode=disable", "postgresql://h/p3t_x?sslmode=disable"),
        ("postgresql:///postgres?host=/var/run/postgresql", "postgresql:///p3t_x?host=%2Fvar%2Frun%2Fpostgresql"),
        ("host=h user=u dbname=app", "user=u dbname=p3t_x host=h"),
    ],
)
def test_another_database_on_the_same_server(url: str, expected: str) -> None:
    assert Target(url, "15.8").conninfo("p3t_x") == expected


def test_the_password_is_never_shown() -> None:
    url = "postgresql://ci:S3cret@db.example:5432/postgres"
    target = Target(url, "15.8", "p3t_abcd1234", Claim("abcd1234", this_host(), ProcessId.of_self()))
    assert "S3cret" not in repr(target) and "S3cret" not in redacted(url) and "S3cret" not in redacted_url(url)
    assert redacted(url) == "ci@db.example:5432/postgres"
    assert redacted_url(url) == "postgresql://ci@db.example:5432/postgres"


def test_a_claim_reads_back_and_nothing_else_passes_for_one() -> None:
    claim = Claim("abcd1234ef56", this_host(), ProcessId.of_self(), keep=True)
    assert Claim.parse(claim.text()) == claim
    assert not claim.finished(), "its owner (this process) is alive"
    for comment in (None, "", "customer data, do not drop", "phase3test run {not json", 'phase3test run {"run": 1}'):
        assert Claim.parse(comment) is None
