"""Repeated successes are recorded once a minute; failures and the success that ends them at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.domain.ids import AccountId
from sync.engine.ports import Direction
from sync.engine.success_throttle import SuccessThrottle

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
MARIA = AccountId("maria")
SAM = AccountId("sam")


class Recorded:
    def __init__(self) -> None:
        self.calls: list[tuple[str, AccountId, datetime, object]] = []

    def succeeded(self, account_id: AccountId, at: datetime, kind: Direction = Direction.READ) -> None:
        self.calls.append(("ok", account_id, at, kind))

    def failed(self, account_id: AccountId, at: datetime, error: str) -> None:
        self.calls.append(("failed", account_id, at, error))


def test_still_fine_is_written_once_a_minute_per_account_and_direction() -> None:
    inner = Recorded()
    health = SuccessThrottle(inner)
    for seconds in range(0, 120, 10):
        health.succeeded(MARIA, T0 + timedelta(seconds=seconds))
    health.succeeded(MARIA, T0 + timedelta(seconds=5), Direction.WRITE)
    health.succeeded(SAM, T0 + timedelta(seconds=5))
    assert inner.calls == [
        ("ok", MARIA, T0, Direction.READ),
        ("ok", MARIA, T0 + timedelta(seconds=60), Direction.READ),
        ("ok", MARIA, T0 + timedelta(seconds=5), Direction.WRITE),
        ("ok", SAM, T0 + timedelta(seconds=5), Direction.READ),
    ]


def test_a_failure_goes_through_and_the_next_success_ends_the_outage_at_once() -> None:
    inner = Recorded()
    health = SuccessThrottle(inner)
    health.succeeded(MARIA, T0)
    health.failed(MARIA, T0 + timedelta(seconds=10), "Google answered 503")
    health.succeeded(MARIA, T0 + timedelta(seconds=20))
    assert [c[0] for c in inner.calls] == ["ok", "failed", "ok"]
    assert inner.calls[-1][2] == T0 + timedelta(seconds=20)
