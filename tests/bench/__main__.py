"""`python -m tests.bench [--only GROUP ...]`: run every benchmark group, print one table, write JSON.

Each group runs in a child process with a deadline; a group that crashes or overruns still leaves
its rows in the table, marked as not measured with the reason. The JSON goes to $BENCH_OUT
(default bench-results.json) and holds the machine, every figure and how long the run took.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tests.bench.common import MISSING, NOT_MEASURABLE, OK, Figure, figures_from_json
from tests.bench.machine import describe, one_line


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    module: str
    deadline: float  # seconds
    placeholders: tuple[tuple[str, str, str, str], ...]  # (key, name, unit, target) if it yields nothing


GROUPS = (
    Group(
        "availability",
        "tests.bench.availability",
        120,
        (
            (
                "availability",
                "availability: earliest 2-h slot, 50 techs × 14 days (from the store)",
                "ms",
                "≤ 20 ms median",
            ),
        ),
    ),
    Group(
        "board",
        "tests.bench.board",
        180,
        (
            ("board_first_paint", "board paint: week view, first paint (layout + paint)", "ms", "≤ 50 ms"),
            ("board_scroll_frame", "board paint: week view, one scroll frame", "ms", "≤ 16 ms"),
        ),
    ),
)


def run_group(group: Group) -> tuple[list[Figure], float]:
    started = time.perf_counter()
    with tempfile.NamedTemporaryFile(prefix=f"bench-{group.name}-", suffix=".json", delete=False) as handle:
        out = handle.name
    reason = ""
    try:
        completed = subprocess.run(
            [sys.executable, "-m", group.module, out], timeout=group.deadline, check=False
        )
        if completed.returncode == 0:
            items = json.loads(Path(out).read_text(encoding="utf-8") or "[]")
            return figures_from_json(items), time.perf_counter() - started
        reason = f"the {group.name} group failed (exit {completed.returncode}); see its output above"
    except subprocess.TimeoutExpired:
        reason = f"the {group.name} group did not finish within {group.deadline:.0f} s"
    except (OSError, ValueError) as error:
        reason = f"the {group.name} group gave no readable result ({error})"
    finally:
        Path(out).unlink(missing_ok=True)
    figures = [
        Figure(key, name, unit, target, status=NOT_MEASURABLE, note=reason)
        for key, name, unit, target in group.placeholders
    ]
    return figures, time.perf_counter() - started


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _verdict(figure: Figure) -> str:
    if figure.status == OK:
        return "ok"
    if figure.status == MISSING:
        return "MISSING"
    if figure.status == NOT_MEASURABLE:
        return "not measurable yet"
    return "—"


def table(figures: list[Figure]) -> str:
    """The figures as one Markdown table (it reads as plain text in a terminal too)."""
    header = "| figure | median | p95 | n | unit | target | verdict | note |"
    lines = [header, "|---|---:|---:|---:|---|---|---|---|"]
    for f in figures:
        lines.append(
            f"| {f.name} | {_number(f.median)} | {_number(f.p95)} | {f.n or '—'} | {f.unit} | {f.target} | "
            f"{_verdict(f)} | {f.note} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--only", nargs="*", default=None, help="run only these groups")
    args = parser.parse_args(argv)
    chosen = [g for g in GROUPS if args.only is None or g.name in args.only]
    out = Path(os.environ.get("BENCH_OUT") or "bench-results.json")
    machine = describe()
    started = time.perf_counter()
    began = datetime.now(UTC)
    figures: list[Figure] = []
    groups: dict[str, float] = {}
    for group in chosen:
        sys.stderr.write(f"bench: {group.name} …\n")
        sys.stderr.flush()
        found, seconds = run_group(group)
        groups[group.name] = round(seconds, 1)
        figures.extend(found)
        sys.stderr.write(f"bench: {group.name} took {seconds:.1f} s\n")
    total = time.perf_counter() - started
    text = table(figures)
    missed = [f.name for f in figures if f.status == MISSING]
    unmeasured = [f.name for f in figures if f.status == NOT_MEASURABLE]
    print()
    print(f"Machine: {one_line(machine)}")
    print(f"Run: {began.strftime('%Y-%m-%d %H:%M UTC')}, {total:.0f} s in all")
    print()
    print(text)
    print()
    print(f"Targets missed: {len(missed)}; not measurable yet: {len(unmeasured)}.")
    payload = {
        "started": began.isoformat(),
        "seconds": round(total, 1),
        "group_seconds": groups,
        "machine": machine,
        "figures": [f.as_json() for f in figures],
        "table": text,
    }
    out.write_text(json.dumps(payload, indent=1, default=str) + "\n", encoding="utf-8")
    print(f"Figures written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
