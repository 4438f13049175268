"""Turn the collected figures (the same dict `--json` writes) into a fixed-width text report."""

from __future__ import annotations

import textwrap

import gate_scale
from measure import duration, factor, ratio_text

# (subject, baseline): the comparisons worked out as ratios, in this order
COMPARISONS = (
    ("warm_start", "supabase_db_reset"),
    ("warm_start", "naive_run_setup"),
    ("cold_start", "naive_run_setup"),
    ("db_isolation", "supabase_db_reset"),
    ("db_isolation", "naive_per_test"),
    ("fresh_clone", "supabase_db_reset"),
    ("fresh_clone", "naive_per_test"),
    ("pool_handout", "fresh_clone"),
    ("pool_per_test", "fresh_clone"),
)
# table columns: heading and the baselines whose ratio goes there
RATIO_COLUMNS = (
    ("vs db reset", ("supabase_db_reset",)),
    ("vs naive", ("naive_run_setup", "naive_per_test")),
    ("vs clone", ("fresh_clone",)),
)
WIDTHS = (29, 9, 9, 9, 8, 3, 14, 14, 14)  # label, median, min, max, goal, met, ratio columns
WRAP = 100
NOISE = 1.5  # max/min above this gets a note


def ratios(results: dict) -> list[dict]:  # type: ignore[type-arg]
    """Every comparison whose two figures exist; factor above 1 means phase3test is faster."""
    found = []
    for subject, baseline in COMPARISONS:
        ours = results["measurements"].get(subject, {}).get("median")
        theirs = (
            results["baselines"].get(baseline, {}).get("stats") or results["measurements"].get(baseline) or {}
        ).get("median")
        if ours is None or theirs is None:
            continue
        ratio = factor(theirs, ours)
        text = _sentence(_noun(results, subject), ratio, _noun(results, baseline))
        found.append({"subject": subject, "baseline": baseline, "factor": ratio, "text": text})
    return found


def _sentence(subject: str, ratio: float, baseline: str) -> str:
    words = ratio_text(ratio)
    return f"{subject} is as fast as {baseline}" if words == "as fast" else f"{subject} is {words} than {baseline}"


def _noun(results: dict, key: str) -> str:  # type: ignore[type-arg]
    entry = results["measurements"].get(key) or results["baselines"].get(key) or {}
    return str(entry.get("noun") or entry.get("label") or key)


def render(results: dict) -> str:  # type: ignore[type-arg]
    lines = [*_header(results), "", *_table(results), "", *_seeding(results), *_matviews(results)]
    lines += [*_profiling(results), *gate_scale.render(results.get("gate_scale") or {}), *_details(results)]
    lines += ["", "ratios (medians of this run):"]
    lines += [f"  {r['text']}" for r in results["ratios"]] or ["  none: no baseline could run"]
    lines += ["", summary(results)]
    return "\n".join(lines)


def _header(results: dict) -> list[str]:  # type: ignore[type-arg]
    machine, pg, project = results["machine"], results["postgres"], results["project"]
    cli = results["baselines"].get("supabase_db_reset", {})
    batches = {key: results["measurements"].get(key, {}).get("batch", 1) for key in ("db_isolation", "fresh_clone")}
    return [
        "phase3test benchmarks",
        f"  machine   {machine['cpu_count']} cores (os.cpu_count()), {machine['platform']}, Python {machine['python']}",
        f"  postgres  PostgreSQL {pg['version']} ({pg['source']}, {pg['bindir']}), server runs as {pg['run_as']}",
        f"  project   {project['supabase_dir']} ({len(project['migrations'])} migrations)",
        f"  supabase  CLI {cli.get('version') or 'unavailable'}",
        f"  samples   {results['repeat']} per row: median, min, max; a per-test sample is the mean of "
        f"{batches['db_isolation']} (db) / {batches['fresh_clone']} (clone) tests; the pool's rows: every "
        f"handout is a sample ({len(results['measurements'].get('pool_handout', {}).get('samples', []))})",
    ]


