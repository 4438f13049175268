"""A running Supabase stack's API, and clients signed in as any role or seeded user.

`--pg-api-url` is the project URL (`supabase start`'s http://127.0.0.1:54321,
or this project's docker-compose.yml: /rest/v1 and /auth/v1 under one URL);
`--pg-api-jwt-secret` the secret the stack verifies tokens with. Tokens are
minted with it, as the auth server signs a session's access token (role,
`sub` = the user's id, `aud` authenticated), so any seeded user can act
without a password. `--pg-api-db-url` is the stack's database, read (never
written) to find seeded users and the rows each should reach.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from typing import Any

from phase3test.errors import SetupError

TOKEN_TTL = 3600
NOT_CONFIGURED = "no Supabase stack to test through: pass --pg-api-url and --pg-api-jwt-secret (docs/backends.md)"
SIGNED_IN = "authenticated"


@dataclass(frozen=True)
class ApiStack:
    url: str
    jwt_secret: str = field(repr=False)
    db_url: str | None = field(default=None, repr=False)

    @property
    def rest_url(self) -> str:
        return self.url.rstrip("/") + "/rest/v1"

    def token(self, role: str, user: str | None = None) -> str:
        """An HS256 token for `role` (anon, authenticated, service_role), for `user` when signed in."""
        import jwt

        now = int(time.time())
        claims: dict[str, Any] = {"iss": "supabase", "role": role, "iat": now, "exp": now + TOKEN_TTL}
        if user is not None:
            claims |= {"sub": user, "aud": SIGNED_IN}
        return jwt.encode(claims, self.jwt_secret, algorithm="HS256")

    def headers(self, role: str, user: str | None = None) -> dict[str, str]:
        """What an app sends: the anon key as `apikey`, the session's token as the bearer."""
        return {"apikey": self.token("anon"), "Authorization": f"Bearer {self.token(role, user)}"}

    def client(self, role: str = "anon", user: str | None = None) -> Any:
        """A supabase-py client acting as `role` (and `user`), as an app's would after sign-in."""
        # imported by name: from a project's root, `supabase` would resolve to its supabase/ folder for mypy
        supabase = importlib.import_module("supabase")
        headers = self.headers(role, user)
        options = supabase.ClientOptions(headers={"Authorization": headers["Authorization"]})
        return supabase.create_client(self.url, headers["apikey"], options=options)

    def problem(self) -> str | None:
        """Why the API cannot be used (not answering, or refusing the secret's tokens), or None."""
        import httpx  # here, not at the plugin's import: most runs never talk to a stack

        try:
            response = httpx.get(self.rest_url + "/", headers=self.headers("anon"), timeout=5)
        except httpx.HTTPError as exc:
            return f"the API at {self.url} does not answer ({exc.__class__.__name__}: {exc})"
        if response.status_code == 404:
            return f"no PostgREST at {self.rest_url} (404): give the project URL (its gateway), not PostgREST's own"
        if response.status_code in (401, 403):
            return f"the API at {self.url} refuses tokens signed with the given JWT secret ({response.status_code})"
        if response.status_code >= 500:
            return f"the API at {self.url} fails ({response.status_code}: {response.text[:200]})"
        return None


def stack_from(url: str | None, jwt_secret: str | None, db_url: str | None) -> ApiStack | None:
    """The configured stack, or None when no API URL is given; a URL without a secret is a usage error."""
    if not url:
        return None
    if not jwt_secret:
        raise SetupError(
            f"an API URL ({url}) was given without the stack's JWT secret",
            hint="pass --pg-api-jwt-secret or set PHASE3TEST_API_JWT_SECRET (`supabase status` shows it)",
        )
    return ApiStack(url, jwt_secret, db_url)
