"""The Supabase environment a plain Postgres lacks: roles, grants, auth, storage."""

from phase3test.supabase.bootstrap import BOOTSTRAP_SQL, bootstrap, is_supabase_database

__all__ = ["BOOTSTRAP_SQL", "bootstrap", "is_supabase_database"]
