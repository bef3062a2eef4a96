"""The tech's recovery summary lists every job whose calendar write the outage held back.

The engine notices an outage only when a call fails, a moment (up to a poll) after the provider
went down; a job booked in between is queued before the outage "starts" and is written only at
recovery. The tech must hear about it like any job booked later in the gap.
"""

from __future__ import annotations

from datetime import timedelta

from app.domain.model import Audience
from sync.health_monitor import HealthMonitor
from sync.notify import NotificationSettings, Notifier
from tests.sync.conftest import NOW, World


def _summaries(world: World) -> list[str]:
    with world.uow() as uow:
        return [n.body for n in uow.notifications.list() if n.audience is Audience.TECH]


async def test_a_job_booked_before_the_outage_was_noticed_is_in_the_summary(world: World) -> None:
    monitor = HealthMonitor(
        world.database.unit_of_work,
        world.clock,
        world.bus,
        Notifier(world.database.unit_of_work, world.clock, NotificationSettings()),
    )
    engine = world.engine(health=monitor)
    world.book(hours=2, customer="Before The Outage")
    assert (await engine.run_once()).ok

    world.phone.fail_next("transient", count=10_000)  # Google goes down
    world.clock.advance(timedelta(seconds=30))
    world.book(hours=4, customer="First Seconds Bakery")  # its write is tried at once and fails
    world.clock.advance(timedelta(seconds=2))
    assert not (await engine.run_once()).ok  # the outage starts being counted here
    with world.uow() as uow:
        health = uow.health.get(world.tech.account.id)
    assert health is not None and health.failing_since is not None
    assert health.failing_since > NOW + timedelta(seconds=30)

    world.clock.advance(timedelta(minutes=10))
    world.book(hours=6, customer="Midway Dental")
    for _ in range(3):
        world.clock.advance(timedelta(minutes=10))
        await engine.run_once()
    monitor.evaluate()

    world.phone.clear_faults()
    world.clock.advance(timedelta(minutes=6))
    report = await engine.run_once()
    assert report.ok, report.errors
    with world.uow() as uow:
        assert uow.outbox.pending() == []

    [summary] = _summaries(world)
    assert "2 jobs were added" in summary
    assert "First Seconds Bakery" in summary and "Midway Dental" in summary
    assert "Before The Outage" not in summary  # written before the outage: nothing to tell
