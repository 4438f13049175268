"""Every setting of phase3test, and the one place where its value is decided.

A value comes from, first to last: the command line (`--pg-<name>`, the same
flag for pytest and for every `phase3test` command), the environment
(`PHASE3TEST_<NAME>`), `phase3test.toml` (the nearest one up from where the
command runs: `<name> = value`, what a repository without Python keeps, and
what `phase3test init` writes), the project's pytest configuration file
(`phase3test_<name>` in pytest.toml, pytest.ini, pyproject.toml, tox.ini or
setup.cfg, found as pytest finds it), then the default. Paths given on the
command line or in the environment are relative to where the command runs;
paths in a file, and defaults, to the file's folder (where the command runs
when there is none), so neither pytest's rootdir nor whether an option is
written `--opt=value` or `--opt value` moves them.

Outside pytest (the `phase3test` commands) pytest's own parser reads the
configuration (`load`): a command sees exactly what a pytest run in the same
folder sees, `addopts` and `pythonpath` included.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from phase3test.errors import Phase3TestError, SetupError
from phase3test.migrations.adoption import SuiteModes, parse_suite_modes, parse_version
from phase3test.profiling.scale import PROFILE_ROWS, RowCounts, parse_row_counts
from phase3test.project import SupabaseProject, find_supabase_dir
from phase3test.seeding.model import parse_scale, parse_seed
from phase3test.settings_file import SETTINGS_FILE, SettingsFile
from phase3test.sharding import Shard

BACKENDS = ("embedded", "external", "docker")
FLAG, ENV, FILE = "command line", "environment", "configuration"
DEFAULT = "default"
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


@dataclass(frozen=True)
class Setting:
    """One setting: its name and what it means; where it may come from follows from the name."""

    name: str
    help: str
    kind: type = str  # str, Path, bool or int: how the text of a value is read
    default: str | None = None
    choices: tuple[str, ...] = ()
    sources: tuple[str, ...] = (FLAG, ENV, FILE)
    secret: bool = False  # shown redacted; never read from a (committed) file
    renamed_from: tuple[str, ...] = ()  # earlier ini keys and environment names, still read, with a warning
    cli_aliases: tuple[str, ...] = ()  # shorter spellings `phase3test` commands accept too
    parse: Callable[[str], Any] | None = None  # text -> value, raising SetupError

    @property
    def option(self) -> str:
        return "--supabase-dir" if self.name == "supabase_dir" else "--pg-" + self.name.replace("_", "-")

    @property
    def dest(self) -> str:
        return self.option.lstrip("-").replace("-", "_")

    @property
    def ini(self) -> str:
        return f"phase3test_{self.name}"

    @property
    def env(self) -> str:
        return f"PHASE3TEST_{self.name.upper()}"

    @property
    def ini_type(self) -> str:
        return {bool: "bool", int: "int"}.get(self.kind, "string")


def _milliseconds(text: str) -> int:
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise SetupError(f"{text!r} is not a number of milliseconds (a positive integer)")


def _positive_number(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        number = 0.0
    if number > 0:
        return number
    raise SetupError(f"{text!r} is not a positive number")


def _pool_depth(text: str) -> int:
    if text.isdigit():
        return int(text)
    raise SetupError(f"{text!r} is not a number of clones", hint="0 turns the pool off: each test clones its own")


def _row_target(text: str) -> int:
    if text.isdigit():
        return int(text)
    raise SetupError(f"{text!r} is not a number of rows (0: as seeded)")


_CALL = re.compile(r'[A-Za-z_"][\w."$]*\s*\(.*\)', re.DOTALL)


def _sql_calls(text: str) -> tuple[str, ...]:
    """`"private.refresh_a(); private.refresh_b('x')"` as its calls; each must be a function call."""
    calls = tuple(call.strip() for call in text.split(";") if call.strip())
    wrong = [call for call in calls if not _CALL.fullmatch(call)]
    if wrong:
        raise SetupError(
            f"{', '.join(map(repr, wrong))} is not a function call",
            hint='e.g. "private.refresh_dashboard_views()"; separate several with ;',
        )
    return calls


SETTINGS: tuple[Setting, ...] = (
    Setting("supabase_dir", "the project's supabase/ folder", Path, default="supabase"),
    Setting(
        "backend",
        "where Postgres comes from: embedded (a server of the run's own), external (--pg-db-url) or docker "
        "(Supabase's image, via testcontainers)",
        default="embedded",
        choices=BACKENDS,
    ),
    Setting(
        "db_url",
        "the external backend's server: the run creates its own databases there and drops only those",
        sources=(FLAG, ENV),
        secret=True,
    ),
    Setting(
        "bindir",
        "the PostgreSQL bin folder to use (default: found automatically)",
        Path,
        renamed_from=("phase3test_pg_bindir", "PHASE3TEST_PG_BINDIR"),
    ),
    Setting(
        "user",
        "as root, the existing unprivileged user that runs Postgres (default nobody)",
        renamed_from=("phase3test_pg_user", "PHASE3TEST_PG_USER"),
    ),
    Setting(
        "keep",
        "leave the server running after the run, for debugging; `phase3test down` stops it",
        bool,
        renamed_from=("phase3test_keep_server",),
    ),
    Setting(
        "default_grants",
        "Supabase's default privileges on what postgres creates in public: none (Supabase since 2026-10-30, "
        "new projects since 2026-05-30: each table the API serves needs a grant) or legacy (before: all "
        "granted to anon, authenticated, service_role)",
        default="none",
        choices=("none", "legacy"),
    ),
    Setting(
        "legacy_grants_until",
        "the newest migration production applied while Supabase granted new public tables to the API roles "
        "(before 2026-10-30): files up to it replay under those defaults, later ones under default_grants",
        parse=parse_version,
    ),
    Setting("home", "where servers and the cache live (default /dev/shm, else the temp folder)", Path),
    Setting(
        "pool",
        "the most clones of one template the run's owner keeps made ahead (one, more for a template that ran out), "
        "so a test gets its database in a millisecond or two (0: each test clones and drops its own)",
        int,
        default="2",
        parse=_pool_depth,
    ),
    Setting("seeders", "the module whose SEEDERS list seeds the template", cli_aliases=("--seeders",)),
    Setting(
        "seed",
        "the seed of the seed data: the same seed gives the same rows",
        int,
        default="0",
        cli_aliases=("--seed",),
        parse=parse_seed,
    ),
    Setting(
        "seed_scale",
        "how much seed data: small, medium, large or a positive integer",
        default="small",
        cli_aliases=("--scale",),
        parse=parse_scale,
    ),
    Setting(
        "rls_matrix", "the access matrix: who may do what, per table and role", Path, default="fixtures/rls_matrix.yaml"
    ),
    Setting(
        "base_ref",
        "a git ref whose migrations production has applied (e.g. origin/main): files on it "
        "must stay as they are, new ones come after them",
    ),
    Setting(
        "adopted_at",
        "the last migration version before this project adopted the gate (`phase3test init` records it): "
        "files up to it are history, held to the whole-schema checks only",
        parse=parse_version,
    ),
    Setting(
        "suites",
        "per suite, which migrations it checks: new (those after the history), all, or off; e.g. "
        '"idempotency=all rollbacks=off" (default: the per-file suites new, the others all)',
        default="",
        parse=parse_suite_modes,
    ),
    Setting(
        "max_lock_ms",
        "the longest a migration may keep the API waiting, in ms: a lock that blocks writers (or readers), or rows "
        "it changed, held longer fails `phase3test profile`",
        int,
        default="1000",
        parse=_milliseconds,
    ),
    Setting(
        "profile_rows",
        "the rows `phase3test profile` grows the tables a migration touches to: a number for the largest (the "
        "others in proportion) and table=rows for tables set one by one",
        default=str(PROFILE_ROWS),
        cli_aliases=("--rows",),
        parse=parse_row_counts,
    ),
    Setting(
        "production_rows",
        "the rows the tables hold in production, to which the profile's figures are extrapolated: table=rows "
        "pairs and, for the others, a number for the largest (default: ten times the rows measured)",
        default="",
        parse=parse_row_counts,
    ),
    Setting(
        "profile_accepted",
        "findings of `phase3test profile` this project accepts, each with its migration, rule and reason (YAML)",
        Path,
    ),
    Setting(
        "rls_cost_rows",
        "the rows the rls_cost suite grows each table it measures to before timing reads (0: as seeded)",
        int,
        default="0",
        parse=_row_target,
    ),
    Setting(
        "rls_cost_max_ratio",
        "how many times slower than service_role a signed-in role's read of a table may be before the rls_cost "
        "suite flags it (a page of rows and a count, each timed by the server)",
        float,
        default="10",
        parse=_positive_number,
    ),
    Setting(
        "rls_cost_min_ms",
        "how many ms a flagged read must cost over service_role's: below it the ratio of two tiny figures is noise",
        float,
        default="2",
        parse=_positive_number,
    ),
    Setting(
        "refresh_functions",
        "the calls production runs to refresh the materialized views (e.g. private.refresh_dashboard_views(); "
        "several separated by ;): each is checked under readers, twice at once, and on changed data",
        default="",
        parse=_sql_calls,
    ),
    Setting(
        "require_rows",
        "an access cell whose table has no rows to act on fails (default: it is reported unchecked, "
        "listed and counted)",
        bool,
    ),
    Setting(
        "expected_skips",
        "the skips this project expects, each with its reason (YAML); any other skip fails its test",
        Path,
    ),
    Setting(
        "advisors_accepted",
        "lints of Supabase's advisors this project accepts, each on one object with its reason (YAML)",
        Path,
    ),
    Setting(
        "report_dir",
        "write the regression report (report.json, .md, .html, access-matrix.md) here",
        Path,
        cli_aliases=("--report-dir",),
    ),
    Setting("access_report", "write the access matrix with its results (a Markdown grid) to this file", Path),
    Setting(
        "shard",
        "run shard i of n of the tests (e.g. 2/3): the same split on every runner, balanced by shard_durations when "
        "given, by count otherwise; `phase3test report merge` makes one report of the shards'",
        sources=(FLAG, ENV),
        cli_aliases=("--shard",),
        parse=Shard.parse,
    ),
    Setting(
        "shard_durations",
        "an earlier run's report.json (a merged one will do): its tests' durations balance the shards",
        Path,
        cli_aliases=("--shard-durations",),
    ),
    Setting(
        "baseline",
        "an earlier run's report.json: the report then says what changed since",
        Path,
        cli_aliases=("--baseline",),
    ),
    Setting("api_url", "a running Supabase stack's project URL: the access matrix is also checked through its API"),
    Setting(
        "api_jwt_secret",
        "the stack's JWT secret, to act as any role or user",
        sources=(FLAG, ENV),
        secret=True,
        renamed_from=("PHASE3TEST_JWT_SECRET",),
    ),
    Setting(
        "api_db_url", "the stack's database (read only: seeded users, expected rows)", sources=(FLAG, ENV), secret=True
    ),
    Setting(
        "supabase_cli",
        "the Supabase CLI the tests run (default: the project's node_modules, then PATH)",
        Path,
        sources=(ENV,),
    ),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}

# Which settings each `phase3test` command takes (`check` hands them all to pytest).
# A command's server is gone when it ends: `keep` is a pytest run's (PHASE3TEST_KEEP must not leave `up` running).
_SERVER = (
    "supabase_dir",
    "backend",
    "db_url",
    "bindir",
    "user",
    "default_grants",
    "legacy_grants_until",
    "home",
    "seeders",
    "seed",
    "seed_scale",
)
COMMAND_SETTINGS: dict[str, tuple[str, ...]] = {
    "init": (*_SERVER, "rls_matrix"),
    "matrix": (*_SERVER, "rls_matrix"),
    "up": _SERVER,
    "docs": _SERVER,
    "snapshot": _SERVER,
    "seed": ("seeders", "seed", "seed_scale"),
    "down": ("home",),
    "profile": (
        *_SERVER,
        "adopted_at",
        "base_ref",
        "max_lock_ms",
        "profile_rows",
        "production_rows",
        "profile_accepted",
    ),
    "rls-cost": (*_SERVER, "rls_matrix", "rls_cost_rows", "rls_cost_max_ratio", "rls_cost_min_ms"),
    "report": ("report_dir", "baseline"),
    "check": tuple(s.name for s in SETTINGS),
    "settings": tuple(s.name for s in SETTINGS),
}


@dataclass(frozen=True)
class Settings:
    """Resolved settings; `origins` says where each value came from."""

    supabase_dir: Path
    backend: str = "embedded"
    db_url: str | None = field(default=None, repr=False)
    bindir: Path | None = None
    user: str | None = None
    keep: bool = False
    default_grants: str = "none"
    legacy_grants_until: str | None = None
    home: Path | None = None
    pool: int = 2
    seeders: str | None = None
    seed: int = 0
    seed_scale: int = 1
    rls_matrix: Path | None = None
    base_ref: str | None = None
    adopted_at: str | None = None
    suites: SuiteModes = field(default_factory=SuiteModes)
    max_lock_ms: int = 1000
    profile_rows: RowCounts = field(default_factory=lambda: RowCounts(PROFILE_ROWS))
    production_rows: RowCounts = field(default_factory=RowCounts)
    profile_accepted: Path | None = None
    rls_cost_rows: int = 0
    rls_cost_max_ratio: float = 10.0
    rls_cost_min_ms: float = 2.0
    refresh_functions: tuple[str, ...] = ()
    require_rows: bool = False
    expected_skips: Path | None = None
    advisors_accepted: Path | None = None
    report_dir: Path | None = None
    access_report: Path | None = None
    shard: Shard | None = None
    shard_durations: Path | None = None
    baseline: Path | None = None
    api_url: str | None = None
    api_jwt_secret: str | None = field(default=None, repr=False)
    api_db_url: str | None = field(default=None, repr=False)
    supabase_cli: Path | None = None
    pythonpath: tuple[Path, ...] = ()  # pytest's own `pythonpath`: where seeders modules are imported from
    origins: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    renamed: tuple[str, ...] = field(default=(), compare=False, repr=False)  # deprecated names in use

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise SetupError(f"unknown backend {self.backend!r}", hint=f"choose one of: {', '.join(BACKENDS)}")
        if self.backend == "external" and not self.db_url:
            raise SetupError(
                "the external backend needs the server's URL",
                hint="pass --pg-db-url postgresql://user:password@host:5432/postgres or set PHASE3TEST_DB_URL",
            )
        if self.backend != "external" and self.db_url:
            raise SetupError(
                f"a database URL was given but the backend is {self.backend}",
                hint="add --pg-backend external to run on that server (the embedded backend starts its own)",
            )

    @property
    def project(self) -> SupabaseProject:
        return SupabaseProject(self.supabase_dir)

    def shown(self) -> list[tuple[str, str, str]]:
        """(name, value, where from) per setting, secrets redacted: what `phase3test settings` prints."""
        rows = []
        for setting in SETTINGS:
            value = getattr(self, setting.name)
            if value is None or value == "" or value == ():
                text = ""
            elif isinstance(value, tuple):
                text = "; ".join(value)
            elif setting.secret:
                text = _hidden(value)
            else:
                text = str(value)
            rows.append((setting.name, text, self.origins.get(setting.name, DEFAULT)))
        return rows

    def to_json(self) -> dict[str, Any]:
        """Every value as JSON (paths as text, secrets redacted), with where it came from."""
        return {name: {"value": value, "from": origin} for name, value, origin in self.shown()}


def resolve(config: pytest.Config, only: Collection[str] | None = None) -> Settings:
    """The settings of a pytest run: its command line, the environment, phase3test.toml, its pytest
    configuration file, defaults. With `only`, the other settings keep their defaults unread (a command is
    not refused for a bad value of a setting it does not use)."""
    here = config.invocation_params.dir
    file = config.inipath
    own_file = SettingsFile.find(here)
    if own_file is not None:
        _check_keys(own_file, reads_all=only is None or set(BY_NAME) <= set(only))
    defaults_dir = file.parent if file else own_file.path.parent if own_file else here
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    renamed: list[str] = []
    for setting in SETTINGS:
        wanted = only is None or setting.name in only
        found = _lookup(setting, config, own_file, values.get("backend"), renamed) if wanted else None
        if found is None:
            raw, origin, base = setting.default, DEFAULT, defaults_dir
            if setting.name == "supabase_dir" and not (base / "supabase").is_dir():
                found_dir = find_supabase_dir(here)  # as the Supabase CLI finds it, from any subfolder
                raw = str(found_dir) if found_dir else raw
        else:
            raw, origin = found
            base = here if origin.startswith((FLAG, ENV)) else defaults_dir
            if origin.startswith(SETTINGS_FILE):
                base = own_file.path.parent  # type: ignore[union-attr]
        if origin.startswith(FILE):  # the file's name, or -o when an override set it without one
            origin = f"{file.name if file else '-o'} ({origin.removeprefix(FILE).strip()})"
        try:
            values[setting.name] = _convert(setting, raw, base, origin)
        except SetupError as exc:
            if own_file is None or not origin.startswith(SETTINGS_FILE):
                raise
            raise SetupError(f"{own_file.where(setting.name)}: {exc.message}", hint=exc.hint) from None
        origins[setting.name] = origin
    pythonpath = tuple(Path(p) for p in config.getini("pythonpath"))
    return Settings(**values, pythonpath=pythonpath, origins=origins, renamed=tuple(renamed))


def _check_keys(own_file: SettingsFile, reads_all: bool) -> None:
    """Every key of phase3test.toml is a setting a file may hold; the first that is not is named where it is.
    A key that is no setting stops what reads every setting (pytest, `check`, `settings`): a command that
    reads a few (`down` only `home`) is not stopped by a typo it would never read. A secret stops every
    command: it must leave the committed file whatever runs."""
    for key in own_file.values:
        setting = BY_NAME.get(key)
        if setting is None and not reads_all:
            continue
        if setting is None:
            raise SetupError(
                f"{own_file.where(key)}: {key!r} is no setting",
                hint="`phase3test settings` lists them (names without the phase3test_ prefix)",
            )
        if FILE not in setting.sources:
            raise SetupError(
                f"{own_file.where(key)}: {key} is never read from a file (a committed file is no place for it)",
                hint=f"set {setting.env} in the environment or pass {setting.option}",
            )


def _lookup(
    setting: Setting, config: pytest.Config, own_file: SettingsFile | None, backend: str | None, renamed: list[str]
) -> tuple[Any, str] | None:
    """(raw value, where from) by precedence, or None when nothing sets it."""
    if FLAG in setting.sources:
        given = config.getoption(setting.dest, None)
        if given is not None and given != "":
            return given, f"{FLAG} ({setting.option})"
    # PHASE3TEST_DB_URL is read for the external backend only: set for another tool, it must not turn
    # every run into a usage error.
    if ENV in setting.sources and (setting.name != "db_url" or backend == "external"):
        for name in (setting.env, *(n for n in setting.renamed_from if n.isupper())):
            if os.environ.get(name):
                _note_renamed(name, setting.env, renamed)
                return os.environ[name], f"{ENV} ({name})"
    if own_file is not None and setting.name in own_file.values:
        return own_file.values[setting.name], f"{SETTINGS_FILE} ({own_file.path})"
    if FILE in setting.sources:
        for key in (setting.ini, *(n for n in setting.renamed_from if n.islower())):
            try:
                value = config.getini(key)
            except (TypeError, ValueError, pytest.UsageError) as exc:  # a value of the wrong type
                where = config.inipath.name if config.inipath else "the configuration"
                raise SetupError(f"{setting.name} from {where} ({key}): {exc}") from None
            if value is not None and value != "":
                _note_renamed(key, setting.ini, renamed)
                return value, f"{FILE} {key}"
    if setting.name == "base_ref" and os.environ.get("GITHUB_BASE_REF"):
        # A pull request's CI on GitHub: its base branch is the history it must not rewrite.
        return f"origin/{os.environ['GITHUB_BASE_REF']}", f"{ENV} (GITHUB_BASE_REF)"
    return None


def _note_renamed(used: str, current: str, renamed: list[str]) -> None:
    if used != current:
        renamed.append(f"{used} is renamed {current}: the old name still works for now")


def _convert(setting: Setting, raw: Any, base: Path, origin: str) -> Any:
    """A raw value (text, or a typed one from pytest) as the setting's type; errors name where it came from."""
    if raw is None:
        return False if setting.kind is bool else None
    try:
        if setting.kind is bool:
            return raw if isinstance(raw, bool) else _boolean(str(raw))
        text = str(raw)
        if setting.choices and text not in setting.choices:
            raise SetupError(f"{text!r} is not one of {', '.join(setting.choices)}")
        if setting.parse is not None:
            return setting.parse(text)
        if setting.kind is Path:
            return Path(os.path.normpath(base / os.path.expanduser(text)))
        return text
    except SetupError as exc:
        raise SetupError(f"{setting.name} from {origin}: {exc.message}", hint=exc.hint) from None


