"""Loaded by `scripts/test-dates` only: keeps `time.sleep` working under libfaketime.

The suite runs with the wall clock moved and the monotonic clock left real
(FAKETIME_DONT_FAKE_MONOTONIC=1, so timeouts and asyncio keep real time). libfaketime 0.9.10 then
shifts the absolute deadline Python's `time.sleep` passes to clock_nanosleep(CLOCK_MONOTONIC,
TIMER_ABSTIME) by the fake offset, and the kernel answers EINVAL. A sleep on select() waits on a
relative timeout, which libfaketime leaves alone, and keeps the same contract.
"""

from __future__ import annotations

import os
import select
import time

if "faketime" in os.environ.get("LD_PRELOAD", ""):
    _monotonic = time.monotonic

    def _sleep(seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        deadline = _monotonic() + seconds
        while (remaining := deadline - _monotonic()) > 0:
            select.select([], [], [], remaining)

    time.sleep = _sleep
