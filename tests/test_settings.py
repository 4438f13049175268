"""Every setting is resolved in one place: the same value, from the same source, through pytest and through
every `phase3test` command; precedence, paths, renamed names and bad values behave as documented."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from limits import SUBPROCESS_TIMEOUT

from phase3test.settings import BY_NAME, COMMAND_SETTINGS, ENV, FILE, FLAG, SETTINGS

pytestmark = pytest.mark.slow

PACKAGE_DOC = Path(__file__).resolve().parents[1] / "docs" / "package.md"

# A test that prints what the plugin resolved for the run (pg_settings needs no server).
DUMP_TEST = """
import json

def test_dump(pg_settings):
    print("SETTINGS=" + json.dumps(pg_settings.to_json()))
"""
# Each command's own parser and settings path, run in one process per command.
COMMAND_DUMP = """
import json, sys
from phase3test import cli, gate, settings
args = cli._parser().parse_args(sys.argv[1:])
resolved = settings.load(cli._flags(args)) if args.command == "check" else cli.settings_for(args)
print("SETTINGS=" + json.dumps(resolved.to_json()))
"""
MODE = {"matrix": ["--infer"], "report": ["merge", "shard.json"]}  # a command's required arguments, besides settings
# Distinct values per source; each parses as its setting's type.
FILE_VALUES = {
    "supabase_dir": "project/supabase", "backend": "embedded", "bindir": "pg/bin", "user": "file-user",
    "keep": "true", "default_grants": "none", "legacy_grants_until": "20240101000000",
    "home": "file-home", "pool": "3", "seeders": "file_seeders", "seed": "11",
    "seed_scale": "medium",
    "rls_matrix": "matrix/file.yaml", "base_ref": "origin/file", "adopted_at": "20240101000000",
    "suites": "idempotency=all", "max_lock_ms": "250", "profile_rows": "200000",
    "production_rows": "public.gadgets=5000000", "profile_accepted": "file-accepted.yaml",
    "refresh_functions": "private.refresh_all(); private.refresh_one('x')", "require_rows": "true",
    "expected_skips": "file-skips.yaml",
    "advisors_accepted": "file-advisors.yaml",
    "report_dir": "file-reports",
    "access_report": "file-grid.md", "baseline": "file-baseline.json", "api_url": "http://file.test",
    "shard_durations": "file-durations.json",
}  # fmt: skip
ENV_VALUES = {
    "seed": "22", "seed_scale": "3", "user": "env-user", "api_url": "http://env.test", "api_jwt_secret": "env-secret",
    "supabase_cli": "env/supabase",
}  # fmt: skip
FLAG_VALUES = {
    "supabase_dir": "flag/supabase", "backend": "external", "db_url": "postgresql://u:pw@127.0.0.1:1/postgres",
    "bindir": "flag/bin", "user": "flag-user", "keep": True, "default_grants": "legacy",
    "legacy_grants_until": "20250101000000", "home": "flag-home", "pool": "0",
    "seeders": "flag_seeders",
    "seed": "33", "seed_scale": "large", "rls_matrix": "flag.yaml", "base_ref": "origin/flag",
    "adopted_at": "20250101000000", "suites": "rollbacks=off", "max_lock_ms": "500", "profile_rows": "300000",
    "production_rows": "4000000", "profile_accepted": "flag-accepted.yaml",
    "rls_cost_rows": "30000", "rls_cost_max_ratio": "4.5", "rls_cost_min_ms": "0.5",
    "refresh_functions": "public.refresh()", "require_rows": True,
    "expected_skips": "flag-skips.yaml", "advisors_accepted": "flag-advisors.yaml",
    "report_dir": "flag-reports", "access_report": "flag-grid.md", "baseline": "flag-baseline.json",
    "shard": "1/2", "shard_durations": "flag-durations.json",  # the dump test is shard 1's
    "api_url": "http://flag.test", "api_jwt_secret": "flag-secret", "api_db_url": "postgresql://a:b@127.0.0.1:2/api",
}  # fmt: skip


def _ini(values: dict[str, str]) -> str:
    return "[pytest]\n" + "".join(f"phase3test_{name} = {value}\n" for name, value in values.items())


def _flags(names: tuple[str, ...]) -> list[str]:
    flags = []
    for name in names:
        setting = next(s for s in SETTINGS if s.name == name)
        value = FLAG_VALUES[name]
        flags.append(setting.option if value is True else f"{setting.option}={value}")
    return flags


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHASE3TEST_")}
    env.update({f"PHASE3TEST_{name.upper()}": value for name, value in ENV_VALUES.items()})
    return env | (extra or {})


def _settings_line(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    for line in result.stdout.splitlines():
        if line.startswith("SETTINGS="):
            return dict(json.loads(line.removeprefix("SETTINGS=")))
    raise AssertionError(f"no settings printed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")


def through_pytest(
    folder: Path, flags: list[str], env: dict[str, str], paths: tuple[str, ...] = ("test_dump.py",)
) -> dict[str, Any]:
    (folder / "test_dump.py").write_text(DUMP_TEST)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-s", *flags, *paths]
    result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT)
    return _settings_line(result)


def through_command(folder: Path, argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    command = [sys.executable, "-c", COMMAND_DUMP, *argv]
    result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT)
    return _settings_line(result)


def phase3test_settings(folder: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "phase3test.cli", "settings", *args]
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT)


@pytest.fixture
def configured(tmp_path: Path) -> Path:
    """A project whose pytest.ini sets every setting a file may hold (the baselines it names exist)."""
    (tmp_path / "pytest.ini").write_text(_ini(FILE_VALUES))
    shard_durations = (FILE_VALUES["shard_durations"], FLAG_VALUES["shard_durations"])
    for baseline in (FILE_VALUES["baseline"], FLAG_VALUES["baseline"], *shard_durations):
        (tmp_path / baseline).write_text('{"format": 1}')
    for skips in (FILE_VALUES["expected_skips"], FLAG_VALUES["expected_skips"]):
        (tmp_path / skips).write_text("[]\n")
    return tmp_path


@pytest.mark.parametrize("command", sorted(COMMAND_SETTINGS))
def test_each_command_resolves_every_setting_as_pytest_does(configured: Path, command: str) -> None:
    names = COMMAND_SETTINGS[command]
    flags = _flags(tuple(name for name in names if FLAG in BY_NAME[name].sources))
    expected = through_pytest(configured, flags, _env())
    got = through_command(configured, [command, *MODE.get(command, []), *flags], _env())
    assert {name: got[name] for name in names} == {name: expected[name] for name in names}
    for name in (name for name in names if FLAG in BY_NAME[name].sources):  # its own flags win
        assert got[name]["from"].startswith(FLAG), (name, got[name])
    unused = [name for name in got if name not in names and got[name]["from"] != "default"]
    assert unused == [], "a command reads only the settings it uses"


def test_precedence_is_flag_then_environment_then_file_then_default(configured: Path) -> None:
    got = json.loads(phase3test_settings(configured, "--json", "--pg-seed=44", env=_env()).stdout)
    assert got["seed"] == {"value": "44", "from": f"{FLAG} (--pg-seed)"}
    assert got["seed_scale"] == {"value": "3", "from": f"{ENV} (PHASE3TEST_SEED_SCALE)"}
    assert got["seeders"] == {"value": "file_seeders", "from": "pytest.ini (phase3test_seeders)"}
    assert got["api_db_url"] == {"value": "", "from": "default"}
    assert got["api_jwt_secret"] == {"value": "(set)", "from": f"{ENV} (PHASE3TEST_API_JWT_SECRET)"}


def test_paths_in_the_file_are_relative_to_it_wherever_the_command_runs(configured: Path) -> None:
    below = configured / "some" / "folder"
    below.mkdir(parents=True)
    from_root = json.loads(phase3test_settings(configured, "--json", env=_env()).stdout)
    from_below = json.loads(phase3test_settings(below, "--json", env=_env()).stdout)
    from_file = {name: entry for name, entry in from_root.items() if entry["from"].startswith("pytest.ini")}
    assert from_file and {name: from_below[name] for name in from_file} == from_file
    assert from_root["supabase_dir"]["value"] == str(configured / "project" / "supabase")
    assert from_root["rls_matrix"]["value"] == str(configured / "matrix" / "file.yaml")
    flagged = json.loads(phase3test_settings(below, "--json", "--supabase-dir=here", env=_env()).stdout)
    assert flagged["supabase_dir"]["value"] == str(below / "here"), "a flag's path is relative to where it runs"


def test_the_spelling_of_an_option_does_not_move_any_path(tmp_path: Path) -> None:
    """With no configuration file pytest's rootdir follows `--opt value` (not `--opt=value`); no setting does."""
    (tmp_path / "elsewhere" / "supabase").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHASE3TEST_")}
    joined = through_pytest(tmp_path, ["--supabase-dir=elsewhere/supabase"], env, paths=())
    spaced = through_pytest(tmp_path, ["--supabase-dir", "elsewhere/supabase"], env, paths=())
    assert spaced == joined
    assert joined["rls_matrix"]["value"] == str(tmp_path / "fixtures" / "rls_matrix.yaml")