def _boolean(text: str) -> bool:
    if text.strip().lower() in _TRUE:
        return True
    if text.strip().lower() in _FALSE:
        return False
    raise SetupError(f"{text!r} is not a yes or no", hint="use 1/0, true/false, yes/no or on/off")


def add_to_pytest(parser: pytest.Parser) -> None:
    """Every setting as a pytest option and ini key (renamed keys too, so pytest does not call them unknown)."""
    group = parser.getgroup("phase3test", "Supabase migrations on a throwaway Postgres (phase3test)")
    for setting in SETTINGS:
        where = [f"env: {setting.env}"] if ENV in setting.sources else []
        if FILE in setting.sources:
            where.append(f"ini: {setting.ini}")
            parser.addini(setting.ini, setting.help, type=setting.ini_type, default=None)  # type: ignore[arg-type]
            for old in (n for n in setting.renamed_from if n.islower()):
                parser.addini(old, f"renamed {setting.ini}", type=setting.ini_type, default=None)  # type: ignore[arg-type]
        if FLAG in setting.sources:
            extra: dict[str, Any] = {"action": "store_true", "default": None} if setting.kind is bool else {}
            if setting.choices:
                extra["choices"] = setting.choices
            group.addoption(setting.option, dest=setting.dest, help=f"{setting.help} [{', '.join(where)}]", **extra)


