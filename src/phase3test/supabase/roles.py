"""The roles Supabase's API acts as: a request's JWT names one of them, and PostgREST switches to it."""

API_ROLES = ("anon", "authenticated", "service_role")