def test_native_toml_types_are_read_from_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.pytest]\nphase3test_seed = 5\nphase3test_keep = true\n")
    got = json.loads(phase3test_settings(tmp_path, "--json", env=_env({"PHASE3TEST_SEED": ""})).stdout)
    assert got["seed"] == {"value": "5", "from": "pyproject.toml (phase3test_seed)"}
    assert got["keep"] == {"value": "True", "from": "pyproject.toml (phase3test_keep)"}


def test_renamed_names_still_work_and_say_their_new_name(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\nphase3test_keep_server = yes\nphase3test_pg_bindir = old/bin\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHASE3TEST_")} | {"PHASE3TEST_PG_USER": "old"}
    result = phase3test_settings(tmp_path, "--json", env=env)
    got = json.loads(result.stdout)
    assert (got["keep"]["value"], got["bindir"]["value"], got["user"]["value"]) == (
        "True",
        str(tmp_path / "old/bin"),
        "old",
    )
    for old, new in [("phase3test_keep_server", "phase3test_keep"), ("PHASE3TEST_PG_USER", "PHASE3TEST_USER")]:
        assert f"{old} is renamed {new}" in result.stderr
    (tmp_path / "test_dump.py").write_text(DUMP_TEST)
    pytest_run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "test_dump.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT,
    )  # fmt: skip
    assert "PytestDeprecationWarning: phase3test_pg_bindir is renamed phase3test_bindir" in pytest_run.stdout