def _table(results: dict) -> list[str]:  # type: ignore[type-arg]
    headings = ("measurement", "median", "min", "max", "goal", "met", *(name for name, _ in RATIO_COLUMNS))
    rule = "-" * (sum(WIDTHS) + len(WIDTHS) - 1)
    lines = [_row(headings), rule, "phase3test"]
    found = {(r["subject"], r["baseline"]): r["factor"] for r in results["ratios"]}
    for key, entry in results["measurements"].items():
        cells = [duration(entry["median"]), duration(entry["min"]), duration(entry["max"])]
        cells += [f"< {duration(entry['goal'])}", "yes" if entry["goal_met"] else "NO"]
        for _, baselines in RATIO_COLUMNS:
            ratio = next((found[(key, b)] for b in baselines if (key, b) in found), None)
            cells.append(ratio_text(ratio) if ratio is not None else "-")
        lines.append(_row((f"  {entry['label']}", *cells)))
    lines.append("baselines")
    for entry in results["baselines"].values():
        stats = entry.get("stats")
        cells = [duration(stats[k]) for k in ("median", "min", "max")] if stats else ["failed", "", ""]
        lines.append(_row((f"  {entry['label']}", *cells)).rstrip())
    return [*lines, rule]


def _seeding(results: dict) -> list[str]:  # type: ignore[type-arg]
    """Rows, seconds and rows per second per domain, per scale (seeding goal: 100,000 rows/s)."""
    measured = results.get("seeding") or {}
    if not measured:
        return []
    scales = list(measured)
    lines = [
        "seeding the Phase 3 schema (seed 0, COPY, one transaction, medians; goal 100,000 rows/s):",
        f"  {'domain':<26}" + "".join(f"{'scale ' + s + ' rows':>17}{'seconds':>9}{'rows/s':>9}" for s in scales),
    ]
    for domain in measured[scales[0]]:
        cells = "".join(_seeding_cells(measured[s][domain]) for s in scales)
        lines.append(f"  {domain:<26}{cells}")
    return [*lines, ""]


def _seeding_cells(part: dict[str, float]) -> str:
    """A part without rows of its own (the checks after loading) shows only its time."""
    if not part["rows"]:
        return f"{'':>17}{part['seconds']:>9.2f}{'':>9}"
    return f"{part['rows']:>17,.0f}{part['seconds']:>9.2f}{part['rate']:>9,.0f}"


def _matviews(results: dict) -> list[str]:  # type: ignore[type-arg]
    """Refresh time per view, and readers' latency during a concurrent versus a plain refresh."""
    measured = results.get("matviews") or {}
    if not measured:
        return []
    lines = [
        "materialized views (medians; readers' latency while the refresh's transaction is open 0.2 s):",
        f"  {'scale':>5}  {'view':<34}{'refresh':>10}{'concurrent median/p99':>24}{'plain median/p99':>22}",
    ]
    for scale, views in measured.items():
        for view, f in views.items():
            lines.append(
                f"  {scale:>5}  {view:<34}{f['refresh_ms']:>8.1f}ms"
                f"{f['concurrent_median_ms']:>13.2f} / {f['concurrent_p99_ms']:>6.1f} ms"
                f"{f['plain_median_ms']:>11.2f} / {f['plain_p99_ms']:>6.1f} ms"
                + (f"  ({f['errors']:.0f} errors!)" if f["errors"] else "")
            )
    return [*lines, ""]


def _profiling(results: dict) -> list[str]:  # type: ignore[type-arg]
    """`phase3test profile` per row count, where its time goes, the same check by hand, and the cost per
    million rows between row counts (equal from one step to the next: linear)."""
    measured = results.get("profiling") or {}
    if not measured.get("scales"):
        return []
    lines = [
        f"phase3test profile of one migration on public.events ({measured['seed_rows']:,} seed rows grown; "
        f"server up once in {duration(measured['server_start_s'])}, not counted):",
        f"  {'rows':>9} {'n':>2}{'median':>9}{'min':>9}{'max':>9}{'grow':>9}{'applies':>9}{'workload':>9}"
        f"{'other':>9}  {'by hand':>9}{'fill':>9}{'apply':>9}{'ratio':>8}",
    ]
    for rows, f in measured["scales"].items():
        parts, hand = f["parts"], f["baseline"]
        lines.append(
            f"  {int(rows):>9,} {len(f['samples']):>2}"
            + "".join(f"{duration(f[k]):>9}" for k in ("median", "min", "max"))
            + "".join(f"{duration(parts[k]):>9}" for k in ("grow", "measured applies", "workload pass", "other"))
            + f"  {duration(hand['median']):>9}{duration(hand['fill']):>9}{duration(hand['apply']):>9}"
            + f"{f['ratio']:>7.1f}x"
        )
    for step in measured["growth"]:
        lines.append(
            f"  {step['from']:,} -> {step['to']:,} rows: profile {step['profile_s_per_million']:.2f} s per million "
            f"rows, by hand {step['by_hand_s_per_million']:.2f} s"
        )
    short = [rows for rows, f in measured["scales"].items() if len(f["samples"]) < measured["repeat"]]
    notes = [
        "ratio: profile median / by-hand median (fill with generate_series + the migration applied once); "
        "medians of n runs each",
    ]
    notes += [
        f"at {int(rows):,} rows the table was grown to {f['grown_to']:,} rows only"
        for rows, f in measured["scales"].items()
        if f["grown_to"] != int(rows)
    ]
    if short:
        notes.append(
            f"fewer runs at {', '.join(f'{int(r):,}' for r in short)} rows: no repeat is started once a row "
            f"count's runs took {measured['budget_s']:.0f} s"
        )
    return [*lines, *(line for note in notes for line in _item(note)), ""]


