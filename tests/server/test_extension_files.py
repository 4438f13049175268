"""A private installation tree that adds a project's extension files to a server without touching it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from test_binaries import needs_debian_15

from phase3test.server.binaries import resolve
from phase3test.server.extension_files import with_extension_files


def _extension(
    folder: Path, body: str = "create function hello() returns text language sql as $$ select 'hi' $$;"
) -> list[Path]:
    folder.mkdir(exist_ok=True)
    (folder / "hello.control").write_text("default_version = '1.0'\nrelocatable = true\n")
    (folder / "hello--1.0.sql").write_text(body + "\n")
    return sorted(folder.iterdir())


def test_without_files_the_server_is_used_as_it_is(tmp_path):
    binaries = resolve(None, None).binaries
    assert with_extension_files(binaries, [], tmp_path) is binaries


@needs_debian_15
def test_the_private_tree_shows_the_files_where_its_server_looks_and_the_system_is_untouched(tmp_path):
    binaries = resolve(None, 15).binaries
    private = with_extension_files(binaries, _extension(tmp_path / "files"), tmp_path / "cache")
    sharedir = Path(
        subprocess.run([str(private.tool("pg_config")), "--sharedir"], capture_output=True, text=True, check=True,
                       timeout=30).stdout.strip()
    )  # fmt: skip
    assert sharedir.is_relative_to(tmp_path / "cache")
    assert (sharedir / "extension" / "hello--1.0.sql").read_text().startswith("create function hello()")
    assert (sharedir / "extension" / "plpgsql.control").is_file()
    assert private.extensions() is not None and "hello" in private.extensions()
    assert binaries.extensions() is not None and "hello" not in binaries.extensions()


@needs_debian_15
def test_the_tree_is_built_once_per_file_contents(tmp_path):
    binaries = resolve(None, 15).binaries
    first = with_extension_files(binaries, _extension(tmp_path / "files"), tmp_path / "cache")
    again = with_extension_files(binaries, _extension(tmp_path / "files"), tmp_path / "cache")
    edited = with_extension_files(binaries, _extension(tmp_path / "files", "select 1;"), tmp_path / "cache")
    assert first.bindir == again.bindir != edited.bindir