@pytest.mark.parametrize(
    ("ini", "message"),
    [
        ("phase3test_seed = abc", "seed from pytest.ini (phase3test_seed)"),
        ("phase3test_seed_scale = huge", "seed_scale from pytest.ini (phase3test_seed_scale): unknown scale 'huge'"),
        ("phase3test_backend = cloud", "backend from pytest.ini (phase3test_backend): 'cloud' is not one of"),
        ("phase3test_keep = maybe", "keep from pytest.ini (phase3test_keep)"),
        ("phase3test_pool = -1", "pool from pytest.ini (phase3test_pool): '-1' is not a number of clones"),
    ],
)
def test_a_bad_value_is_a_setup_error_naming_where_it_was_given(tmp_path: Path, ini: str, message: str) -> None:
    (tmp_path / "pytest.ini").write_text(f"[pytest]\n{ini}\n")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PHASE3TEST_")}
    result = phase3test_settings(tmp_path, env=clean)
    assert result.returncode == 2 and message in result.stderr
    (tmp_path / "test_dump.py").write_text(DUMP_TEST)
    pytest_run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "test_dump.py"],
        cwd=tmp_path, env=clean, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT,
    )  # fmt: skip
    assert pytest_run.returncode == pytest.ExitCode.USAGE_ERROR and message in pytest_run.stderr


def test_a_secret_in_the_configuration_file_is_not_read(tmp_path: Path) -> None:
    """A URL with a password, or a JWT secret, does not belong in a committed file: only flags and env."""
    (tmp_path / "pytest.ini").write_text("[pytest]\nphase3test_api_jwt_secret = committed\n")
    got = json.loads(phase3test_settings(tmp_path, "--json", env=_env({"PHASE3TEST_API_JWT_SECRET": ""})).stdout)
    assert got["api_jwt_secret"] == {"value": "", "from": "default"}


def test_the_database_url_in_the_environment_is_read_for_the_external_backend_only(tmp_path: Path) -> None:
    url = "postgresql://u:s3cret@127.0.0.1:1/postgres"
    env = _env({"PHASE3TEST_DB_URL": url})
    embedded = json.loads(phase3test_settings(tmp_path, "--json", env=env).stdout)
    external = json.loads(phase3test_settings(tmp_path, "--json", "--pg-backend=external", env=env).stdout)
    assert embedded["db_url"]["value"] == ""
    assert external["db_url"]["from"] == f"{ENV} (PHASE3TEST_DB_URL)" and "s3cret" not in external["db_url"]["value"]


