"""The Supabase project under test: where its files are and what it asks for."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phase3test.errors import SetupError

# What `supabase init` writes to [api] schemas.
DEFAULT_API_SCHEMAS = ["public", "graphql_public"]
# A size as config.toml writes it ("50MiB"); the CLI reads KB and KiB alike, as powers of 1024.
_SIZE = re.compile(r"^\s*(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class StorageBucket:
    """A bucket declared in config.toml (`[storage.buckets.<id>]`), which the CLI creates on `db reset`."""

    id: str
    public: bool = False
    file_size_limit: int | None = None  # bytes
    allowed_mime_types: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SupabaseProject:
    """A `supabase/` folder as the Supabase CLI sees it."""

    root: Path

    @property
    def migrations_dir(self) -> Path:
        return self.root / "migrations"

    @property
    def rollbacks_dir(self) -> Path:
        """Rollbacks live outside migrations/: `supabase db push` would warn about them there."""
        return self.root / "rollbacks"

    @property
    def config_file(self) -> Path:
        return self.root / "config.toml"

    def _config(self) -> dict[str, Any]:
        """config.toml as a dict; {} when the project has none."""
        if not self.config_file.is_file():
            return {}
        try:
            return tomllib.loads(self.config_file.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SetupError(
                f"cannot read {self.config_file}: {exc}",
                hint="fix the TOML syntax or remove the file",
            ) from exc

    def major_version(self) -> int | None:
        """The `[db] major_version` the project targets, or None when unset."""
        version = self._config().get("db", {}).get("major_version")
        if version is None:
            return None
        if not isinstance(version, int):
            raise SetupError(
                f"{self.config_file}: [db] major_version must be an integer, got {version!r}",
                hint="write e.g. `major_version = 15`",
            )
        return version

    def api_schemas(self) -> list[str]:
        """The schemas PostgREST exposes (`[api] schemas`; the CLI's default when unset)."""
        schemas = self._config().get("api", {}).get("schemas", DEFAULT_API_SCHEMAS)
        if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas):
            raise SetupError(
                f"{self.config_file}: [api] schemas must be a list of schema names, got {schemas!r}",
                hint='write e.g. `schemas = ["public", "graphql_public"]`',
            )
        return list(schemas)

    def check_readable(self) -> None:
        """Fail early, with the path, when the migrations folder cannot be read."""
        if not self.migrations_dir.is_dir():
            raise SetupError(
                f"no migrations folder at {self.migrations_dir}",
                hint="pass --supabase-dir (or set phase3test_supabase_dir) to your project's supabase/ folder",
            )

    def storage_buckets(self) -> list[StorageBucket]:
        """The buckets `[storage.buckets.*]` declares, in file order."""
        declared = self._config().get("storage", {}).get("buckets", {})
        buckets = []
        for bucket_id, options in declared.items():
            where = f"{self.config_file}: [storage.buckets.{bucket_id}]"
            if not isinstance(options, dict):
                raise SetupError(f"{where} must be a table of options", hint="write e.g. `public = false`")
            mime_types = options.get("allowed_mime_types")
            if mime_types is not None and not (
                isinstance(mime_types, list) and all(isinstance(m, str) for m in mime_types)
            ):
                raise SetupError(
                    f"{where}: allowed_mime_types must be a list of MIME types, got {mime_types!r}",
                    hint='write e.g. `allowed_mime_types = ["image/png", "image/jpeg"]`',
                )
            buckets.append(
                StorageBucket(
                    bucket_id,
                    bool(options.get("public", False)),
                    _bytes(options.get("file_size_limit"), where),
                    tuple(mime_types) if mime_types else None,
                )
            )
        return buckets

    def seed_files(self) -> tuple[list[Path], list[str]]:
        """The SQL files `supabase db reset` loads after the migrations (`[db.seed] sql_paths`, globs in name
        order, each file once; default `seed.sql`), and a warning per path that matches nothing."""
        options = self._config().get("db", {}).get("seed", {})
        if not options.get("enabled", True):
            return [], []
        patterns = options.get("sql_paths", ["./seed.sql"])
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise SetupError(
                f"{self.config_file}: [db.seed] sql_paths must be a list of paths, got {patterns!r}",
                hint='write e.g. `sql_paths = ["./seed.sql", "./seeds/*.sql"]`',
            )
        files: list[Path] = []
        warnings = []
        for pattern in patterns:
            matched = sorted(path for path in self.root.glob(pattern.removeprefix("./")) if path.is_file())
            if not matched and pattern in options.get("sql_paths", []):
                warnings.append(f"[db.seed] sql_paths: {pattern} matches no file in {self.root}")
            files += [path for path in matched if path not in files]
        return files, warnings


def _bytes(size: object, where: str) -> int | None:
    """A config.toml size in bytes: an integer, or text with an optional unit ("50MiB", "1GB")."""
    if size is None or size == "":
        return None
    if isinstance(size, int) and not isinstance(size, bool):
        return size
    match = _SIZE.match(size) if isinstance(size, str) else None
    if match is None:
        raise SetupError(
            f"{where}: file_size_limit {size!r} is not a size", hint='write e.g. `file_size_limit = "50MiB"`'
        )
    power = " kmgt".index(match["unit"].lower() or " ")
    return int(float(match["number"]) * 1024**power)


def find_supabase_dir(start: Path) -> Path | None:
    """The `supabase/` folder the Supabase CLI would use from `start`: the nearest one up that holds a
    config.toml."""
    for folder in (start, *start.parents):
        if (folder / "supabase" / "config.toml").is_file():
            return folder / "supabase"
    return None
