"""Push first, polling as the safety net: when a calendar is due (sync.core.poll_schedule)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.core.poll_schedule import (
    PollPolicy,
    PushSigns,
    ReadMark,
    is_due,
    missed_change,
    needs_heartbeat,
    next_read,
    push_live,
)

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
POLICY = PollPolicy()
WEEK = timedelta(days=7)


def live_signs(at: datetime = T0) -> PushSigns:
    return PushSigns(expires=at + WEEK, last_sign=at)


def test_a_calendar_with_live_push_is_checked_every_five_minutes_not_every_round() -> None:
    signs = live_signs()
    read = ReadMark(T0)
    assert push_live(signs, T0 + timedelta(seconds=10), POLICY)
    assert not is_due(read, signs, T0 + timedelta(seconds=10), POLICY, 0.0)
    assert not is_due(read, signs, T0 + timedelta(minutes=3, seconds=59), POLICY, -1.0)
    assert is_due(read, signs, T0 + timedelta(minutes=5), POLICY, 0.0)
    # the jitter band is ±20 %: 4 to 6 minutes
    assert next_read(read, signs, T0, POLICY, -1.0) == T0 + timedelta(minutes=4)
    assert next_read(read, signs, T0, POLICY, 1.0) == T0 + timedelta(minutes=6)


def test_a_calendar_without_push_is_read_in_every_round() -> None:
    read = ReadMark(T0)
    assert is_due(read, PushSigns(), T0 + timedelta(seconds=1), POLICY, 1.0)
    assert is_due(None, live_signs(), T0, POLICY, 1.0)  # never read: read now, push or not


def test_a_channel_silent_past_the_bound_drops_to_the_fast_poll_at_once() -> None:
    signs = live_signs()
    read = ReadMark(T0 + POLICY.silent_after - timedelta(minutes=1))
    just_before = T0 + POLICY.silent_after
    assert push_live(signs, just_before, POLICY)
    assert not is_due(read, signs, just_before, POLICY, 0.0)
    silent = just_before + timedelta(seconds=1)
    assert not push_live(signs, silent, POLICY)
    assert is_due(read, signs, silent, POLICY, 1.0)


def test_a_failed_renewal_drops_to_the_fast_poll_at_once_and_the_next_sign_restores_push() -> None:
    read = ReadMark(T0 + timedelta(minutes=1))
    failed = PushSigns(expires=T0 + WEEK, last_sign=T0, failed_at=T0 + timedelta(minutes=2))
    now = T0 + timedelta(minutes=2, seconds=1)
    assert not push_live(failed, now, POLICY)
    assert is_due(read, failed, now, POLICY, 1.0)
    renewed = PushSigns(expires=T0 + 2 * WEEK, last_sign=now, failed_at=failed.failed_at)
    assert push_live(renewed, now, POLICY)
    assert not is_due(read, renewed, now, POLICY, 0.0)


def test_an_expired_channel_is_no_push() -> None:
    signs = PushSigns(expires=T0 + timedelta(hours=1), last_sign=T0)
    assert push_live(signs, T0 + timedelta(minutes=59), POLICY)
    assert not push_live(signs, T0 + timedelta(hours=1), POLICY)


def test_a_change_no_notice_announced_marks_the_channel_deaf() -> None:
    previous, now = T0, T0 + timedelta(minutes=5)
    read = ReadMark(now, previous_started=previous)
    unheard = PushSigns(expires=T0 + WEEK, last_sign=T0 - timedelta(hours=1))
    assert missed_change(read, unheard, found_changes=True)
    assert not missed_change(read, unheard, found_changes=False)
    heard = PushSigns(
        expires=T0 + WEEK, last_sign=now - timedelta(minutes=1), last_notice=now - timedelta(minutes=1)
    )
    assert not missed_change(read, heard, found_changes=True)
    assert not missed_change(ReadMark(now), unheard, found_changes=True)  # a first read judges nothing
    assert not missed_change(read, PushSigns(), found_changes=True)  # no channel, nothing to judge
    deaf = PushSigns(unheard.expires, unheard.last_sign, missed_at=now)
    assert not push_live(deaf, now, POLICY)


def test_the_heartbeat_renews_a_quiet_channel_before_it_counts_as_silent() -> None:
    signs = live_signs()
    assert needs_heartbeat(PushSigns(), T0, POLICY)
    assert not needs_heartbeat(signs, T0 + POLICY.heartbeat - timedelta(seconds=1), POLICY)
    assert needs_heartbeat(signs, T0 + POLICY.heartbeat, POLICY)
    assert push_live(signs, T0 + POLICY.heartbeat, POLICY)
    with pytest.raises(ValueError, match="heartbeat"):
        PollPolicy(heartbeat=timedelta(days=2))


@given(
    sign_age=st.integers(0, 3 * 24 * 3600),
    read_age=st.integers(0, 3600),
    spread=st.floats(-1, 1),
    failed=st.booleans(),
)
def test_without_live_push_a_calendar_is_always_due_and_with_it_never_before_four_minutes(
    sign_age: int, read_age: int, spread: float, failed: bool
) -> None:
    now = T0 + timedelta(days=3)
    sign = now - timedelta(seconds=sign_age)
    signs = PushSigns(expires=now + WEEK, last_sign=sign, failed_at=now if failed else None)
    read = ReadMark(now - timedelta(seconds=read_age))
    due = is_due(read, signs, now, POLICY, spread)
    if not push_live(signs, now, POLICY):
        assert due
    else:
        assert due == (read_age >= POLICY.slow.total_seconds() * (1 + POLICY.jitter * spread))
        assert not due or read_age >= POLICY.slow.total_seconds() * (1 - POLICY.jitter)
