"""What the project's config.toml asks for, read as the Supabase CLI reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from phase3test.errors import SetupError
from phase3test.project import StorageBucket, SupabaseProject


def _project(tmp_path: Path, config: str) -> SupabaseProject:
    (tmp_path / "config.toml").write_text(config)
    return SupabaseProject(tmp_path)


def test_buckets_declared_in_config_toml_are_read_with_their_options(tmp_path):
    project = _project(
        tmp_path,
        '[storage.buckets.avatars]\npublic = true\nfile_size_limit = "50MiB"\n'
        'allowed_mime_types = ["image/png", "image/jpeg"]\nobjects_path = "./avatars"\n\n'
        "[storage.buckets.invoices]\nfile_size_limit = 1024\n",
    )
    assert project.storage_buckets() == [
        StorageBucket("avatars", True, 50 * 1024**2, ("image/png", "image/jpeg")),
        StorageBucket("invoices", False, 1024, None),
    ]


@pytest.mark.parametrize(
    ("size", "expected"), [('"1GB"', 1024**3), ('"512KiB"', 512 * 1024), ('"10 mb"', 10 * 1024**2)]
)
def test_sizes_read_as_the_cli_reads_them(tmp_path, size, expected):
    project = _project(tmp_path, f"[storage.buckets.media]\nfile_size_limit = {size}\n")
    assert project.storage_buckets()[0].file_size_limit == expected


def test_a_size_that_is_not_one_names_the_bucket_and_the_value(tmp_path):
    project = _project(tmp_path, '[storage.buckets.media]\nfile_size_limit = "huge"\n')
    with pytest.raises(SetupError, match=r"\[storage.buckets.media\]: file_size_limit 'huge' is not a size"):
        project.storage_buckets()


def test_a_project_without_buckets_declares_none(tmp_path):
    assert _project(tmp_path, "[db]\nmajor_version = 15\n").storage_buckets() == []


def test_seed_sql_is_the_default_seed_file_and_its_absence_is_no_warning(tmp_path):
    project = _project(tmp_path, "[db]\nmajor_version = 15\n")
    assert project.seed_files() == ([], [])
    (tmp_path / "seed.sql").write_text("select 1;\n")
    assert project.seed_files() == ([tmp_path / "seed.sql"], [])


def test_sql_paths_globs_load_in_name_order_each_file_once_and_warn_on_no_match(tmp_path):
    (tmp_path / "seeds").mkdir()
    for name in ("20_rooms.sql", "10_users.sql", "notes.txt"):
        (tmp_path / "seeds" / name).write_text("select 1;\n")
    project = _project(
        tmp_path, '[db.seed]\nsql_paths = ["./seeds/10_users.sql", "./seeds/*.sql", "./missing/*.sql"]\n'
    )
    files, warnings = project.seed_files()
    assert files == [tmp_path / "seeds/10_users.sql", tmp_path / "seeds/20_rooms.sql"]
    assert warnings == [f"[db.seed] sql_paths: ./missing/*.sql matches no file in {tmp_path}"]


def test_seeding_switched_off_loads_no_file(tmp_path):
    (tmp_path / "seed.sql").write_text("select 1;\n")
    assert _project(tmp_path, "[db.seed]\nenabled = false\n").seed_files() == ([], [])
