"""The release report as one self-contained HTML file: no script, no font, nothing fetched.

Sections: the verdict and counts, what changed since the baseline (when one
was given), the access grid in colour, each migration's results per suite,
refresh timings as an inline SVG bar chart, each migration's lock profile as
a timeline per table (report/profiles.py), Supabase's advisors' lints, and
the failures.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from html import escape
from typing import Any

from phase3test.access.matrix import EXECUTE, OPERATIONS
from phase3test.report import baseline, profiles
from phase3test.report.access_grid import CODES, NOT_CHECKED, tally
from phase3test.report.access_grid import FAILED as FAILED_CODE
from phase3test.report.outcomes import FAILED, PASSED, counted

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em; color: #1d2125; }
h1 { margin-bottom: 0.2em; } .passed { color: #1a7f37; } .failed, .error { color: #c0392b; }
table { border-collapse: collapse; margin: 0.8em 0; } th, td { border: 1px solid #d0d7de; padding: 2px 6px; }
th { background: #f6f8fa; text-align: left; } td.code { font-family: ui-monospace, monospace; text-align: center; }
.A { background: #ffe2b3; } .O { background: #cfe6ff; } .D { background: #eef0f2; color: #8c959f; }
.X { background: #c0392b; color: white; font-weight: bold; }
.pass { background: #dafbe1; } .fail { background: #ffd7d5; } .skip { background: #eef0f2; }
.widened { color: #c0392b; font-weight: bold; } code { font-size: 90%; } .accepted { color: #57606a; }
"""
LEVELS = ("ERROR", "WARN", "INFO")  # Supabase's advisors' levels, gravest first
_CSS_CLASS = {"-": "D"}  # a grid code's CSS class where it is not the code itself
# The per-migration suites: test function -> column heading.
MIGRATION_CHECKS = {
    "test_applying_a_second_time_changes_neither_schema_nor_data": "re-apply",
    "test_rolling_back_restores_the_schema_and_re_applying_rebuilds_it": "round trip",
    "test_rolling_back_keeps_the_rows_of_every_table_it_does_not_change": "rows kept on rollback",
    "test_a_database_from_before_this_migration_keeps_its_rows_up_to_the_head": "re-run from before",
    "test_new_tables_in_exposed_schemas_enable_row_level_security": "RLS on new tables",
    "test_squawk_is_clean": "squawk",
    "test_the_migration_keeps_the_api_waiting_no_longer_than_the_budget": "lock profile",
}


def render(data: dict[str, Any], results: dict[str, str]) -> str:
    """`data` is report.json; `results` maps every test id to its outcome (outcomes.OUTCOMES)."""
    verdict = data["outcome"]
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        "<title>Migration gate report</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Migration gate: <span class={verdict}>{verdict.upper()}</span></h1>",
        f"<p>{escape(_counts(data))}</p>",
        *_setup_errors(data.get("setup_errors", [])),
        *_changes(data.get("changes")),
        *_access_grid(data["access"], data.get("access_roles") or [], data.get("rls_cost") or []),
        *_migrations(data["migrations"], results),
        *_refresh_chart(data["matviews"]),
        *profiles.html(data.get("profiles", [])),
        *_advisors(data.get("advisors", [])),
        *_listed("Checks that ran under other conditions", data.get("conditions", []), "note"),
        *_listed("Skipped", data.get("skips", []), "reason"),
        *_failures(data["failures"]),
        *_not_run(data.get("not_run", [])),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _listed(title: str, entries: list[dict[str, str]], key: str) -> list[str]:
    """A heading and one line per test: `test`, then what the entry says about it."""
    if not entries:
        return []
    items = [f"<li><code>{escape(e['test'])}</code>: {escape(e[key])}</li>" for e in entries]
    return [f"<h2>{escape(title)} ({len(entries)})</h2>", "<ul>", *items, "</ul>"]


def _counts(data: dict[str, Any]) -> str:
    totals, versions = data["totals"], data["versions"]
    return (
        f"{sum(totals.values()):,} tests in {data['elapsed_s']} s: {counted(totals)}"
        + f". {len(data['migrations'])} migrations; PostgreSQL {versions.get('postgres') or '?'} "
        f"({versions.get('backend', 'embedded')} backend); "
        f"phase3test {versions['phase3test']}; finished {data['finished_at']}."
    )


