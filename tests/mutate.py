"""Switch each check of the ledger off, one at a time, and confirm the samples that prove it then fail.

    python tests/mutate.py                      # every check (before a release)
    python tests/mutate.py access.cell ...      # these checks
    python tests/mutate.py --changed origin/main  # the checks a change touches

Each check runs in a scratch copy of the repository whose marked statement
is `pass`; its package comes first on PYTHONPATH, so every pytest the samples
start imports it, and the samples run from the copy. A check is killed when
its samples fail there; it survives when they pass, i.e. when nothing would
notice the check is gone. The samples first run
once unchanged: a sample that fails on its own would make every mutant look
killed. Writes reports/mutations.json and .md; exit 0 when every check is
killed, 1 when one survives, 2 when the samples fail unchanged.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from ledger import REPO, Entry, Marked, entries, marked, switched_off

SAMPLE_TIMEOUT = 900  # seconds for one check's samples (they start servers and pytest subprocesses)
NOT_COPIED = (".git", ".venv", "node_modules", "reports", "build", "__pycache__", "*.egg-info", ".pytest_cache")


@dataclass(frozen=True)
class Outcome:
    check: str
    killed: bool
    seconds: float
    samples: tuple[str, ...]
    detail: str  # the samples' last lines when the check survived or the run broke


def run_samples(samples: tuple[str, ...], tree: Path = REPO) -> subprocess.CompletedProcess[str]:
    """The samples in one pytest run, from `tree` (a repository), with its package first on the path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tree / "src"), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q", *samples]
    try:
        return subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=SAMPLE_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        output = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        return subprocess.CompletedProcess(command, -1, output + f"\ntimed out after {SAMPLE_TIMEOUT} s", "")


def mutate(check: Marked, entry: Entry) -> Outcome:
    """Run the check's samples in a copy of the repository with the check switched off."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"p3t-mutant-{check.check}-") as scratch:
        tree = Path(scratch) / "repo"
        shutil.copytree(REPO, tree, ignore=shutil.ignore_patterns(*NOT_COPIED))
        if (REPO / "node_modules").is_dir():  # the pinned Supabase CLI, found beside the project
            (tree / "node_modules").symlink_to(REPO / "node_modules")
        target = tree / check.path.relative_to(REPO)
        target.write_text(switched_off(check.path.read_text(encoding="utf-8"), check.line), encoding="utf-8")
        result = run_samples(entry.samples, tree)
    tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-5:])
    killed = result.returncode not in (0, -1)
    return Outcome(check.check, killed, time.perf_counter() - started, entry.samples, "" if killed else tail)


def touched_checks(base: str, checks: dict[str, Marked], ledger: dict[str, Entry]) -> list[str]:
    """Checks whose statement's file, or whose samples' files, differ from `base`."""
    diff = subprocess.run(
        ["git", "diff", "--name-only", base, "--"], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
    )
    changed = {REPO / name for name in diff.stdout.split()}
    return [
        name
        for name, check in checks.items()
        if check.path in changed or any(REPO / sample.split("::")[0] in changed for sample in ledger[name].samples)
    ]


def write_report(folder: Path, outcomes: list[Outcome]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    killed = sum(outcome.killed for outcome in outcomes)
    data = {"killed": killed, "total": len(outcomes), "checks": [asdict(outcome) for outcome in outcomes]}
    (folder / "mutations.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    lines = [f"# Mutation run: {killed} of {len(outcomes)} checks killed", "", "| check | killed | seconds |"]
    lines += ["| --- | --- | ---: |"]
    lines += [f"| `{o.check}` | {'yes' if o.killed else '**SURVIVED**'} | {o.seconds:.0f} |" for o in outcomes]
    (folder / "mutations.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checks", nargs="*", help="check ids (default: every check of the ledger)")
    parser.add_argument("--changed", metavar="REV", help="only the checks whose code or samples differ from REV")
    parser.add_argument("--jobs", type=int, default=2, help="checks run at once (default 2)")
    parser.add_argument("--out", type=Path, default=REPO / "reports", help="where the report goes")
    args = parser.parse_args(argv)
    checks, ledger = marked(), entries()
    names = args.checks or (touched_checks(args.changed, checks, ledger) if args.changed else sorted(checks))
    unknown = [name for name in names if name not in checks or name not in ledger]
    if unknown:
        print(f"not a marked check with a ledger row: {', '.join(unknown)}", file=sys.stderr)
        return 2
    if not names:
        print("no check touched")
        return 0
    samples = tuple(sorted({sample for name in names for sample in ledger[name].samples}))
    print(f"{len(names)} check(s), {len(samples)} sample(s): first the samples unchanged", flush=True)
    unchanged = run_samples(samples)
    if unchanged.returncode != 0:
        print("the samples fail without any mutation:\n" + unchanged.stdout[-3000:], file=sys.stderr)
        return 2
    outcomes: list[Outcome] = []
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for outcome in pool.map(lambda name: mutate(checks[name], ledger[name]), names):
            print(
                f"  {'killed  ' if outcome.killed else 'SURVIVED'} {outcome.check} ({outcome.seconds:.0f} s)",
                flush=True,
            )
            if outcome.detail:
                print("    " + outcome.detail.replace("\n", "\n    "))
            outcomes.append(outcome)
    write_report(args.out, outcomes)
    killed = sum(outcome.killed for outcome in outcomes)
    print(f"killed {killed} of {len(outcomes)}; report: {args.out / 'mutations.md'}")
    return 0 if killed == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
