"""Which seeders a project uses: a module named in its configuration.

The engine knows no table. A project points the `seeders` setting
(`phase3test_seeders`, `--pg-seeders`) at a module whose `SEEDERS` list holds
its Seeder instances, importable from its `pythonpath`; this repository's is
`phase3_seeders` in `fixtures/`.
"""

from __future__ import annotations

import importlib

from phase3test.errors import SetupError
from phase3test.seeding.model import Seeder


def load(module_name: str) -> list[Seeder]:
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SetupError(
            f"cannot import seeders module {module_name!r}: {exc}",
            hint="set phase3test_seeders (or --pg-seeders) to a module with a SEEDERS list, importable from "
            "the project's pythonpath",
        ) from exc
    seeders = getattr(module, "SEEDERS", None)
    if not isinstance(seeders, list) or not all(isinstance(s, Seeder) for s in seeders):
        raise SetupError(f"{module_name}.SEEDERS must be a list of phase3test.seeding.Seeder instances")
    names = [s.name for s in seeders]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SetupError(f"{module_name}.SEEDERS names a domain twice: {', '.join(duplicates)}")
    return seeders