def test_the_package_page_lists_every_setting_with_its_names() -> None:
    rows = {line.split("|")[1].strip(): line for line in PACKAGE_DOC.read_text().splitlines() if line.startswith("| ")}
    for setting in SETTINGS:
        row = rows.get(setting.name)
        assert row is not None, f"the settings table of docs/package.md lacks {setting.name}"
        for name, source in ((setting.option, FLAG), (setting.env, ENV), (setting.ini, FILE)):
            assert (f"`{name}`" in row) == (source in setting.sources), (setting.name, name)


def test_a_command_imports_the_seeders_named_in_the_file_from_pytests_pythonpath(tmp_path: Path) -> None:
    """`phase3test seed` and `up` honour `pythonpath` and `phase3test_seeders` as pytest does."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "my_seeders.py").write_text(
        "from phase3test.seeding import Batch, Seeder\n\n"
        "class Things(Seeder):\n    name = 'things'\n    tables = ('public.things',)\n\n"
        "    def generate(self, ctx):\n        yield Batch('public.things', ('id',), [(n,) for n in range(3)])\n\n"
        "SEEDERS = [Things()]\n"
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\npythonpath = lib\nphase3test_seeders = my_seeders\n")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PHASE3TEST_")}
    command = [sys.executable, "-m", "phase3test.cli", "seed", "--emit-sql", "seed.sql"]
    result = subprocess.run(
        command, cwd=tmp_path, env=clean, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT
    )
    assert result.returncode == 0, result.stderr
    assert 'insert into "public"."things"' in (tmp_path / "seed.sql").read_text()


def test_pytest_verbose_header_shows_each_setting_that_is_not_a_default(configured: Path) -> None:
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", "--co", "--pg-seed=44"]
    result = subprocess.run(
        command, cwd=configured, env=_env(), capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT
    )
    assert "phase3test:   seed = 44 (command line (--pg-seed))" in result.stdout
    assert "phase3test:   seeders = file_seeders (pytest.ini (phase3test_seeders))" in result.stdout
    assert "api_jwt_secret = (set) (environment (PHASE3TEST_API_JWT_SECRET))" in result.stdout, "a secret is not shown"
    assert "api_db_url" not in result.stdout, "a default is not listed"


def test_a_command_is_not_refused_for_a_setting_it_does_not_use(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\nphase3test_seed = abc\n")
    env = _env({"PHASE3TEST_BACKEND": "external", "PHASE3TEST_HOME": str(tmp_path / "home")})
    command = [sys.executable, "-m", "phase3test.cli", "down"]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert "no server to stop" in result.stdout


def test_the_keep_setting_of_pytest_runs_leaves_no_command_server_behind(project: Path, home: Path, leftovers):
    env = {**os.environ, "PHASE3TEST_KEEP": "1", "PHASE3TEST_HOME": str(home)}
    command = [sys.executable, "-m", "phase3test.cli", "snapshot", "--out", "snap.json"]
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert leftovers(home) == []


def test_options_a_conftest_defines_in_addopts_are_known_to_the_commands(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        "def pytest_addoption(parser):\n    parser.addoption('--run-slow', action='store_true')\n"
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = --run-slow\nphase3test_seed = 8\n")
    result = phase3test_settings(tmp_path, "--json", env=_env({"PHASE3TEST_SEED": ""}))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["seed"]["value"] == "8"


def test_a_secret_flag_stays_out_of_what_pytest_prints_on_a_usage_error(tmp_path: Path) -> None:
    env = _env({"PYTEST_ADDOPTS": "-p no:phase3test"})
    url = "postgresql://u:s3cretpw@127.0.0.1:1/db"
    result = phase3test_settings(tmp_path, "--pg-backend=external", f"--pg-db-url={url}", env=env)
    assert result.returncode == 2
    assert "unrecognized arguments" in result.stderr and "s3cretpw" not in result.stderr + result.stdout


def test_phase3test_toml_comes_between_the_environment_and_the_pytest_file(configured: Path) -> None:
    """A repository without Python keeps its settings in phase3test.toml, found from any folder below it;
    its paths are relative to it, and a [suites] table sets the suites' scopes."""
    (configured / "phase3test.toml").write_text(
        'seeders = "toml_seeders"\nseed = 9\nrls_matrix = "access/matrix.yaml"\n'
        '[suites]\nidempotency = "all"\nrollbacks = "off"\n'
    )
    below = configured / "apps" / "web"
    below.mkdir(parents=True)
    got = json.loads(phase3test_settings(below, "--json", env=_env({"PHASE3TEST_SEED": ""})).stdout)
    toml = f"phase3test.toml ({configured / 'phase3test.toml'})"
    assert got["seeders"] == {"value": "toml_seeders", "from": toml}
    assert got["seed"] == {"value": "9", "from": toml}
    assert got["rls_matrix"]["value"] == str(configured / "access" / "matrix.yaml")
    assert got["suites"] == {"value": "idempotency=all rollbacks=off", "from": toml}
    assert got["seed_scale"]["from"].startswith(ENV), "the environment still wins"
    assert got["report_dir"]["from"] == "pytest.ini (phase3test_report_dir)", "what the toml leaves, pytest.ini sets"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('seed = 1\nbogus = "x"\n', "phase3test.toml:2:1: 'bogus' is no setting"),
        ('seed = 1\n  default_grants = "some"\n', "phase3test.toml:2:3: default_grants from phase3test.toml"),
        ('[suites]\nidempotency = "sometimes"\n', "phase3test.toml:1:2: suites from phase3test.toml"),
        ("seed = 1\nseeders = \n", "phase3test.toml:2:11: not valid TOML"),
        ('api_jwt_secret = "x"\n', "phase3test.toml:1:1: api_jwt_secret is never read from a file"),
    ],
)
def test_a_mistake_in_phase3test_toml_names_its_line_and_column(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "phase3test.toml").write_text(text)
    result = phase3test_settings(tmp_path, env=_env())
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_a_typo_in_phase3test_toml_does_not_stop_down_but_a_secret_there_does(tmp_path: Path) -> None:
    """`down` reads only `home`: a key it would never read is no reason to leave servers running. A secret in
    the committed file is refused whatever the command."""
    (tmp_path / "phase3test.toml").write_text('bogus = "x"\n')
    home = tmp_path / "home"
    home.mkdir()
    down = [sys.executable, "-m", "phase3test.cli", "down"]
    env = _env({"PHASE3TEST_HOME": str(home)})
    stopped = subprocess.run(down, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT)
    assert stopped.returncode == 0 and "no server to stop" in stopped.stdout, stopped.stderr
    (tmp_path / "phase3test.toml").write_text('api_jwt_secret = "x"\n')
    refused = subprocess.run(down, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT)
    assert refused.returncode == 2 and "api_jwt_secret is never read from a file" in refused.stderr


