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
