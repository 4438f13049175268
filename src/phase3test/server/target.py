"""Where a run's databases live, what they are called, and which of them the run may drop.

On a server of its own (embedded) a run creates and drops what it likes. On a
server it shares (external: a CI service container, a Supabase branch) every
database the run creates carries a comment naming the run and its owner
process, its names start with the run's own prefix, and it drops a database
only when that comment is its own: anything else is someone's data.
"""

from __future__ import annotations

import functools
import json
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from phase3test.errors import SetupError
from phase3test.server import janitor
from phase3test.server.process import ProcessId

CLAIM_PREFIX = "phase3test run "
OWN_PREFIX = "p3t"  # a server of the run's own: the cache's template names


UNKNOWN = "unknown"


@functools.cache
def this_host() -> str:
    """Host name, boot id and pid namespace: a pid names a process only within one namespace of one boot
    (containers sharing the host's name and boot still have pid namespaces of their own)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        pid_namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return f"{socket.gethostname()}/{UNKNOWN}"
    return f"{socket.gethostname()}/{boot}/{pid_namespace}"


@dataclass(frozen=True)
class Claim:
    """The comment a run writes on every database it creates on a shared server."""

    run_id: str
    host: str
    owner: ProcessId
    keep: bool = False  # --pg-keep: left for debugging, dropped only by `phase3test down`

    def to_json(self) -> dict[str, object]:
        return {"run": self.run_id, "host": self.host, "owner": self.owner.to_json(), "keep": self.keep}

    @classmethod
    def from_json(cls, body: dict) -> Claim:  # type: ignore[type-arg]
        return cls(str(body["run"]), str(body["host"]), ProcessId.from_json(body["owner"]), bool(body.get("keep")))

    def text(self) -> str:
        return CLAIM_PREFIX + json.dumps(self.to_json(), sort_keys=True)

    @classmethod
    def parse(cls, comment: str | None) -> Claim | None:
        """The claim a database's comment makes, or None if phase3test did not write it."""
        if not comment or not comment.startswith(CLAIM_PREFIX):
            return None
        try:
            return cls.from_json(json.loads(comment[len(CLAIM_PREFIX) :]))
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def finished(self) -> bool:
        """Its run was on this machine and its owner is gone (it ended, crashed or was killed); where
        processes cannot be told apart (no /proc), never."""
        return self.host == this_host() and not self.host.endswith(UNKNOWN) and not self.owner.alive()

    def abandoned(self) -> bool:
        """Finished without cleaning up, and not kept on purpose."""
        return self.finished() and not self.keep


def redacted_url(url: str) -> str:
    """The same URL without its password (what `phase3test up` prints for a shared server)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql") or parts.password is None:
        return url if parts.scheme in ("postgres", "postgresql") else redacted(url)
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}@{host}"))


def redacted(url: str) -> str:
    """A connection string fit for logs: host, port, user and database, never the password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<unparsable connection string>"
    user = f"{parts['user']}@" if parts.get("user") else ""
    return f"{user}{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"