def test_the_supabase_folder_is_found_from_any_folder_below_as_the_cli_finds_it(tmp_path: Path) -> None:
    (tmp_path / "supabase").mkdir()
    (tmp_path / "supabase" / "config.toml").write_text('project_id = "x"\n')
    below = tmp_path / "src" / "components"
    below.mkdir(parents=True)
    got = json.loads(phase3test_settings(below, "--json", env=_env()).stdout)
    assert got["supabase_dir"] == {"value": str(tmp_path / "supabase"), "from": "default"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("idempotency=sometimes", "the mode is new, all or off"),
        ("security=new", "security checks the whole schema, so all or off"),
        ("flaky=off", "'flaky' is no suite"),
    ],
)
def test_a_suite_mode_that_cannot_be_is_refused(tmp_path: Path, value: str, message: str) -> None:
    result = phase3test_settings(tmp_path, f"--pg-suites={value}", env=_env())
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_in_a_github_pull_request_the_base_ref_defaults_to_its_base_branch(tmp_path: Path) -> None:
    got = json.loads(phase3test_settings(tmp_path, "--json", env=_env({"GITHUB_BASE_REF": "develop"})).stdout)
    assert got["base_ref"] == {"value": "origin/develop", "from": f"{ENV} (GITHUB_BASE_REF)"}
    (tmp_path / "pytest.ini").write_text("[pytest]\nphase3test_base_ref = origin/release\n")
    configured = json.loads(phase3test_settings(tmp_path, "--json", env=_env({"GITHUB_BASE_REF": "develop"})).stdout)
    assert configured["base_ref"]["value"] == "origin/release", "a configured base ref wins"