def flags_of(values: Mapping[str, Any]) -> list[str]:
    """Command-line flags that set these values (by setting name; None leaves a setting alone)."""
    flags = []
    for name, value in values.items():
        setting = BY_NAME[name]
        if value is None or value is False:
            continue
        flags.append(setting.option if setting.kind is bool else f"{setting.option}={value}")
    return flags


def plugin_args() -> list[str]:
    """What pytest needs on its command line to load this plugin and xdist when plugin autoloading is off."""
    return ["-p", "phase3test.plugin", "-p", "xdist"] if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD") else []


def load(flags: Sequence[str] = (), paths: Sequence[str] = (), only: Collection[str] | None = None) -> Settings:
    """The settings a pytest run in this folder with these flags (and test paths) would resolve, read by
    pytest's own parser (its initial conftest.py files included, which may define options `addopts` uses);
    the project's `pythonpath` is then importable, as it is under pytest (where its seeders module lives).
    With `only`, just those settings are read. What pytest prints meanwhile is shown with secrets redacted."""
    capture = _Capture(only)
    quiet = ["-p", "no:cacheprovider", "--capture=no"]  # nothing on disk, no file descriptors taken over
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        code = pytest.main([*quiet, *plugin_args(), *flags, *paths], plugins=[capture])
    if printed.getvalue():
        print(_redact_secrets(printed.getvalue(), flags), end="", file=sys.stderr)
    if capture.error is not None:
        raise capture.error
    if capture.settings is None:
        raise SetupError(
            f"pytest could not read this project's configuration (exit code {code}; its message is above)",
            hint="`pytest --collect-only` here shows the same problem",
        )
    sys.path[:0] = [str(path) for path in capture.settings.pythonpath if str(path) not in sys.path]
    return capture.settings


