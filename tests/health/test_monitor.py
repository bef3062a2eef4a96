"""HealthMonitor: outages escalate once per level, survive restarts, and end with one summary."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.domain.escalation import Thresholds
from app.domain.model import AccountStatus, Audience, HealthLevel, Notification
from app.domain.time import FixedClock
from app.services.bookings import BookingEdit, NewBooking
from app.services.container import Services
from sync.engine.ports import Direction
from sync.health_monitor import HealthMonitor
from sync.notify import Notifier
from tests.health.conftest import DISPATCHER_EMAIL, OWNER_EMAIL, Business, Heard, monitor_for

T0 = datetime(2026, 11, 2, 16, 5, tzinfo=UTC)  # Monday 10:05 in Chicago
TUE_9_CHICAGO = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)


def notifications(services: Services) -> list[Notification]:
    with services.uow() as uow:
        return sorted(uow.notifications.list(), key=lambda n: (n.created, n.audience.value))


def level(services: Services, business: Business) -> HealthLevel:
    with services.uow() as uow:
        health = uow.health.get(business.maria_google.id)
    assert health is not None
    return health.level


def test_each_level_fires_once_at_its_threshold(
    services: Services,
    business: Business,
    monitor: HealthMonitor,
    heard: Heard,
    caplog: pytest.LogCaptureFixture,
) -> None:
    account = business.maria_google.id
    monitor.failed(account, T0, "Google answered 503 backendError")
    assert heard.health == [account]  # the board learns at once that the account is failing
    caplog.set_level(logging.WARNING, logger="sync.health_monitor")

    assert monitor.evaluate(T0 + timedelta(minutes=4, seconds=59)) == []
    assert monitor.evaluate(T0 + timedelta(minutes=5)) == [(account, HealthLevel.WARNING)]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["Maria Lopez's Google calendar (maria@example.com) has not synced since Mon 16:05"]
    assert notifications(services) == []  # a warning is for the board and the log only
    assert heard.health == [account, account]
    assert level(services, business) is HealthLevel.WARNING

    assert monitor.evaluate(T0 + timedelta(minutes=29)) == []
    assert monitor.evaluate(T0 + timedelta(minutes=30)) == [(account, HealthLevel.DISPATCHER)]
    [to_dispatcher] = notifications(services)
    assert to_dispatcher.audience is Audience.DISPATCHER and to_dispatcher.recipient == DISPATCHER_EMAIL
    assert to_dispatcher.subject == "Maria Lopez's Google calendar (maria@example.com) has not synced for 30m"
    assert "Last error: Google answered 503 backendError." in to_dispatcher.body
    assert heard.notifications == [to_dispatcher.id]

    assert monitor.evaluate(T0 + timedelta(hours=1)) == []
    assert monitor.evaluate(T0 + timedelta(hours=2)) == [(account, HealthLevel.OWNER)]
    assert monitor.evaluate(T0 + timedelta(hours=5)) == []
    sent = notifications(services)
    assert [(n.audience, n.recipient) for n in sent] == [
        (Audience.DISPATCHER, DISPATCHER_EMAIL),
        (Audience.OWNER, OWNER_EMAIL),
    ]
    assert sent[1].subject.endswith("has not synced for 2h")
    assert level(services, business) is HealthLevel.OWNER
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


def test_a_restart_does_not_alert_again(services: Services, business: Business, notifier: Notifier) -> None:
    account = business.maria_google.id
    first = monitor_for(services, notifier)
    first.failed(account, T0, "offline")
    assert [lvl for _a, lvl in first.evaluate(T0 + timedelta(minutes=45))] == [
        HealthLevel.WARNING,
        HealthLevel.DISPATCHER,
    ]
    restarted = monitor_for(services, Notifier(services.uow, services.clock, notifier.settings))
    assert restarted.evaluate(T0 + timedelta(minutes=46)) == []
    restarted.failed(account, T0 + timedelta(minutes=50), "still offline")  # the outage goes on
    assert restarted.evaluate(T0 + timedelta(hours=2)) == [(account, HealthLevel.OWNER)]
    assert [n.audience for n in notifications(services)] == [Audience.DISPATCHER, Audience.OWNER]


def test_repeated_failures_keep_the_outage_start(
    services: Services, business: Business, monitor: HealthMonitor
) -> None:
    account = business.maria_google.id
    monitor.failed(account, T0, "first")
    monitor.failed(account, T0 + timedelta(minutes=20), "second")
    with services.uow() as uow:
        health = uow.health.get(account)
    assert health is not None and health.failing_since == T0 and health.last_error == "second"
    assert (account, HealthLevel.DISPATCHER) in monitor.evaluate(T0 + timedelta(minutes=30))


def test_an_outage_found_late_fires_every_level_it_passed_once(
    services: Services, business: Business, monitor: HealthMonitor
) -> None:
    account = business.sam_outlook.id
    monitor.failed(account, T0, "timed out")
    assert monitor.evaluate(T0 + timedelta(hours=3)) == [
        (account, HealthLevel.WARNING),
        (account, HealthLevel.DISPATCHER),
        (account, HealthLevel.OWNER),
    ]
    assert [n.audience for n in notifications(services)] == [Audience.DISPATCHER, Audience.OWNER]
    assert all("Sam Okafor's Outlook calendar" in n.subject for n in notifications(services))


def test_thresholds_given_by_flags_are_used(
    services: Services, business: Business, notifier: Notifier
) -> None:
    quick = monitor_for(
        services, notifier, Thresholds(timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=3))
    )
    account = business.maria_google.id
    quick.failed(account, T0, "offline")
    assert quick.evaluate(T0 + timedelta(seconds=59)) == []
    assert quick.evaluate(T0 + timedelta(minutes=1)) == [(account, HealthLevel.WARNING)]
    assert quick.evaluate(T0 + timedelta(minutes=2)) == [(account, HealthLevel.DISPATCHER)]
    assert quick.evaluate(T0 + timedelta(minutes=3)) == [(account, HealthLevel.OWNER)]


def test_disconnected_accounts_do_not_escalate(
    services: Services, business: Business, monitor: HealthMonitor
) -> None:
    monitor.failed(business.maria_google.id, T0, "offline")
    with services.uow() as uow:
        uow.accounts.update(replace(business.maria_google, status=AccountStatus.DISCONNECTED))
        uow.commit()
    assert monitor.evaluate(T0 + timedelta(hours=3)) == []


def test_errors_are_kept_as_one_line_without_secrets(
    services: Services, business: Business, monitor: HealthMonitor
) -> None:
    account = business.maria_google.id
    monitor.failed(
        account,
        T0,
        "401 Unauthorized\nAuthorization: Bearer ya29.a0AfH6SMBsecretvalue\naccess_token=abc123xyz",
    )
    with services.uow() as uow:
        health = uow.health.get(account)
    assert health is not None and health.last_error is not None
    assert "\n" not in health.last_error
    assert "ya29" not in health.last_error and "abc123xyz" not in health.last_error
    assert health.last_error.startswith("401 Unauthorized")


def _book(
    services: Services,
    clock: FixedClock,
    at: datetime,
    start: datetime,
    tech: str,
    customer: str,
    service: str = "AC repair",
) -> str:
    clock.current = at
    return services.bookings.create(NewBooking(customer, service, timedelta(hours=1), start, tech)).id


def test_recovery_sends_one_summary_of_the_jobs_added_during_the_gap(
    services: Services, clock: FixedClock, business: Business, monitor: HealthMonitor, heard: Heard
) -> None:
    account = business.maria_google.id
    before = _book(
        services,
        clock,
        T0 - timedelta(minutes=1),
        TUE_9_CHICAGO - timedelta(hours=2),
        "Maria Lopez",
        "Before Gap Inc",
    )
    _written(services, before)  # its calendar write went out before the outage
    moved_in_gap = _book(
        services,
        clock,
        T0 - timedelta(hours=1),
        TUE_9_CHICAGO + timedelta(hours=6),
        "Maria Lopez",
        "Lakeside Clinic",
        "Furnace check",
    )
    monitor.failed(account, T0, "offline")
    _book(services, clock, T0 + timedelta(minutes=10), TUE_9_CHICAGO, "Maria Lopez", "Harbor Dental")
    _book(
        services,
        clock,
        T0 + timedelta(minutes=20),
        TUE_9_CHICAGO + timedelta(hours=2),
        "Maria Lopez",
        "Pine Street Bakery",
        "Duct cleaning",
    )
    _book(services, clock, T0 + timedelta(minutes=30), TUE_9_CHICAGO, "Sam Okafor", "Not Maria's")
    cancelled = _book(
        services,
        clock,
        T0 + timedelta(minutes=40),
        TUE_9_CHICAGO + timedelta(hours=4),
        "Maria Lopez",
        "Cancelled Co",
    )
    clock.current = T0 + timedelta(minutes=50)
    services.bookings.cancel(cancelled)
    clock.current = T0 + timedelta(hours=1)
    services.bookings.edit(moved_in_gap, BookingEdit(start=TUE_9_CHICAGO + timedelta(hours=5)))
    monitor.evaluate(T0 + timedelta(hours=2, minutes=30))  # warned, dispatcher, owner
    alerts = {n.id for n in notifications(services)}
    heard.health.clear()

    back = T0 + timedelta(hours=2, minutes=35)  # 12:40 in Chicago
    monitor.succeeded(account, back, Direction.READ)
    monitor.succeeded(account, back + timedelta(seconds=10), Direction.WRITE)  # no second summary

    fresh = [n for n in notifications(services) if n.id not in alerts]
    by_audience = {n.audience: n for n in fresh}
    assert len(fresh) == 3 and set(by_audience) == {Audience.TECH, Audience.DISPATCHER, Audience.OWNER}
    summary = by_audience[Audience.TECH]
    assert summary.recipient == "maria@example.com" and summary.tech_id == business.maria.id
    assert summary.subject == "3 jobs added while your calendar was out of reach"
    assert summary.body.splitlines()[0] == (
        "While your calendar was out of reach (10:05–12:40), 3 jobs were added: "
        "Tue 09:00 AC repair — Harbor Dental, Tue 11:00 Duct cleaning — Pine Street Bakery, "
        "Tue 14:00 Furnace check — Lakeside Clinic."
    )
    assert (
        "Before Gap" not in summary.body
        and "Cancelled" not in summary.body
        and "Not Maria" not in summary.body
    )
    assert services.bookings.get(before).start is not None
    for audience, address in ((Audience.DISPATCHER, DISPATCHER_EMAIL), (Audience.OWNER, OWNER_EMAIL)):
        notice = by_audience[audience]
        assert notice.recipient == address
        assert notice.subject == "Maria Lopez's Google calendar (maria@example.com) syncs again"
        assert "after 2h35m" in notice.body

    with services.uow() as uow:
        health = uow.health.get(account)
    assert health is not None
    assert health.level is HealthLevel.OK and health.failing_since is None and health.last_error is None
    assert health.last_read == back and health.last_write == back + timedelta(seconds=10)
    assert heard.health == [account]
    assert set(heard.notifications) >= {n.id for n in fresh}


def _written(services: Services, booking_id: str) -> None:
    """The engine wrote the booking's event: its outbox rows are done."""
    with services.uow() as uow:
        for item in uow.outbox.for_booking(booking_id):
            uow.outbox.remove(item.id)
        uow.commit()


