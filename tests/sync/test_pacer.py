"""Quota pacing (sync.core.pacer): never over a limit in any window; urgent reads go first."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.core.pacer import (
    GOOGLE_PROJECT,
    GOOGLE_USER,
    GRAPH_MAILBOX,
    SHARE,
    Admission,
    Ask,
    Bucket,
    Limit,
    Priority,
    admit,
    charge,
)

LIMITS = {
    "project": Limit(50, timedelta(seconds=60)),
    "user-a": Limit(12, timedelta(seconds=60)),
    "user-b": Limit(12, timedelta(seconds=60)),
    "mailbox": Limit(30, timedelta(seconds=600)),
}
KEYS = {"a": ("project", "user-a"), "b": ("project", "user-b"), "m": ("mailbox",)}

rounds = st.lists(
    st.tuples(
        st.floats(0.0, 30.0),  # seconds since the round before
        st.lists(st.tuples(st.sampled_from(sorted(KEYS)), st.sampled_from(list(Priority))), max_size=40),
    ),
    min_size=1,
    max_size=60,
)


def most_in_any_window(times: list[float], window: float) -> int:
    """The largest number of `times` inside any half-open window [t, t + window)."""
    times = sorted(times)
    return max((bisect_left(times, t + window) - i for i, t in enumerate(times)), default=0)


@settings(max_examples=200, deadline=None)
@given(rounds)
def test_admitted_reads_never_exceed_a_limit_in_any_window(
    plan: list[tuple[float, list[tuple[str, Priority]]]],
) -> None:
    now = 0.0
    buckets: dict[str, Bucket] = {}
    spent: dict[str, list[float]] = defaultdict(list)
    for gap, wanted in plan:
        now += gap
        asks = [Ask((who, n), priority, KEYS[who]) for n, (who, priority) in enumerate(wanted)]
        result = admit(asks, buckets, LIMITS, now)
        buckets = dict(result.buckets)
        for who, _n in result.admitted:
            for key in KEYS[who]:
                spent[key].append(now)
    for key, times in spent.items():
        limit = LIMITS[key]
        assert most_in_any_window(times, limit.window.total_seconds()) <= limit.count * SHARE


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(KEYS)), st.sampled_from(list(Priority))), max_size=60))
def test_a_read_waits_only_for_a_limit_that_the_more_urgent_reads_used_up(
    wanted: list[tuple[str, Priority]],
) -> None:
    asks = [Ask((who, n), priority, KEYS[who]) for n, (who, priority) in enumerate(wanted)]
    result: Admission[tuple[str, int], str] = admit(asks, {}, LIMITS, 0.0)
    priority = {(who, n): p for n, (who, p) in enumerate(wanted)}
    for waiting in result.deferred:
        for taken in result.admitted:
            if priority[taken] > priority[waiting]:
                # a less urgent read went ahead: it must spend no limit the waiting one lacked
                assert not set(KEYS[waiting[0]]) <= set(KEYS[taken[0]])
    assert sorted(result.admitted + result.deferred) == sorted(priority)


def test_when_the_budget_is_short_fresh_calendars_go_first() -> None:
    budget = {"project": Limit(20, timedelta(seconds=60))}  # a burst of 4.5, 0.225 a second
    asks = [Ask(f"checked-{n}", Priority.CHECKED, ("project",)) for n in range(3)]
    asks += [Ask(f"polled-{n}", Priority.POLLED, ("project",)) for n in range(3)]
    asks.append(Ask("noticed", Priority.NOTICED, ("project",)))
    first = admit(asks, {}, budget, 0.0)
    assert first.admitted == ("noticed", "polled-0", "polled-1", "polled-2")
    assert first.deferred == ("checked-0", "checked-1", "checked-2")
    later = admit([a for a in asks if a.item in first.deferred], first.buckets, budget, 10.0)
    assert later.admitted == ("checked-0", "checked-1")  # 0.5 left + 2.25 refilled


def test_a_read_that_cannot_wait_is_charged_and_holds_back_those_that_can() -> None:
    limits = {"user": GOOGLE_USER}
    buckets = {"user": Bucket(1.0, 0.0)}
    charged = {**buckets, **charge(buckets, limits, ["user"], 0.0)}
    assert charged["user"].tokens == 0.0
    assert charge({"user": Bucket(1.0, 0.0), "other": Bucket(1.0, 0.0)}, limits, ["user"], 0.0).keys() == {
        "user"
    }
    assert admit([Ask("poll", Priority.POLLED, ("user",))], charged, limits, 0.0).deferred == ("poll",)


def test_the_documented_limits_leave_a_tenth_unused() -> None:
    for limit in (GOOGLE_USER, GOOGLE_PROJECT, GRAPH_MAILBOX):
        assert abs(limit.burst + limit.rate * limit.window.total_seconds() - limit.count * SHARE) < 1e-6
