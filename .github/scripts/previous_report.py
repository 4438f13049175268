"""Fetch the report.json attached to the release published before this one, the baseline the release report
compares with. Run by .github/workflows/release-report.yml with the GitHub CLI (`gh`) on PATH:

    python3 .github/scripts/previous_report.py <this release's tag> <folder>

Writes <folder>/report.json and prints its path; with no earlier release, or none carrying a report.json,
says so and writes nothing (the report is then made without a baseline). The previous release is the newest
one published before this one, drafts left out; a full release compares with full releases only, a
prerelease with any release before it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def gh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["gh", *args], capture_output=True, text=True, timeout=120)


def previous_release(tag: str, releases: list[dict[str, object]]) -> str | None:
    """The tag of the release published before `tag` that a release like it compares with."""
    current = next((r for r in releases if r["tagName"] == tag), None)
    if current is None or not current.get("publishedAt"):
        return None
    earlier = [
        r
        for r in releases
        if r["tagName"] != tag
        and not r.get("isDraft")
        and r.get("publishedAt")
        and str(r["publishedAt"]) < str(current["publishedAt"])
        and (current.get("isPrerelease") or not r.get("isPrerelease"))
    ]
    return str(max(earlier, key=lambda r: str(r["publishedAt"]))["tagName"]) if earlier else None


def main(tag: str, folder: Path) -> int:
    listed = gh("release", "list", "--limit", "200", "--json", "tagName,publishedAt,isDraft,isPrerelease")
    if listed.returncode != 0:
        print(f"cannot list the releases: {listed.stderr.strip()}", file=sys.stderr)
        return 1
    previous = previous_release(tag, json.loads(listed.stdout))
    if previous is None:
        print(f"no release before {tag}: the report has no baseline")
        return 0
    fetched = gh("release", "download", previous, "--pattern", "report.json", "--dir", str(folder), "--clobber")
    if fetched.returncode != 0 or not (folder / "report.json").is_file():
        print(f"{previous} has no report.json attached: the report has no baseline")
        return 0
    print(folder / "report.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2])))