def test_a_job_queued_before_the_outage_was_noticed_is_in_the_summary_even_after_a_restart(
    services: Services, clock: FixedClock, business: Business, notifier: Notifier
) -> None:
    """The outage is noticed at the first failing call: a job booked a few seconds earlier is
    queued, held back all through the outage and written at recovery, so the tech hears of it."""
    account = business.maria_google.id
    written = _book(services, clock, T0 - timedelta(minutes=5), TUE_9_CHICAGO, "Maria Lopez", "Written Co")
    _written(services, written)
    _book(
        services,
        clock,
        T0 - timedelta(seconds=3),
        TUE_9_CHICAGO + timedelta(hours=2),
        "Maria Lopez",
        "Queued Co",
    )
    _book(services, clock, T0 - timedelta(seconds=2), TUE_9_CHICAGO, "Sam Okafor", "Sam's Own")
    monitor_for(services, notifier).failed(account, T0, "offline")
    monitor_for(services, notifier).failed(account, T0 + timedelta(minutes=1), "offline")

    restarted = monitor_for(services, Notifier(services.uow, services.clock, notifier.settings))
    restarted.succeeded(account, T0 + timedelta(minutes=20), Direction.WRITE)
    [summary] = [n for n in notifications(services) if n.audience is Audience.TECH]
    assert summary.subject == "1 job added while your calendar was out of reach"
    assert "Tue 11:00 AC repair — Queued Co" in summary.body
    assert "Written Co" not in summary.body and "Sam's Own" not in summary.body


