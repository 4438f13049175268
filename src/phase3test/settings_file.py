"""`phase3test.toml`: the settings file of a repository that keeps no Python configuration.

Most Supabase repositories are JavaScript projects: asking them for a
pyproject.toml or pytest.ini to hold a few settings is a needless hurdle. The
file holds `<setting> = value` lines (a `[suites]` table for the suites'
scopes); `phase3test init` writes it. It is found as git finds its folder:
the nearest one up from where the command runs. A mistake names the file,
line and column.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phase3test.errors import SetupError

SETTINGS_FILE = "phase3test.toml"
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


@dataclass(frozen=True)
class SettingsFile:
    path: Path
    values: dict[str, Any]  # setting name -> value as TOML gave it (text, bool, int), tables flattened to text

    @classmethod
    def find(cls, start: Path) -> SettingsFile | None:
        """The nearest phase3test.toml from `start` up to the file system's root, read."""
        for folder in (start, *start.parents):
            if (folder / SETTINGS_FILE).is_file():
                return cls.read(folder / SETTINGS_FILE)
        return None

    @classmethod
    def read(cls, path: Path) -> SettingsFile:
        text = path.read_text(encoding="utf-8")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            message = str(exc)
            found = _TOML_POSITION.search(message)
            where = f"{path}:{found.group(1)}:{found.group(2)}" if found else str(path)
            raise SetupError(f"{where}: not valid TOML: {_TOML_POSITION.sub('', message)}") from None
        values = {}
        for key, value in data.items():
            if isinstance(value, dict):  # [suites]: idempotency = "all" -> "idempotency=all"
                value = " ".join(f"{name}={mode}" for name, mode in value.items())
            elif not isinstance(value, str | bool | int):
                raise SetupError(f"{_where(path, text, key)}: {key} must be text, a number or true/false")
            values[key] = value
        return cls(path, values)

    def where(self, key: str) -> str:
        """`file:line:column` of a key, for messages about its value."""
        return _where(self.path, self.path.read_text(encoding="utf-8"), key)


def _where(path: Path, text: str, key: str) -> str:
    for number, line in enumerate(text.splitlines(), start=1):
        found = re.match(rf"\s*(\[\s*)?{re.escape(key)}\b", line)
        if found:
            return f"{path}:{number}:{found.end() - len(key) + 1}"
    return str(path)
