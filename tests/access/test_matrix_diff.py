"""The declared matrix against the inferred one: what the database allows beyond the file comes first, each
cell with what decides it; what only one side has and what no probe confirmed are told apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from phase3test.access.inference import Inferred, InferredCell, InferredFunction, InferredTable
from phase3test.access.matrix import EXECUTE, Matrix, load
from phase3test.access.matrix_diff import CellChange, compare, markdown, text

DECLARED = """
roles:
  anon: {api_role: anon}
  writer: {api_role: authenticated, users: "select id from auth.users"}
  service_role: {api_role: service_role}
tables:
  public.notes:
    own: "owner_id = auth.uid()"
    select: {anon: allow, writer: own, service_role: allow}
    insert: {writer: own, service_role: allow}
    update: {writer: own, service_role: allow}
    delete: {service_role: allow}
functions:
  public.ping(): {execute: {writer: allow}}
"""
Key = tuple[str, str, str]  # (table or function, role, operation)


@pytest.fixture
def declared(tmp_path: Path) -> Matrix:
    path = tmp_path / "rls_matrix.yaml"
    path.write_text(DECLARED)
    return load(path)


def enforcing(declared: Matrix, changed: dict[Key, InferredCell] | None = None) -> Inferred:
    """What inference finds on a database that enforces `declared`, but for the `changed` cells."""
    changed = changed or {}
    tables = {name: InferredTable(name, dict(access.own)) for name, access in declared.tables.items()}
    functions = {name: InferredFunction(name, access.call) for name, access in declared.functions.items()}
    for cell in declared.cells():
        found = changed.get((cell.table, cell.role, cell.operation), InferredCell(cell.expected, "as declared"))
        if cell.operation == EXECUTE:
            functions[cell.table].cells[cell.role] = found
        else:
            tables[cell.table].cells[(cell.operation, cell.role)] = found
    return Inferred(dict(declared.roles), list(tables.values()), list(functions.values()))


def keys(changes: list[CellChange]) -> list[Key]:
    return [(c.subject, c.role, c.operation) for c in changes]


def test_a_database_that_enforces_the_file_has_no_difference(declared: Matrix) -> None:
    diff = compare(declared, enforcing(declared))
    assert not diff.differs
    assert diff.compared == 3 * 4 + 3, "every table cell and every execute cell"
    assert text(diff, "rls_matrix.yaml") == (
        "rls_matrix.yaml agrees with the database: 15 cells compared: 0 allow more than declared, 0 less, "
        "0 role(s)/table(s)/function(s) in one only, 0 UNCONFIRMED"
    )


def test_what_the_database_allows_beyond_the_file_comes_first_with_what_decides_it(declared: Matrix) -> None:
    diff = compare(
        declared,
        enforcing(
            declared,
            {
                ("public.notes", "anon", "insert"): InferredCell("allow", "row-level security off; insert granted"),
                ("public.notes", "writer", "update"): InferredCell("allow", 'policy "anyone edits": true'),
                ("public.ping()", "anon", EXECUTE): InferredCell("allow", "execute granted to anon"),
                ("public.notes", "writer", "select"): InferredCell("deny", "no select grant to authenticated"),
                ("public.notes", "service_role", "delete"): InferredCell("deny", "no delete grant to service_role"),
            },
        ),
    )
    assert diff.differs
    assert keys(diff.more) == [  # deny -> allow, own -> allow, for a function too
        ("public.notes", "anon", "insert"),
        ("public.notes", "writer", "update"),
        ("public.ping()", "anon", EXECUTE),
    ]
    assert keys(diff.less) == [("public.notes", "writer", "select"), ("public.notes", "service_role", "delete")]
    assert text(diff, "rls_matrix.yaml").splitlines() == [
        "SECURITY: the database allows MORE than declared (3):",
        "  public.notes   anon    insert   deny → allow  row-level security off; insert granted",
        '  public.notes   writer  update   own → allow   policy "anyone edits": true',
        "  public.ping()  anon    execute  deny → allow  execute granted to anon",
        "The database allows less than declared (2):",
        "  public.notes  writer        select  own → deny    no select grant to authenticated",
        "  public.notes  service_role  delete  allow → deny  no delete grant to service_role",
        "rls_matrix.yaml differs from the database: 15 cells compared: 3 allow more than declared, 2 less, "
        "0 role(s)/table(s)/function(s) in one only, 0 UNCONFIRMED",
    ]


def test_an_unconfirmed_guess_is_listed_apart_and_is_a_difference_only_when_it_differs(declared: Matrix) -> None:
    reason = 'policy "writers" — UNCONFIRMED: no seeded rows in public.notes'
    agreeing = compare(
        declared, enforcing(declared, {("public.notes", "writer", "select"): InferredCell("own", reason)})
    )
    assert keys(agreeing.unconfirmed) == [("public.notes", "writer", "select")]
    assert not agreeing.differs, "the guess says what the file says"
    assert agreeing.more == agreeing.less == []
    wider = compare(declared, enforcing(declared, {("public.notes", "anon", "update"): InferredCell("own", reason)}))
    assert wider.differs and wider.more == [], "a guess is not a finding, but a reviewer has to decide it"
    lines = text(wider, "m.yaml").splitlines()
    assert lines[0] == "UNCONFIRMED: no probe could decide, the catalog's guess (1):"
    assert lines[1] == f"  public.notes  anon  update  deny → own  {reason}"


def test_roles_tables_and_functions_on_one_side_only_and_the_platforms_objects_left_out(
    declared: Matrix, tmp_path: Path
) -> None:
    path = tmp_path / "more.yaml"
    path.write_text(
        DECLARED.replace("tables:\n", '  auditor: {api_role: authenticated, users: "select 1"}\ntables:\n')
        .replace("functions:\n", "  public.archive: {select: {}, insert: {}, update: {}, delete: {}}\n"
                                  "  storage.objects: {select: {anon: allow}, insert: {}, update: {}, delete: {}}\n"
                                  "functions:\n")
        + "  public.gone(): {execute: {}}\n"
    )  # fmt: skip
    inferred = enforcing(declared)  # the database has none of the above, and more:
    inferred.roles["editor"] = inferred.roles["writer"]
    inferred.tables.append(InferredTable("public.tags", cells={("select", "anon"): InferredCell("allow", "rls off")}))
    inferred.functions.append(InferredFunction("public.f(x integer)", "public.f(null::integer)"))
    diff = compare(load(path), inferred)
    assert [(u.kind, u.name) for u in diff.unmatched] == [
        ("role", "editor"),
        ("role", "auditor"),
        ("table", "public.tags"),
        ("table", "public.archive"),
        ("function", "public.f(x integer)"),
        ("function", "public.gone()"),
    ], "storage.objects is the platform's: declared, never inferred, not gone"
    assert diff.not_compared == ["storage.objects"]
    assert diff.differs and diff.compared == 15, "cells of a role, table or function on one side only are not compared"
    shown = text(diff, "m.yaml")
    assert "  table     public.tags          the API serves this table; the file has no decisions for it\n" in shown
    assert "  function  public.gone()        in the file; the API serves no such function\n" in shown
    assert "  role      auditor              in the file; inference found no such role in the database\n" in shown
    assert "Not compared: in a schema the platform owns, never inferred (1):\n  storage.objects\n" in shown
    assert shown.endswith(
        ", 6 role(s)/table(s)/function(s) in one only, 0 UNCONFIRMED, 1 of the platform's not compared"
    )


def test_markdown_for_a_pull_request_comment_keeps_its_tables_whole(declared: Matrix) -> None:
    why = 'policy "a|b": true'
    diff = compare(declared, enforcing(declared, {("public.notes", "anon", "delete"): InferredCell("allow", why)}))
    page = markdown(diff, "fixtures/rls_matrix.yaml").splitlines()
    assert page[0] == "### Access matrix: `fixtures/rls_matrix.yaml` against the database"
    assert page[2].startswith("**fixtures/rls_matrix.yaml differs from the database: 15 cells compared: 1 allow more")
    assert "#### SECURITY: the database allows MORE than declared (1)" in page
    assert "| table or function | role | operation | declared → inferred | what decides it |" in page
    assert '| public.notes | anon | delete | deny → allow | policy "a\\|b": true |' in page, "a | would split the row"