def _row(cells: tuple[str, ...]) -> str:
    first, *rest = cells
    return f"{first:<{WIDTHS[0]}} " + " ".join(f"{c:>{w}}" for c, w in zip(rest, WIDTHS[1:], strict=False))


def _details(results: dict) -> list[str]:  # type: ignore[type-arg]
    lines = ["what each row measures:"]
    for entry in (*results["measurements"].values(), *results["baselines"].values()):
        lines += _item(f"{entry['label']}: {entry['description']}")
    breakdown = results["measurements"]["cold_start"].get("breakdown") or {}
    parts = {"bootstrap_cache": "initdb + bootstrap", "migrated_cache": "migrations", "start": "copy + start"}
    if breakdown:
        shown = ", ".join(f"{name} {duration(breakdown[key])}" for key, name in parts.items() if key in breakdown)
        lines += _item(f"cold start breakdown (medians of Provisioned.timings): {shown}")
    counts = results["measurements"].get("pool_handout", {}).get("pool")
    if counts:
        lines += _item(
            f"the pool while measured: {counts['handed_out']} of {counts['handed_out'] + counts['missed']} "
            f"handouts ready, {counts['made']} clones made ahead, {counts['reused']} handed back untouched and reused"
        )
    cli = results["baselines"].get("supabase_db_reset", {})
    if cli.get("error"):
        lines += _item(f"supabase db reset {cli.get('status', 'failed').upper()}: {cli['error']}")
    for key, entry in results["baselines"].items():
        if key != "supabase_db_reset" and entry.get("status") != "ok":
            lines += _item(f"{entry['label']} FAILED: {entry.get('error')}")
    for note in [*results.get("notes", []), *_noisy(results)]:
        lines += _item(f"note: {note}")
    return lines


def _item(text: str) -> list[str]:
    """A bullet wrapped to the report's width, continuation lines indented."""
    return textwrap.wrap(text, WRAP, initial_indent="  ", subsequent_indent="      ")


def _noisy(results: dict) -> list[str]:  # type: ignore[type-arg]
    """Rows whose spread says the machine was busy: compare their medians with care."""
    rows = [
        *results["measurements"].values(),
        *(b["stats"] | b for b in results["baselines"].values() if b.get("stats")),
        *(
            f | {"label": f"profile at {int(rows):,} rows"}
            for rows, f in (results.get("profiling") or {}).get("scales", {}).items()
        ),
    ]
    return [
        f"{row['label']} varied a lot (min {duration(row['min'])}, max {duration(row['max'])}): "
        "the machine was busy; compare medians with care"
        for row in rows
        if row["min"] > 0 and row["max"] / row["min"] > NOISE
    ]


def summary(results: dict) -> str:  # type: ignore[type-arg]
    meas = results["measurements"]
    met = sum(1 for m in meas.values() if m["goal_met"])
    found = {(r["subject"], r["baseline"]): r["factor"] for r in results["ratios"]}
    against = [
        _sentence("", found[("warm_start", key)], name).removeprefix(" is ")
        for key, name in (("supabase_db_reset", "supabase db reset"), ("naive_run_setup", "the naive setup"))
        if ("warm_start", key) in found
    ]
    warm = f"warm start {duration(meas['warm_start']['median'])}" + (f" ({', '.join(against)})" if against else "")
    per_test = (
        f"per test {duration(meas['db_isolation']['median'])} (db) / {duration(meas['fresh_clone']['median'])} (clone)"
        f" / {duration(meas['pool_per_test']['median'])} (pooled clone, handed out in "
        f"{duration(meas['pool_handout']['median'])})"
    )
    naive = results["baselines"].get("naive_per_test", {}).get("stats")
    if naive:
        per_test += f" vs {duration(naive['median'])} naive"
    return f"summary: {met}/{len(meas)} goals met; {warm}; {per_test}; took {results['elapsed']:.0f} s"
