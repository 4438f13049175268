"""What a Supabase project's database has that its migrations do not say: the platform's defaults for it.

Two projects with the same migrations can differ here. Since 2026-10-30
(2026-05-30 for new projects) Supabase grants the tables, functions and
sequences `postgres` creates in `public` to no API role: each table the Data
API serves needs its own `grant`. Projects created before keep the old
default privileges (everything granted to anon, authenticated, service_role;
RLS alone decides) until they are changed. The bootstrap models the current
default; `default_grants = legacy` models the old one.

A project adopted with years of history lived through the change: the
migrations production applied before it ran under the old defaults, the new
ones run under today's. `legacy_until` (a migration version) replays each
file under the defaults of its era, so the history keeps the grants it got
and a new table gets none it would not get in production.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from phase3test.supabase.roles import API_ROLES

CURRENT, LEGACY = "none", "legacy"
DEFAULT_GRANTS = {
    CURRENT: "none to the API roles (Supabase since 2026-10-30; new projects since 2026-05-30)",
    LEGACY: "all to the API roles (Supabase before 2026-10-30)",
}
_KINDS = ("tables", "functions", "sequences")
# Schemas Supabase owns: what the API serves there (an old config may expose them) the platform decides.
PLATFORM_SCHEMAS = ("auth", "storage", "realtime", "vault", "extensions", "graphql", "graphql_public", "net")


@dataclass(frozen=True)
class Platform:
    """The platform defaults one project's database runs with."""

    default_grants: str = CURRENT
    legacy_until: str | None = None  # the newest migration production applied under the legacy defaults

    def describe(self) -> str:
        """For the report header: which Supabase this database behaves like."""
        described = f"default privileges in public: {DEFAULT_GRANTS[self.default_grants]}"
        if self.legacy_until and self.default_grants != LEGACY:
            described += f"; {DEFAULT_GRANTS[LEGACY]} for the migrations up to {self.legacy_until}"
        return described

    def fingerprint(self) -> str:
        """What a cached template built with these defaults must match."""
        return f"default_grants={self.default_grants} legacy_until={self.legacy_until}"

    def era_of(self, version: str) -> tuple[str, str]:
        """What to run before and after a migration of this version so that it runs under the defaults of its
        era: the legacy ones up to `legacy_until`, then back to this platform's; nothing for the others."""
        if self.legacy_until is None or self.default_grants == LEGACY or int(version) > int(self.legacy_until):
            return "", ""
        return Platform(LEGACY).sql(), self.sql()

    def sql(self) -> str:
        """Statements that set these defaults on any Supabase-like database, bootstrapped or Supabase's own;
        running them again changes nothing."""
        roles = ", ".join(API_ROLES)
        verb, preposition = ("grant", "to") if self.default_grants == LEGACY else ("revoke", "from")
        return "\n".join(
            f"alter default privileges for role postgres in schema public {verb} all on {kind} {preposition} {roles};"
            for kind in _KINDS
        )


def apply_platform(conn: psycopg.Connection, platform: Platform) -> None:
    """Give `conn`'s database the platform defaults of `platform` (as the superuser postgres or a member)."""
    conn.execute(platform.sql())
