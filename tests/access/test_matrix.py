"""Loading the access matrix: a clear message for every mistake, with its table, role and operation."""

from __future__ import annotations

from pathlib import Path

import pytest

from phase3test.access.matrix import load
from phase3test.errors import SetupError

ROLES = """
roles:
  anon: {api_role: anon}
  writer: {api_role: authenticated, users: "select id from auth.users"}
"""


def matrix(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rls_matrix.yaml"
    path.write_text(text)
    return path


def test_a_valid_matrix_gives_one_cell_per_table_role_and_operation(tmp_path):
    loaded = load(
        matrix(
            tmp_path,
            ROLES + 'tables:\n  public.notes:\n    own: "owner_id = auth.uid()"\n'
            "    select: {writer: own}\n    insert: {writer: own}\n    update: {}\n    delete: {}\n",
        )
    )
    cells = {(c.role, c.operation): c.expected for c in loaded.cells()}
    assert len(cells) == 8
    assert cells[("writer", "select")] == "own" and cells[("anon", "select")] == "deny"
    assert cells[("writer", "update")] == "deny"


def test_every_mistake_is_named_with_table_role_and_operation(tmp_path):
    text = ROLES + (
        "tables:\n  public.notes:\n"
        "    select: {writer: own, nobody: allow}\n"
        "    insert: {anon: own}\n"
        "    update: {writer: sometimes}\n"
        "    colour: blue\n"
        "    insert_defaults: status\n"
        "    rows: 5\n"
    )
    with pytest.raises(SetupError) as caught:
        load(matrix(tmp_path, text))
    message = str(caught.value)
    for expected in (
        "public.notes select writer: `own` needs the table's `own:` predicate for select",
        "public.notes select: unknown role 'nobody'",
        "public.notes insert anon: only a signed-in role can own rows",
        "public.notes update writer: 'sometimes' is not one of allow, own, deny",
        "public.notes: no `delete:` decision (write `delete: {}` if nobody may)",
        "public.notes: unknown key 'colour'",
        "public.notes: `insert_defaults:` must be a list of column names",
        "public.notes: `rows:` must be text",
    ):
        assert expected in message


def test_a_signed_in_role_needs_its_users_and_the_file_its_sections(tmp_path):
    with pytest.raises(SetupError, match="role writer: a signed-in role needs `users:`"):
        load(matrix(tmp_path, "roles:\n  writer: {api_role: authenticated}\ntables: {}\n"))
    with pytest.raises(SetupError, match="expected top-level `roles:` and `tables:` mappings"):
        load(matrix(tmp_path, "tables: {}\n"))
    with pytest.raises(SetupError, match="not valid YAML"):
        load(matrix(tmp_path, "roles: [\n"))


def test_each_problem_says_where_it_is_as_file_line_column(tmp_path):
    path = matrix(
        tmp_path,
        ROLES + "tables:\n  public.notes:\n    select: {}\n    insert: {}\n    update: {}\n"  # no delete
        "  public.tags:\n    select: {writer: always}\n    insert: {}\n    update: {}\n    delete: {}\n"
        "functions:\n  public.f(uuid):\n    execute: {anon: allow}\n"
        "colour: blue\n",
    )
    with pytest.raises(SetupError) as caught:
        load(path)
    lines = str(caught.value).splitlines()
    assert f"  {path}:6:3: public.notes: no `delete:` decision (write `delete: {{}}` if nobody may)" in lines
    assert f"  {path}:10:3: public.tags select writer: 'always' is not one of allow, own, deny" in lines
    assert (
        f"  {path}:16:3: public.f(uuid): a function with arguments needs `call:`, the expression that probes it"
        in lines
    )
    assert any(line.startswith(f"  {path}:18:1: unknown top-level key 'colour'") for line in lines)


def test_a_yaml_syntax_error_says_where_it_is(tmp_path):
    path = matrix(tmp_path, ROLES + "tables:\n  public.notes:\n    select: [writer\n    insert: {}\n")
    with pytest.raises(SetupError) as caught:
        load(path)
    assert str(caught.value).startswith(f"{path}:8:11: not valid YAML: expected ',' or ']'")
