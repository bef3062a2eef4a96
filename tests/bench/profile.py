"""Where the time goes: py-spy sampling this very process while a measured section runs.

Opt-in (`python -m tests.bench --profile`, or BENCH_PROFILE_DIR set): profiling slows what it
watches a little, so the figures of a profiled run are not the ones to quote. Each section leaves
py-spy's raw collapsed stacks in the profile folder and a summary of the top entries (inclusive
"total" and "self" shares of the samples, by function) that the runner prints and stores.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ENV = "BENCH_PROFILE_DIR"
# Frames that only carry the work (runpy, threads, event loops, the bench itself): left out of the top.
CARRIERS = (
    "<frozen ",
    "bench/",
    "threading.py",
    "asyncio/base_events.py",
    "asyncio/events.py",
    "futures/thread.py",
    "asyncio/runners.py",
)


def enabled() -> bool:
    return bool(os.environ.get(ENV))


def _py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextlib.contextmanager
def spy(name: str, found: dict[str, Any]) -> Iterator[None]:
    """Sample every thread of this process (GIL holders only) while the block runs."""
    folder = os.environ.get(ENV)
    tool = _py_spy()
    if not folder or tool is None:
        if folder:
            sys.stderr.write("  · no profile: py-spy is not installed (.venv/bin/pip install py-spy)\n")
        yield
        return
    out = Path(folder) / f"{name}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            tool,
            "record",
            "--pid",
            str(os.getpid()),
            "--rate",
            "200",
            "--format",
            "raw",
            "--gil",
            "--nonblocking",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)  # let py-spy attach
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        if out.exists():
            found[name] = summarize(out)


def _frame(text: str) -> str:
    # "function (path/to/module.py:123)" → "function (module.py)"
    head, _, where = text.partition(" (")
    where = where.rstrip(")")
    file = where.rsplit(":", 1)[0]
    return f"{head} ({'/'.join(Path(file).parts[-2:])})"


def summarize(path: Path, top: int = 15) -> dict[str, Any]:
    total = 0
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame(f) for f in stack.split(";") if f and not f.startswith("thread ")]
        if not frames:
            continue
        total += count
        for frame in set(frames):
            if not any(carrier in frame for carrier in CARRIERS):
                inclusive[frame] += count
        own[frames[-1]] += count
    share = (lambda n: round(100 * n / total, 1)) if total else (lambda n: 0.0)
    return {
        "samples": total,
        "total": [(frame, share(n)) for frame, n in inclusive.most_common(top * 2)][:top],
        "self": [(frame, share(n)) for frame, n in own.most_common(top)],
    }
