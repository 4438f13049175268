"""Buckets a project declares in config.toml, created as `supabase db reset` creates them: after the
migrations and the seed data, updating a bucket a migration already made to the declared options."""

from __future__ import annotations

import psycopg
from psycopg.types.json import Jsonb

from phase3test.project import StorageBucket

_UPSERT = """
insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
select b ->> 'id', b ->> 'id', (b ->> 'public')::boolean, (b ->> 'file_size_limit')::bigint,
       (select array_agg(m) from jsonb_array_elements_text(b -> 'allowed_mime_types') m)
  from jsonb_array_elements(%s) b
on conflict (id) do update
   set public = excluded.public,
       file_size_limit = excluded.file_size_limit,
       allowed_mime_types = excluded.allowed_mime_types,
       updated_at = now()
"""


def create_buckets(conn: psycopg.Connection, buckets: list[StorageBucket]) -> None:
    """Create (or bring to the declared options) every bucket of `buckets`."""
    if not buckets:
        return
    declared = [
        {
            "id": b.id,
            "public": b.public,
            "file_size_limit": b.file_size_limit,
            "allowed_mime_types": list(b.allowed_mime_types) if b.allowed_mime_types else None,
        }
        for b in buckets
    ]
    conn.execute(_UPSERT, (Jsonb(declared),))