@dataclass(frozen=True)
class Target:
    """A run's server as its databases see it: one admin URL, a name prefix and, when shared, a claim."""

    url: str = field(repr=False)  # may carry a password: tracebacks show `where` instead
    version: str
    prefix: str = OWN_PREFIX
    claim: Claim | None = None

    @property
    def where(self) -> str:
        return redacted(self.url)

    @property
    def shared(self) -> bool:
        return self.claim is not None

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    def conninfo(self, dbname: str | None = None) -> str:
        """The admin URL, or the same server's database `dbname` (a URL stays a URL: the Supabase CLI needs one)."""
        if dbname is None:
            return self.url
        parts = urlsplit(self.url)
        if parts.scheme not in ("postgres", "postgresql"):
            return make_conninfo(self.url, dbname=dbname)
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "dbname"])
        return f"{parts.scheme}://{parts.netloc}/{quote(dbname, safe='')}" + (f"?{query}" if query else "")

    def name(self, purpose: str) -> str:
        """A database of this run's: `<prefix>_<purpose>`."""
        return f"{self.prefix}_{purpose}"

    def template(self, kind: str) -> str:
        """`empty`, `migrated` or `seeded`: the run's template of that kind."""
        return self.name(kind)

    def create(self, admin: psycopg.Connection, name: str, template: str) -> None:
        """Clone `template` into `name`; on a shared server only under a name nobody uses, and claimed."""
        if self.claim is not None:
            self._refuse_existing(admin, name)
        janitor.create_from_template(admin, name, template, self.claim.text() if self.claim else None)

    def drop(self, admin: psycopg.Connection, name: str) -> None:
        """Drop `name`; on a shared server only if this run created it."""
        if self.claim is not None:
            found = _databases(admin, name)
            if not found:
                return
            if Claim.parse(found[name]) != self.claim:
                raise SetupError(
                    f"refusing to drop database {name} on {self.where}: this run did not create it",
                    hint=_whose(found[name]),
                )
        janitor.drop(admin, name)

    def made_for_a_test(self, admin: psycopg.Connection, name: str) -> bool:
        """Whether `name` is a database this run made for a test: under its prefix, open to connections (its
        templates are not) and, on a shared server, carrying its claim. What a notice says is checked by this
        or `is_template` before the pool touches a database (anyone connected may send one)."""
        return self._ours(admin, name, template=False)

    def is_template(self, admin: psycopg.Connection, name: str) -> bool:
        """Whether `name` is one of this run's templates: under its prefix, closed to connections (`seal`) and,
        on a shared server, carrying its claim."""
        return self._ours(admin, name, template=True)

    def _ours(self, admin: psycopg.Connection, name: str, template: bool) -> bool:
        row = admin.execute(
            """select datallowconn and not datistemplate, shobj_description(oid, 'pg_database')
                 from pg_database where datname = %s""",
            (name,),
        ).fetchone()
        if row is None or row[0] == template or not name.startswith(f"{self.prefix}_"):
            return False
        return self.claim is None or Claim.parse(row[1]) == self.claim

    def seal(self, admin: psycopg.Connection, name: str, label: str) -> None:
        """A finished template nobody may connect to; on a server of our own labelled with its cache key
        (on a shared one the comment stays the claim)."""
        if self.claim is None:
            janitor.mark_template(admin, name, label)
        else:
            janitor.freeze(admin, name)

    def drop_own(self, admin: psycopg.Connection) -> list[str]:
        """Drop every database this run created on a shared server; return their names."""
        if self.claim is None:
            return []
        return _drop_claimed(admin, lambda claim: claim == self.claim)

    def to_json(self) -> dict[str, object]:
        claim = self.claim
        return {
            "url": self.url,
            "version": self.version,
            "prefix": self.prefix,
            "claim": claim.to_json() if claim else None,
        }

    @classmethod
    def from_json(cls, data: dict) -> Target:  # type: ignore[type-arg]
        claim = data.get("claim")
        return cls(
            str(data["url"]),
            str(data["version"]),
            str(data["prefix"]),
            Claim.from_json(claim) if claim else None,
        )

    def _refuse_existing(self, admin: psycopg.Connection, name: str) -> None:
        found = _databases(admin, name)
        if found:
            raise SetupError(
                f"refusing to use database {name} on {self.where}: it exists already",
                hint=_whose(found[name]),
            )


def drop_abandoned(admin: psycopg.Connection, include_kept: bool = False) -> list[str]:
    """Drop databases left by runs from this machine whose owner died before cleaning up
    (and, when asked, those kept with --pg-keep)."""
    return _drop_claimed(admin, Claim.finished if include_kept else Claim.abandoned)


def claimed_databases(admin: psycopg.Connection) -> dict[str, Claim]:
    """Every database on the server that a phase3test run claims, with its claim."""
    claims = {name: Claim.parse(comment) for name, comment in _databases(admin).items()}
    return {name: claim for name, claim in claims.items() if claim is not None}


def _drop_claimed(admin: psycopg.Connection, condition: Callable[[Claim], bool]) -> list[str]:
    dropped = []
    for name, claim in sorted(claimed_databases(admin).items()):
        if condition(claim):
            try:
                janitor.drop(admin, name)
            except psycopg.errors.InsufficientPrivilege:
                continue  # another role's run: theirs to clean up, and `down` lists it
            dropped.append(name)
    return dropped


def _databases(admin: psycopg.Connection, name: str | None = None) -> dict[str, str | None]:
    rows = admin.execute(
        sql.SQL("select datname, shobj_description(oid, 'pg_database') from pg_database {}").format(
            sql.SQL("where datname = %s") if name else sql.SQL("")
        ),
        (name,) if name else None,
    ).fetchall()
    return {row[0]: row[1] for row in rows}


def _whose(comment: str | None) -> str:
    claim = Claim.parse(comment)
    if claim is None:
        return "phase3test did not create it; it is left as it is"
    return f"it belongs to phase3test run {claim.run_id} (owner pid {claim.owner.pid} on {claim.host.split('/')[0]})"
