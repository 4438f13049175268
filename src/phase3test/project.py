"""The Supabase project under test: where its files are and what it asks for."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phase3test.errors import SetupError

# What `supabase init` writes to [api] schemas.
DEFAULT_API_SCHEMAS = ["public", "graphql_public"]


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
