"""What every benchmark group shares: figures, their statistics, and how a group reports them."""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

OK = "ok"
MISSING = "MISSING"
NOT_MEASURABLE = "not measurable yet"
INFO = "info"


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The `fraction` quantile by linear interpolation between closest ranks (numpy's default)."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(slots=True)
class Figure:
    """One row of the table. `value` is what the target is checked against (None: nothing measured)."""

    key: str
    name: str
    unit: str
    target: str
    median: float | None = None
    p95: float | None = None
    n: int = 0
    value: float | None = None  # the number the target judges (p95, median or a total)
    limit: float | None = None  # the target's bound on `value`; None: no target
    status: str = INFO
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def judge(self) -> Figure:
        if self.value is None:
            if self.status == INFO:
                self.status = NOT_MEASURABLE
        elif self.limit is not None:
            self.status = OK if self.value <= self.limit else MISSING
        return self

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def from_samples(
    key: str,
    name: str,
    samples: Sequence[float],
    unit: str,
    target: str,
    limit: float | None,
    judge_on: str = "p95",
    note: str = "",
    **extra: Any,
) -> Figure:
    """A figure from repeated measurements; `judge_on` names the statistic the target bounds."""
    if not samples:
        return Figure(
            key,
            name,
            unit,
            target,
            limit=limit,
            status=NOT_MEASURABLE,
            note=note or "no samples",
            extra=dict(extra),
        )
    median = statistics.median(samples)
    p95 = percentile(samples, 0.95)
    value = {"p95": p95, "median": median, "max": max(samples)}[judge_on]
    figure = Figure(
        key,
        name,
        unit,
        target,
        median=median,
        p95=p95,
        n=len(samples),
        value=value,
        limit=limit,
        note=note,
        extra={"min": min(samples), "max": max(samples), "judged_on": judge_on, **extra},
    )
    return figure.judge()


def not_measurable(key: str, name: str, unit: str, target: str, reason: str) -> Figure:
    return Figure(key, name, unit, target, status=NOT_MEASURABLE, note=reason)


def timed(work: Callable[[], object]) -> float:
    """Seconds `work` took, by the monotonic high-resolution clock."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def report(figures: Sequence[Figure], out: str | None) -> None:
    """Hand a group's figures to the runner: JSON in the file it named, or on stdout."""
    payload = json.dumps([f.as_json() for f in figures], indent=1, default=str)
    if out:
        Path(out).write_text(payload, encoding="utf-8")
    else:
        sys.stdout.write(payload + "\n")


def figures_from_json(items: Sequence[dict[str, Any]]) -> list[Figure]:
    return [Figure(**item) for item in items]


def progress(message: str) -> None:
    """A progress line on stderr (the table goes to stdout)."""
    sys.stderr.write(f"  · {message}\n")
    sys.stderr.flush()