def _redact_secrets(text: str, flags: Sequence[str]) -> str:
    """`text` without the values of secret settings given as flags (pytest quotes its arguments on errors)."""
    for flag in flags:
        option, _, value = flag.partition("=")
        secret = next((s for s in SETTINGS if s.secret and s.option == option), None)
        if secret is not None and value:
            text = text.replace(value, _hidden(value))
    return text


def _hidden(secret: str) -> str:
    """How a secret value is shown: a database URL without its password, anything else as "(set)"."""
    from phase3test.server.target import redacted

    return redacted(secret) if secret.startswith("postgres") else "(set)"


class _Capture:
    """A pytest plugin that resolves the settings once the configuration is parsed, and ends the run there."""

    def __init__(self, only: Collection[str] | None) -> None:
        self.only = only
        self.settings: Settings | None = None
        self.error: Phase3TestError | None = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_cmdline_main(self, config: pytest.Config) -> int:
        try:
            self.settings = resolve(config, self.only)
        except Phase3TestError as exc:
            self.error = exc
        return 0


def from_environment(name: str) -> Any:
    """An environment-only setting (e.g. `supabase_cli`), for code that runs without a configuration."""
    setting = BY_NAME[name]
    raw = os.environ.get(setting.env)
    return _convert(setting, raw, Path.cwd(), f"{ENV} ({setting.env})") if raw else None
