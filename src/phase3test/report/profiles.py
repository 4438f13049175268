"""The lock profiles in the report: a table for the pull request (report.md) and, per migration, a timeline of
the locks each table was held under in report.html, with its statements, findings and squawk beside them.

The data is report.json's `profiles` (profiling/serialize.py): one entry per migration the profile suite
measured, times in ms from the file's first statement.
"""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import Any

# Colours of a lock on the timeline, by whom it keeps waiting.
_LOCK_COLOUR = {"readers and writers": "#c0392b", "writers": "#e67e22", "": "#c9d1d9"}
_ROW, _LABEL, _WIDTH = 22, 230, 640  # pixels: a row's height, the table names' column, the time axis


def markdown(profiles: list[dict[str, Any]]) -> list[str]:
    """One row per migration: its time, the longest lock that blocks the API (measured, in production), the
    longest wait of a reader, findings failing / accepted, and where squawk and the measurement disagree."""
    if not profiles:
        return []
    lines = [
        "",
        "## Lock profile at production's size",
        "",
        "| migration | time | longest blocking lock (in production) | readers' longest wait | findings | squawk |",
        "| --- | ---: | --- | ---: | --- | --- |",
    ]
    for profile in profiles:
        failing = [f for f in profile["findings"] if f["accepted"] is None]
        accepted = len(profile["findings"]) - len(failing)
        found = f"{len(failing)} failing, {accepted} accepted" if profile["findings"] else "none"
        if profile["stale"]:
            found += f", {len(profile['stale'])} stale acceptance(s)"
        lines.append(
            f"| `{profile['migration']}` | {profile['ms']:,.0f} ms | {_longest_lock(profile)} "
            f"| {_readers_wait(profile)} | {found} | {_disagreements(profile)} |"
        )
    for profile in profiles:
        failing = [f for f in profile["findings"] if f["accepted"] is None]
        if failing or profile["stale"]:
            lines += ["", f"<details><summary>{profile['migration']}: why it fails</summary>", ""]
            lines += [f"- line {f['line']}: {f['message']}" for f in failing]
            lines += [f"- stale acceptance: {entry}" for entry in profile["stale"]]
            lines += ["", "</details>"]
    return lines


def html(profiles: list[dict[str, Any]]) -> list[str]:
    """Per migration: the timeline, then its findings, squawk beside the measurement, statements and waits."""
    if not profiles:
        return []
    out = [
        "<h2 id=profiles>Lock profile at production's size</h2>",
        "<p>Each migration applied to its tables grown to the profile's rows, before it commits. Per table the "
        "locks it held to commit: <span style='color:#c0392b'>■ blocks readers and writers</span> "
        "<span style='color:#e67e22'>■ blocks writers</span> <span style='color:#8c959f'>■ blocks neither</span>; "
        "the top row is the file's statements. Hover for figures.</p>",
    ]
    for profile in profiles:
        out += [
            f"<h3 id='profile-{escape(profile['migration'])}'><code>{escape(profile['migration'])}</code>: "
            f"{profile['ms']:,.0f} ms{'' if profile['transactional'] else ', statement by statement'}</h3>",
            _growth(profile),
            timeline(profile),
            *_findings(profile),
            *_beside_squawk(profile),
            *_statements(profile),
        ]
    return out


