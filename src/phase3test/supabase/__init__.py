"""Supabase fidelity: the environment a plain Postgres lacks (roles, grants, auth, storage), PostgREST's
per-request prelude, the real Supabase CLI, and a running stack's API."""
