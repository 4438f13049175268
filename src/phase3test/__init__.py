"""phase3test: prove Supabase migrations safe on a throwaway, Supabase-faithful Postgres (a pytest plugin).

PYTEST_DONT_REWRITE: `phase3test check` imports this package before it starts pytest, which would then
warn that it cannot rewrite the asserts of a module already imported; this one has none.
"""

from phase3test import legacy_imports

legacy_imports.install()