def timeline(profile: dict[str, Any]) -> str:
    """An SVG: the statements on top, then one row per table the file did not create, each lock a bar from the
    statement that took it to commit. Bars carry a <title> with the measured and production figures."""
    tables = list(dict.fromkeys(lock["table"] for lock in profile["locks"] if not lock["created"]))
    total = max(profile["ms"], 0.1)
    height = _ROW * (len(tables) + 2) + 10

    def x(ms: float) -> float:
        return _LABEL + _WIDTH * min(max(ms, 0.0), total) / total

    svg = [
        f"<svg class=timeline width='{_LABEL + _WIDTH + 20}' height='{height}' role=img "
        f"aria-label='locks per table over the time of {escape(profile['migration'])}'>",
        "<text x='0' y='15' font-size='12'>statements</text>",
    ]
    for statement in profile["statements"]:
        start = x(statement["start_ms"])
        width = max(1.0, x(statement["start_ms"] + statement["ms"]) - start)
        production = f", ≈ {statement['production_ms']:,.0f} ms in production" if statement["production_ms"] else ""
        title = f"line {statement['line']}: {statement['ms']:,.1f} ms{production}\n{statement['sql'][:120]}"
        svg.append(
            f"<rect class=statement x='{start:.1f}' y='4' width='{width:.1f}' height='{_ROW - 8}' fill='#4c8bf5' "
            f"stroke='white' stroke-width='0.5'><title>{escape(title)}</title></rect>"
        )
    for row, table in enumerate(tables, start=1):
        y = 4 + row * _ROW
        svg.append(f"<text x='0' y='{y + 12}' font-size='12'>{escape(table)}</text>")
        held = sorted((lock for lock in profile["locks"] if lock["table"] == table), key=lambda lock: lock["rank"])
        for lock in held:  # weakest first: a stronger lock taken later covers the weaker from where it starts
            start = x(lock["from_ms"])
            production = f", ≈ {lock['production_ms']:,.0f} ms in production" if lock["production_ms"] else ""
            blocks = f", blocks {lock['blocks']}" if lock["blocks"] else ""
            title = f"{lock['mode']} from line {lock['line']}: held {lock['held_ms']:,.1f} ms{production}{blocks}"
            svg.append(
                f"<rect class=lock x='{start:.1f}' y='{y}' width='{max(1.0, x(total) - start):.1f}' "
                f"height='{_ROW - 8}' fill='{_LOCK_COLOUR[lock['blocks']]}'><title>{escape(title)}</title></rect>"
            )
    axis_y = 4 + (len(tables) + 1) * _ROW
    svg += [
        f"<line x1='{_LABEL}' y1='{axis_y}' x2='{_LABEL + _WIDTH}' y2='{axis_y}' stroke='#57606a'/>",
        f"<text x='{_LABEL}' y='{axis_y + 14}' font-size='11'>0 ms</text>",
        f"<text x='{_LABEL + _WIDTH}' y='{axis_y + 14}' font-size='11' text-anchor='end'>{total:,.0f} ms"
        " (commit)</text>",
        "</svg>",
    ]
    return "".join(svg)


def _growth(profile: dict[str, Any]) -> str:
    grown = [g for g in profile["growth"] if g["after"] > g["before"] or g["short"]]
    if not grown:
        return "<p>Measured on the seed data as it is (no table to grow).</p>"
    parts = [
        f"<code>{escape(g['table'])}</code> {g['before']:,} → {g['after']:,} rows"
        + (f" (short of {g['target']:,}: {escape(g['short'])})" if g["short"] else "")
        for g in grown
    ]
    carried_to = {
        g["table"]: profile["production_rows"][g["table"]] for g in grown if g["table"] in profile["production_rows"]
    }
    production = ", ".join(f"<code>{escape(t)}</code> {n:,}" for t, n in carried_to.items())
    carried = f" Carried to production's rows: {production}." if production else ""
    return f"<p>Grown: {'; '.join(parts)}.{carried}</p>"


def _findings(profile: dict[str, Any]) -> list[str]:
    if not profile["findings"] and not profile["stale"]:
        return ["<p class=passed>No finding: nothing it does keeps the API waiting past the budget.</p>"]
    items = [
        f"<li class={'failed' if f['accepted'] is None else 'accepted'}>line {f['line']}: {escape(f['message'])}"
        + (f" <em>accepted: {escape(f['accepted'])}</em>" if f["accepted"] is not None else "")
        + "</li>"
        for f in profile["findings"]
    ]
    items += [f"<li class=failed>stale acceptance: {escape(entry)}</li>" for entry in profile["stale"]]
    return ["<ul>", *items, "</ul>"]


