"""The declared access matrix against the one the database enforces, cell by cell, for review.

What a reviewer must see first is what the database allows that the file does not say: a policy wider
than meant or a grant nobody declared is a security finding. Then what it allows less (the file promises
access the database refuses), then what only one side has (a role, a table the file does not cover, a
declared one the API no longer serves), then the cells no probe could confirm. Each cell comes with what
decides it: the comment the draft writes for it.

A matrix may declare objects in the platform's schemas (storage.objects); inference never looks there, so
they are listed as not compared, never as gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from phase3test.access.inference import Inferred, InferredCell
from phase3test.access.matrix import Matrix
from phase3test.access.served import platform_owned

_REACH = {"deny": 0, "own": 1, "allow": 2}  # how many of a table's rows a value lets a role reach
_CELL_COLUMNS = ("table or function", "role", "operation", "declared → inferred", "what decides it")
Section = tuple[str, tuple[str, ...], list[tuple[str, ...]]]  # title, columns, rows


@dataclass(frozen=True)
class CellChange:
    """A cell the database does not enforce as declared, or whose value no probe could confirm."""

    subject: str  # a table, or a function's signature
    role: str
    operation: str
    declared: str
    inferred: InferredCell

    @property
    def differs(self) -> bool:
        return self.declared != self.inferred.value


@dataclass(frozen=True)
class Unmatched:
    """A role, table or function only one side has."""

    kind: str  # role | table | function
    name: str
    why: str


@dataclass
class MatrixDiff:
    compared: int  # cells both sides have
    unmatched: list[Unmatched]
    more: list[CellChange] = field(default_factory=list)  # the database allows more than declared: findings
    less: list[CellChange] = field(default_factory=list)
    unconfirmed: list[CellChange] = field(default_factory=list)  # the catalog's guess, agreeing or not
    not_compared: list[str] = field(default_factory=list)  # declared in a schema the platform owns

    @property
    def differs(self) -> bool:
        """Something to decide in review; an UNCONFIRMED guess that agrees with the file is not."""
        return bool(self.more or self.less or self.unmatched) or any(c.differs for c in self.unconfirmed)


def compare(declared: Matrix, inferred: Inferred) -> MatrixDiff:
    """Every cell both sides have, sorted by what it means for review, and what only one side has."""
    expected = {(c.table, c.role, c.operation): c.expected for c in declared.cells()}
    both = [
        CellChange(subject, role, operation, expected[(subject, role, operation)], cell)
        for subject, role, operation, cell in inferred.cells()
        if (subject, role, operation) in expected
    ]
    platforms = sorted(name for name in [*declared.tables, *declared.functions] if platform_owned(name))
    diff = MatrixDiff(len(both), _unmatched(declared, inferred), not_compared=platforms)
    for change in both:
        if change.inferred.unconfirmed:
            diff.unconfirmed.append(change)
        elif change.differs:
            wider = _REACH[change.inferred.value] > _REACH[change.declared]
            (diff.more if wider else diff.less).append(change)
    return diff


def _unmatched(declared: Matrix, inferred: Inferred) -> list[Unmatched]:
    """Roles first (none of their cells is compared), then tables and functions."""
    found = [
        Unmatched("role", name, f"in the database ({_holders(role.api_role, role.users)}), not in the file")
        for name, role in inferred.roles.items()
        if name not in declared.roles
    ]
    found += [
        Unmatched("role", name, "in the file; inference found no such role in the database")
        for name in declared.roles
        if name not in inferred.roles
    ]
    served = {"table": {t.name for t in inferred.tables}, "function": {f.signature for f in inferred.functions}}
    listed = {"table": set(declared.tables), "function": set(declared.functions)}
    for kind in ("table", "function"):
        found += [
            Unmatched(kind, name, f"the API serves this {kind}; the file has no decisions for it")
            for name in sorted(served[kind] - listed[kind])
        ]
        found += [
            Unmatched(kind, name, f"in the file; the API serves no such {kind}")
            for name in sorted(listed[kind] - served[kind])
            if not platform_owned(name)
        ]
    return found


def _holders(api_role: str, users: str | None) -> str:
    return f"{api_role}, users: {users}" if users else api_role


def sections(diff: MatrixDiff) -> list[Section]:
    """(title, columns, rows) of each kind of difference, the security findings first; empty ones left out."""
    found: list[Section] = [
        (f"SECURITY: the database allows MORE than declared ({len(diff.more)})", _CELL_COLUMNS, _rows(diff.more)),
        (f"The database allows less than declared ({len(diff.less)})", _CELL_COLUMNS, _rows(diff.less)),
        (
            f"In one and not the other ({len(diff.unmatched)})",
            ("kind", "name", "where"),
            [(u.kind, u.name, u.why) for u in diff.unmatched],
        ),
        (
            f"UNCONFIRMED: no probe could decide, the catalog's guess ({len(diff.unconfirmed)})",
            _CELL_COLUMNS,
            _rows(diff.unconfirmed),
        ),
        (
            f"Not compared: in a schema the platform owns, never inferred ({len(diff.not_compared)})",
            ("name",),
            [(name,) for name in diff.not_compared],
        ),
    ]
    return [section for section in found if section[2]]


def _rows(changes: list[CellChange]) -> list[tuple[str, ...]]:
    return [(c.subject, c.role, c.operation, f"{c.declared} → {c.inferred.value}", c.inferred.why) for c in changes]


def summary(diff: MatrixDiff, path: str) -> str:
    """One line counting each kind: the verdict a review step reads."""
    verdict = "differs from" if diff.differs else "agrees with"
    counts = (
        f"{diff.compared} cells compared: {len(diff.more)} allow more than declared, {len(diff.less)} less, "
        f"{len(diff.unmatched)} role(s)/table(s)/function(s) in one only, {len(diff.unconfirmed)} UNCONFIRMED"
    )
    platform = f", {len(diff.not_compared)} of the platform's not compared" if diff.not_compared else ""
    return f"{path} {verdict} the database: {counts}{platform}"


def text(diff: MatrixDiff, path: str) -> str:
    """For a terminal or a CI log: a titled block per kind, columns aligned, the summary last."""
    lines: list[str] = []
    for title, _columns, rows in sections(diff):
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
        lines.append(f"{title}:")
        lines += [
            "  " + "  ".join([*(v.ljust(w) for v, w in zip(row[:-1], widths, strict=True)), row[-1]]) for row in rows
        ]
    return "\n".join([*lines, summary(diff, path)])


def markdown(diff: MatrixDiff, path: str) -> str:
    """For a pull request comment: the summary, then a table per kind."""
    lines = [f"### Access matrix: `{path}` against the database", "", f"**{summary(diff, path)}**"]
    for title, columns, rows in sections(diff):
        lines += ["", f"#### {title}", "", "| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
        lines += ["| " + " | ".join(value.replace("|", "\\|") for value in row) + " |" for row in rows]
    return "\n".join(lines)
