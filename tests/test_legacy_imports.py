"""Module paths of 0.1 still import for one more release: with a DeprecationWarning naming the new place,
and holding the same objects as the modules that now hold their code."""

from __future__ import annotations

import importlib
import sys
import warnings

import pytest

from phase3test.legacy_imports import MOVED


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_path_imports_with_a_warning_naming_the_new_one(old: str) -> None:
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {MOVED[old][0]}"):
        module = importlib.import_module(old)
    for new in MOVED[old]:
        moved = importlib.import_module(new)
        public = [name for name in vars(moved) if not name.startswith("_")]
        assert public and all(getattr(module, name) is getattr(moved, name) for name in public), new


def test_the_names_users_imported_most_still_resolve() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from phase3test.catalog import snapshot
        from phase3test.rls import as_role
        from phase3test.session import RunServer, Settings
    from phase3test.inspection.catalog import snapshot as current_snapshot
    from phase3test.provisioning.run import RunServer as current_run_server
    from phase3test.settings import Settings as current_settings
    from phase3test.supabase.prelude import as_role as current_as_role

    assert (snapshot, as_role, RunServer, Settings) == (
        current_snapshot, current_as_role, current_run_server, current_settings
    )  # fmt: skip


def test_a_path_that_never_existed_is_still_an_import_error() -> None:
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("phase3test.no_such_module")