def _beside_squawk(profile: dict[str, Any]) -> list[str]:
    if profile["squawk"] is None:
        return ["<p>squawk is not installed: no static verdict to set beside the measurement.</p>"]
    if not profile["squawk"]:
        return ["<p>squawk and the measurement agree: neither has anything to say.</p>"]
    rows = [
        f"<tr><td>{c['line']}</td><td>{escape(c['agreement'])}</td>"
        f"<td>{'<br>'.join(escape(said) for said in c['squawk']) or 'nothing'}</td>"
        f"<td>{escape(', '.join(c['measured']) or 'within budget')}: {escape(c['summary'])}</td></tr>"
        for c in profile["squawk"]
    ]
    return [
        "<table class=squawk><tr><th>line</th><th>who flags it</th><th>squawk (static)</th>"
        "<th>the profile (measured)</th></tr>",
        *rows,
        "</table>",
    ]


def _statements(profile: dict[str, Any]) -> list[str]:
    rows = []
    for statement in profile["statements"]:
        effects = [f"{lock['mode']} on {lock['table']}" for lock in statement["locks"]]
        effects += [f"rewrites {table}" for table in statement["rewrote"]]
        effects += [f"reads {table} in full" for table in statement["scanned"]]
        production = (
            f"≈ {statement['production_ms']:,.0f} ms ({statement['growth']})" if statement["production_ms"] else ""
        )
        first = statement["sql"].splitlines()[0][:90] if statement["sql"] else ""
        rows.append(
            f"<tr><td>{statement['line']}</td><td>{statement['ms']:,.1f}</td><td>{escape(production)}</td>"
            f"<td><code>{escape(first)}</code></td><td>{escape('; '.join(effects))}</td></tr>"
        )
    waits = [
        f"<li>{escape(w['kind'])} of <code>{escape(w['table'])}</code>: longest query {w['longest_ms']:,.1f} ms"
        + (f", waited for {escape(', '.join(w['waited_for']))}" if w["waited_for"] else ", waited for no lock")
        + (f", ≈ {w['production_ms']:,.0f} ms in production" if w["production_ms"] is not None else "")
        + "</li>"
        for w in profile["waits"]
    ]
    return [
        "<details><summary>statements and the API's waits</summary>",
        "<table><tr><th>line</th><th>ms</th><th>in production</th><th>statement</th>"
        "<th>locks, rewrites, reads</th></tr>",
        *rows,
        "</table>",
        *(["<ul>", *waits, "</ul>"] if waits else []),
        "</details>",
    ]


def _longest_lock(profile: dict[str, Any]) -> str:
    blocking = [lock for lock in profile["locks"] if lock["blocks"] and not lock["created"]]
    if not blocking:
        return "none that blocks the API"

    def expected(lock: dict[str, Any]) -> float:
        return lock["held_ms"] if lock["production_ms"] is None else lock["production_ms"]

    longest = max(expected(lock) for lock in blocking)  # of those held about as long, the strongest
    lock = max((lock for lock in blocking if expected(lock) >= 0.9 * longest), key=lambda lock: lock["rank"])
    production = f" (≈ {lock['production_ms']:,.0f} ms)" if lock["production_ms"] is not None else ""
    return f"{lock['mode']} on `{lock['table']}` {lock['held_ms']:,.0f} ms{production}"


def _readers_wait(profile: dict[str, Any]) -> str:
    readers = [w for w in profile["waits"] if w["kind"] == "readers"]
    if not readers:
        return "-"
    wait = max(readers, key=lambda w: w["longest_ms"])
    return f"{wait['longest_ms']:,.0f} ms"


def _disagreements(profile: dict[str, Any]) -> str:
    """`2 squawk only, 1 measured only`: the statements where the static guess and the measurement differ."""
    if profile["squawk"] is None:
        return "squawk not installed"
    counts = Counter(compared["agreement"] for compared in profile["squawk"])
    return ", ".join(f"{n} {agreement}" for agreement, n in counts.items()) or "agree: nothing flagged"