def _changes(changes: dict[str, Any] | None) -> list[str]:
    if not changes:
        return []
    css = {"widened": " class=widened", "narrowed": " class=narrowed", "failing": " class=failed"}
    listed = [
        f"<li{css.get(item.kind, '')}>{escape(item.lead)}<code>{escape(item.code)}</code>{escape(item.tail)}</li>"
        for item in baseline.items(changes)
    ]
    since = escape(str(changes["baseline"]["finished_at"]))
    return [f"<h2>Since the baseline ({since})</h2>", "<ul>", *(listed or ["<li>nothing changed</li>"]), "</ul>"]


def _access_grid(cells: list[dict[str, Any]], order: list[str], costs: list[dict[str, Any]]) -> list[str]:
    if not cells:
        return []
    slowest: dict[tuple[str, str], dict[str, Any]] = {}  # (table, role) -> its slower read
    for cost in costs:
        key = (cost["table"], cost["role"])
        if key not in slowest or cost["ratio"] > slowest[key]["ratio"]:
            slowest[key] = cost
    present = set(cell["role"] for cell in cells)
    roles = [role for role in order if role in present] + sorted(present - set(order))
    by_key = {(c["table"], c["role"], c["operation"]): c for c in cells}
    out = [
        f"<h2 id=access>Access matrix: {escape(tally(cells))}</h2>",
        "<p>Per table: select, insert, update, delete; per function: execute. "
        "<span class=A>A allow</span> <span class=O>O own</span> <span class=D>- deny</span> "
        "<span class=X>X found otherwise</span> <span class=D>? not checked: nothing to act on</span>"
        + (" <small class=cost>x2.0</small> a signed-in read takes twice service_role's (RLS cost)" if costs else "")
        + "</p>",
        "<table class=grid><tr><th>table / function</th>" + "".join(f"<th>{escape(r)}</th>" for r in roles) + "</tr>",
    ]
    names = list(dict.fromkeys(c["table"] for c in cells))
    for name in names:
        operations = (EXECUTE,) if (name, roles[0], EXECUTE) in by_key else OPERATIONS
        row = [f"<tr><th><code>{escape(name)}</code></th>"]
        for role in roles:
            codes = []
            for operation in operations:
                cell = by_key.get((name, role, operation))
                if cell is None:
                    continue
                label = (
                    NOT_CHECKED
                    if cell.get("unchecked")
                    else FAILED_CODE
                    if cell["problem"]
                    else CODES[cell["expected"]]
                )
                kind = _CSS_CLASS.get(label, label)
                title = escape(
                    f"{operation}: {cell['expected']}"
                    + (
                        f" - {cell['problem'] or cell.get('unchecked')}"
                        if cell["problem"] or cell.get("unchecked")
                        else ""
                    )
                )
                codes.append(f"<span class={kind} title='{title}'>{label}</span>")
            slower = slowest.get((name, role))
            if slower is not None:
                codes.append(_ratio(slower))
            row.append(f"<td class=code>{''.join(codes)}</td>")
        out.append("".join(row) + "</tr>")
    return [*out, "</table>"]


def _ratio(cost: dict[str, Any]) -> str:
    """A select cell's RLS cost: its slower read's time against service_role's, the cause in the title."""
    title = escape(
        f"{cost['read']} as {cost['role']}: {cost['role_ms']:.2f} ms, as service_role {cost['service_ms']:.2f} ms "
        f"at {cost['rows']:,} rows" + (": " + "; ".join(cost["causes"]) if cost["causes"] else "")
    )
    return f" <small class=cost title='{title}'>x{cost['ratio']:.1f}</small>"


def _migrations(migrations: list[dict[str, str]], results: dict[str, str]) -> list[str]:
    if not migrations:
        return []
    out = [
        "<h2 id=migrations>Migrations: results per suite</h2>",
        "<table><tr><th>migration</th><th>sha256</th>"
        + "".join(f"<th>{escape(h)}</th>" for h in MIGRATION_CHECKS.values())
        + "</tr>",
    ]
    for migration in migrations:
        stem = f"{migration['version']}_{migration['name']}"
        row = [f"<tr><td><code>{escape(stem)}</code></td><td><code>{migration['sha256'][:12]}</code></td>"]
        for test in MIGRATION_CHECKS:
            outcome = next((o for tid, o in results.items() if f"::{test}[{stem}]" in tid), None)
            css = {PASSED: "pass", FAILED: "fail"}.get(outcome or "", "skip")
            row.append(f"<td class={css}>{escape(outcome or 'not checked')}</td>")
        out.append("".join(row) + "</tr>")
    return [*out, "</table>"]


