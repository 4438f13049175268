"""phase3test: prove Supabase migrations safe on a throwaway, Supabase-faithful Postgres (a pytest plugin)."""
