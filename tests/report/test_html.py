"""The HTML report's parts that need no gate run."""

from __future__ import annotations

from phase3test.report.html import by_lint
from phase3test.supabase.advisors import Lint


def test_the_report_groups_lints_per_level_and_lint_gravest_first():
    page = "https://supabase.com/docs/guides/database/database-linter?lint=0005_unused_index"
    found = [
        Lint("unused_index", "INFO", "public.notes", "Index `a` ...", page, ""),
        Lint("multiple_permissive_policies", "WARN", "public.notes", "...", "https://...", ""),
        Lint("unused_index", "INFO", "public.notes", "Index `b` ...", page, ""),
        Lint("unused_index", "INFO", "public.tags", "Index `c` ...", page, ""),
        Lint("fkey_to_auth_unique", "ERROR", "public.notes", "...", "Drop the foreign key ...", ""),
    ]
    groups = by_lint([lint.to_json() for lint in found])
    assert [(g.level, g.lint, g.count, g.objects) for g in groups] == [
        ("ERROR", "fkey_to_auth_unique", 1, ["public.notes"]),
        ("WARN", "multiple_permissive_policies", 1, ["public.notes"]),
        ("INFO", "unused_index", 3, ["public.notes", "public.tags"]),
    ]
    assert groups[2].remediation == page