def _refresh_chart(matviews: dict[str, dict[str, float]]) -> list[str]:
    if not matviews:
        return []
    views = sorted(matviews)
    longest = max(matviews[v].get("refresh_ms", 0.0) for v in views) or 1.0
    bar_height, label_width, width = 22, 300, 360
    svg = [
        f"<svg width='{label_width + width + 80}' "
        f"height='{bar_height * len(views) + 10}' role=img aria-label='refresh time per view'>"
    ]
    for i, view in enumerate(views):
        ms = matviews[view].get("refresh_ms", 0.0)
        y = 5 + i * bar_height
        length = max(1.0, width * ms / longest)
        svg += [
            f"<text x='0' y='{y + 15}' font-size='12'>{escape(view)}</text>",
            f"<rect x='{label_width}' y='{y + 3}' width='{length:.1f}' height='{bar_height - 8}' fill='#4c8bf5'/>",
            f"<text x='{label_width + length + 6:.1f}' y='{y + 15}' font-size='12'>{ms:.1f} ms</text>",
        ]
    svg.append("</svg>")
    rows = "".join(
        f"<tr><td><code>{escape(v)}</code></td><td>{f['concurrent_median_ms']:.2f} / {f['concurrent_p99_ms']:.1f}</td>"
        f"<td>{f['plain_median_ms']:.2f} / {f['plain_p99_ms']:.1f}</td></tr>"
        for v, f in sorted(matviews.items())
    )
    return [
        "<h2 id=matviews>Materialized views</h2>",
        "<p>Concurrent refresh time per view (median of 3):</p>",
        "".join(svg),
        "<p>Readers' latency in ms (median / p99) while a refresh holds its transaction open:</p>",
        f"<table><tr><th>view</th><th>concurrent refresh</th><th>plain refresh</th></tr>{rows}</table>",
    ]


def _advisors(reported: list[dict[str, str]]) -> list[str]:
    """One row per lint and level: its name linked to Supabase's page on it, how many, every object."""
    if not reported:
        return []
    rows = []
    for group in by_lint(reported):
        name, remedy = f"<code>{escape(group.lint)}</code>", escape(group.remediation)
        if group.remediation.startswith("https://"):  # most lints give their page; a few say what to do
            name, remedy = f"<a href='{remedy}'>{name}</a>", ""
        objects = ", ".join(f"<code>{escape(o)}</code>" for o in group.objects)
        cells = (escape(group.level), name, str(group.count), objects, remedy)
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    return [
        f"<h2 id=advisors>Supabase's advisors: {len(reported)} lint(s) not accepted</h2>",
        "<table><tr><th>level</th><th>lint</th><th>found</th><th>on</th><th>remedy</th></tr>",
        *rows,
        "</table>",
    ]


@dataclass(frozen=True)
class Group:
    """One lint at one level as a report shows it: how many findings, on which objects, Supabase's remedy."""

    level: str
    lint: str
    remediation: str
    count: int
    objects: list[str]  # distinct, sorted: a lint may find several things on one table


def by_lint(reported: list[dict[str, str]]) -> list[Group]:
    """The report's lints (`Lint.to_json`) grouped per level and lint, gravest first, for report.md and .html."""
    groups: dict[tuple[str, str], list[dict[str, str]]] = {}
    for lint in sorted(reported, key=lambda lint: (LEVELS.index(lint["level"]), lint["lint"])):
        groups.setdefault((lint["level"], lint["lint"]), []).append(lint)
    return [
        Group(level, name, found[0]["remediation"], len(found), sorted({lint["object"] for lint in found}))
        for (level, name), found in groups.items()
    ]


def _failures(failures: list[dict[str, str]]) -> list[str]:
    if not failures:
        return []
    items = "".join(f"<li><code>{escape(f['test'])}</code>:<pre>{escape(f['message'])}</pre></li>" for f in failures)
    return [f"<h2 id=failures>Failures ({len(failures)})</h2>", f"<ul>{items}</ul>"]


def _setup_errors(errors: list[str]) -> list[str]:
    if not errors:
        return []
    return ["<h2>Setup errors (fix these first)</h2>", *(f"<pre>{escape(error)}</pre>" for error in errors)]


def _not_run(not_run: list[dict[str, str]]) -> list[str]:
    """Tests a failure above kept from running, counted per reason (they are many, the reasons few)."""
    if not not_run:
        return []
    reasons = Counter(test["reason"] for test in not_run)
    items = "".join(f"<li>{count} test(s): {escape(reason)}</li>" for reason, count in reasons.items())
    return [f"<h2>Not run because of a failure ({len(not_run)})</h2>", f"<ul>{items}</ul>"]
