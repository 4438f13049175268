"""Import paths of modules that moved when the package took its current shape (0.2), kept working for one
more release with a DeprecationWarning that names the new place.

A moved path imports as a module holding the public names of the module(s)
that now hold its code; where one module became several, it holds them all.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from collections.abc import Sequence

MOVED: dict[str, tuple[str, ...]] = {
    "phase3test.access_report": ("phase3test.report.access_grid",),
    "phase3test.api": ("phase3test.supabase.api",),
    "phase3test.api_probes": ("phase3test.access.api_probes",),
    "phase3test.baseline": ("phase3test.report.baseline",),
    "phase3test.catalog": ("phase3test.inspection.catalog",),
    "phase3test.check": ("phase3test.gate",),
    "phase3test.contents": ("phase3test.inspection.contents",),
    "phase3test.external": (
        "phase3test.provisioning.remote",
        "phase3test.provisioning.external",
        "phase3test.provisioning.docker",
    ),
    "phase3test.gitref": ("phase3test.migrations.gitref",),
    "phase3test.janitor": ("phase3test.server.janitor",),
    "phase3test.matviews": ("phase3test.inspection.matviews",),
    "phase3test.pgtap": ("phase3test.suites.pgtap",),
    "phase3test.probes": ("phase3test.access.probes",),
    "phase3test.provision": (
        "phase3test.provisioning.provisioned",
        "phase3test.provisioning.templates",
        "phase3test.provisioning.embedded",
    ),
    "phase3test.report_html": ("phase3test.report.html",),
    "phase3test.rls": ("phase3test.supabase.prelude",),
    "phase3test.run_report": ("phase3test.report.regression",),
    "phase3test.server.cache": ("phase3test.provisioning.cache",),
    "phase3test.server.registry": ("phase3test.provisioning.registry",),
    "phase3test.session": ("phase3test.provisioning.run", "phase3test.settings"),
    "phase3test.static": ("phase3test.migrations.static",),
}


class _MovedFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, _MovedLoader(MOVED[fullname]))


class _MovedLoader(importlib.abc.Loader):
    def __init__(self, targets: tuple[str, ...]) -> None:
        self.targets = targets

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        warnings.warn(
            f"{spec.name} moved to {' and '.join(self.targets)}; import from there (the old path goes in 0.3)",
            DeprecationWarning,
            stacklevel=2,
        )
        return types.ModuleType(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        for target in self.targets:
            moved = importlib.import_module(target)
            module.__dict__.update({k: v for k, v in vars(moved).items() if not k.startswith("__")})


def install() -> None:
    """Let the moved paths import (once per process)."""
    if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
