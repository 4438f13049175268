"""The access matrix (who may do what, per table, function and role) and checking one cell of it on a real
database, in SQL as PostgREST runs a request (`probes`) or through a running stack's API (`api_probes`).

The matrix's own names are importable from here.
"""

from phase3test.access.matrix import (
    EXECUTE,
    OPERATIONS,
    VALUES,
    Cell,
    FunctionAccess,
    Matrix,
    Role,
    TableAccess,
    load,
)
from phase3test.supabase.roles import API_ROLES

__all__ = [
    "API_ROLES",
    "EXECUTE",
    "OPERATIONS",
    "VALUES",
    "Cell",
    "FunctionAccess",
    "Matrix",
    "Role",
    "TableAccess",
    "load",
]