def test_recovery_tells_only_those_who_were_alerted(
    services: Services, clock: FixedClock, business: Business, monitor: HealthMonitor
) -> None:
    account = business.maria_google.id
    monitor.failed(account, T0, "offline")
    _book(services, clock, T0 + timedelta(minutes=1), TUE_9_CHICAGO, "Maria Lopez", "Harbor Dental")
    monitor.evaluate(T0 + timedelta(minutes=40))
    monitor.succeeded(account, T0 + timedelta(minutes=41))
    audiences = [n.audience for n in notifications(services)]
    assert sorted(a.value for a in audiences) == ["dispatcher", "dispatcher", "tech"]


def test_a_short_blip_sends_nothing(
    services: Services, clock: FixedClock, business: Business, monitor: HealthMonitor, heard: Heard
) -> None:
    account = business.maria_google.id
    monitor.failed(account, T0, "timed out")
    _book(services, clock, T0 + timedelta(seconds=20), TUE_9_CHICAGO, "Maria Lopez", "Harbor Dental")
    monitor.succeeded(account, T0 + timedelta(seconds=40))
    assert notifications(services) == []
    assert heard.health == [account, account]  # failing, then fine again


def test_an_error_that_is_already_a_sentence_ends_in_one_full_stop(
    services: Services, business: Business, monitor: HealthMonitor
) -> None:
    account = business.maria_google.id
    monitor.failed(account, T0, "Could not reach Google; check the connection and try again.")
    monitor.evaluate(T0 + timedelta(minutes=30))
    [to_dispatcher] = notifications(services)
    assert "Last error: Could not reach Google; check the connection and try again.\n" in to_dispatcher.body
    assert ".." not in to_dispatcher.body
