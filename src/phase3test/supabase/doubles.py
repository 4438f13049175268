"""Test doubles of the Supabase extensions no package here provides, with their real SQL surface.

`pg_net` and `supabase_vault` are called from migrations and triggers; a
server without them would fail the whole chain. Where the server lacks one
that the project creates, the embedded backend installs the double from
this package's `doubles/` folder instead (announced in the report header).
What they do not do: pg_net sends no HTTP request (requests wait in
`net.http_request_queue`; a test writes the answer to `net._http_response`),
supabase_vault encrypts nothing.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

DOUBLES = ("pg_net", "supabase_vault")
_FOLDER = Path(str(files("phase3test.supabase") / "doubles"))


def doubles_for(required: set[str], available: set[str]) -> list[str]:
    """The doubles a project needs: extensions it creates that have one and that the server lacks."""
    return [name for name in DOUBLES if name in required and name not in available]


def double_files(names: list[str]) -> list[Path]:
    """The extension files (control and scripts) of these doubles."""
    return sorted(path for name in names for path in _FOLDER.glob(f"{name}[.-]*"))
