"""The owner's sync-health window: accounts with their levels and queued writes, the latency chart."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRectF
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from app.bus import HealthChanged
from app.domain.ids import AccountId, BookingId, CalendarId, NotificationId, OutboxId, new_id
from app.domain.model import (
    Audience,
    AuditEntry,
    CalendarAccount,
    EventLink,
    EventTime,
    HealthLevel,
    Notification,
    OutboxItem,
    Provider,
    RemoteEvent,
    SyncHealth,
)
from app.domain.time import zone
from app.services.container import Services
from app.services.sync_outcomes import (
    READ_APPLIED,
    LatencyDirection,
    LatencySource,
    SyncOutcomeQueries,
    token_free,
)
from sync.engine.lock import EngineLock
from tests.ui.business import DEMO_NOW, Business
from tests.ui.conftest import OFFICE
from ui.bridge import BusBridge
from ui.charts import EMPTY_TEXT, LatencyChartWidget
from ui.health_panel import SyncHealthDialog
from ui.health_table import AccountHealthModel
from ui.worker import DatabaseWorker

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzYW1AZXhhbXBsZS5jb20ifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def add_account(services: Services, biz: Business, name: str, provider: Provider) -> AccountId:
    tech = biz.techs[name]
    account = CalendarAccount(AccountId(new_id()), tech.id, provider, tech.email, f"token:{tech.id}")
    with services.uow() as uow:
        uow.accounts.add(account)
        uow.commit()
    biz.accounts[name] = account.id
    return account.id


def queue(services: Services, biz: Business, key: str, minutes_ago: int, error: str | None = None) -> None:
    booking = biz.bookings[key]
    with services.uow() as uow:
        uow.outbox.add(
            OutboxItem(
                OutboxId(new_id()),
                booking.id,
                booking.tech_id,
                DEMO_NOW - timedelta(minutes=minutes_ago),
                attempts=3 if error else 0,
                last_error=error,
            )
        )
        uow.commit()


def alert(
    services: Services, biz: Business, audience: Audience, name: str, subject: str, minutes_ago: int
) -> None:
    with services.uow() as uow:
        uow.notifications.add(
            Notification(
                NotificationId(new_id()),
                audience,
                "dispatcher" if audience is Audience.DISPATCHER else "owner@example.com",
                subject,
                f"{name}'s calendar has not synced; bookings wait in the queue.",
                DEMO_NOW - timedelta(minutes=minutes_ago),
                delivered=DEMO_NOW - timedelta(minutes=minutes_ago - 1),
                tech_id=biz.techs[name].id,
            )
        )
        uow.commit()


def seed_health(services: Services, biz: Business) -> None:
    """A realistic day: three healthy calendars, one failing 41 min, one 2 h 15 min, one to reconnect."""
    with services.uow() as uow:
        for item in uow.outbox.pending():  # the engine sent these long ago
            uow.outbox.remove(item.id)
        uow.commit()
    sam = add_account(services, biz, "Sam Whitaker", Provider.MICROSOFT)
    with services.uow() as uow:
        uow.health.put(
            SyncHealth(
                sam,
                last_success=DEMO_NOW - timedelta(hours=2, minutes=16),
                failing_since=DEMO_NOW - timedelta(hours=2, minutes=15),
                last_error=f"Microsoft answered 401 to Bearer {TOKEN}: sign-in expired",
                level=HealthLevel.OWNER,
            )
        )
        uow.commit()
    queue(services, biz, "nguyen", 38, "Google answered 503 (service unavailable)")
    queue(services, biz, "lopez", 12, "Google answered 503 (service unavailable)")
    for key, minutes in (("taylor", 130), ("wright", 95), ("evans", 20)):
        queue(services, biz, key, minutes, "Microsoft answered 401 (sign-in expired)")
    queue(services, biz, "patel", 64)
    alert(services, biz, Audience.DISPATCHER, "Priya Shah", "Priya Shah's Google calendar is not syncing", 11)
    alert(
        services,
        biz,
        Audience.DISPATCHER,
        "Sam Whitaker",
        "Sam Whitaker's Outlook calendar is not syncing",
        105,
    )
    alert(
        services, biz, Audience.OWNER, "Sam Whitaker", "Sam Whitaker's Outlook calendar still not syncing", 15
    )
    seed_latency(services, biz)


def seed_latency(services: Services, biz: Business) -> None:
    """A day of dispatcher changes and the engine's records of their calendar writes, as the engine
    writes them (sync.event_updated with the calendar); the provider was slow from 9:00 to 10:00."""
    rng = random.Random(7)
    calendars = {biz.techs[name].id: calendar for name, calendar in biz.calendars.items()}
    bookings = [b for b in biz.bookings.values() if b.tech_id in calendars]
    with services.uow() as uow:
        minute = 24 * 60 - 5
        while minute > 2:
            at = DEMO_NOW - timedelta(minutes=minute)
            local_hour = at.astimezone(zone(OFFICE)).hour
            busy = 7 <= local_hour < 18
            delay = timedelta(seconds=rng.uniform(1.2, 4.5) if rng.random() < 0.85 else rng.uniform(6, 16))
            if local_hour == 9:
                delay = timedelta(seconds=rng.uniform(35, 110))
            booking = rng.choice(bookings)
            assert booking.tech_id is not None
            uow.audit.record(AuditEntry(at - delay, "booking.moved", "moved on the board", booking.id))
            uow.audit.record(
                AuditEntry(
                    at,
                    "sync.event_updated",
                    f"Personal: {booking.id}",
                    booking.id,
                    extra={"calendar": calendars[booking.tech_id]},
                )
            )
            minute -= rng.randint(12, 28) if busy else rng.randint(45, 110)
        uow.commit()


@pytest.fixture
def bridge(qtbot, services: Services, styled_app: QApplication) -> Iterator[BusBridge]:  # type: ignore[no-untyped-def]
    b = BusBridge(services.bus)
    yield b
    b.close()


# Screens a test opened, released only after its worker thread stopped: a callback that the worker
# thread drops last must never be what deletes a widget outside the GUI thread.
HELD: list[object] = []


@pytest.fixture
def worker(qtbot) -> Iterator[DatabaseWorker]:  # type: ignore[no-untyped-def]
    w = DatabaseWorker()
    yield w
    w.shutdown()
    HELD.clear()


def open_dialog(qtbot, services: Services, worker: DatabaseWorker, bridge: BusBridge) -> SyncHealthDialog:  # type: ignore[no-untyped-def]
    dialog = SyncHealthDialog(services, worker, bridge, zone(OFFICE))
    HELD.append(dialog)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.report_applied, timeout=10_000):
        dialog.show()
    return dialog


def cell(dialog: SyncHealthDialog, tech: str, column: int, email: str | None = None) -> str:
    model = dialog.model
    for row in range(model.rowCount()):
        found = model.row_at(row)
        assert found is not None
        if found.tech.name == tech and (email is None or found.account.email == email):
            return str(model.index(row, column).data())
    raise AssertionError(f"no row for {tech}")


def error_of(dialog: SyncHealthDialog, tech: str) -> str:
    model = dialog.model
    row = next(r for r in range(model.rowCount()) if model.index(r, 0).data() == tech)
    return str(model.index(row, AccountHealthModel.STATUS).data(AccountHealthModel.ErrorRole))


def test_accounts_show_levels_queued_writes_and_token_free_errors(  # type: ignore[no-untyped-def]
    qtbot, services: Services, business: Business, worker, bridge
) -> None:
    seed_health(services, business)
    dialog = open_dialog(qtbot, services, worker, bridge)
    model = dialog.model
    assert model.rowCount() == 6
    level = AccountHealthModel.LEVEL
    assert cell(dialog, "Dana Ortiz", level) == "OK"
    assert cell(dialog, "Priya Shah", level) == "Dispatcher alerted"
    assert cell(dialog, "Sam Whitaker", level) == "Owner alerted"
    assert cell(dialog, "Jordan Brooks", level) == "Stopped"
    assert cell(dialog, "Priya Shah", AccountHealthModel.QUEUED) == "2"
    assert cell(dialog, "Sam Whitaker", AccountHealthModel.QUEUED) == "3"
    assert cell(dialog, "Dana Ortiz", AccountHealthModel.QUEUED) == "0"
    assert cell(dialog, "Dana Ortiz", AccountHealthModel.LAST_SYNC) == "1 min ago"
    assert cell(dialog, "Priya Shah", AccountHealthModel.STATUS) == "Not syncing for 41 min; retrying"
    assert cell(dialog, "Priya Shah", AccountHealthModel.FAILING) == "09:59"
    assert cell(dialog, "Sam Whitaker", AccountHealthModel.ALERTS) == "2"
    assert cell(dialog, "Jordan Brooks", AccountHealthModel.STATUS) == "Sign-in expired; needs reconnecting"
    error = error_of(dialog, "Sam Whitaker")
    assert TOKEN not in error and "[hidden]" in error and "401" in error
    assert dialog.queued_card.value.text() == "6"
    assert dialog.attention_card.value.text() == "3"


def test_health_changed_on_the_bus_refreshes_the_window(  # type: ignore[no-untyped-def]
    qtbot, services: Services, business: Business, worker, bridge
) -> None:
    dialog = open_dialog(qtbot, services, worker, bridge)
    assert cell(dialog, "Dana Ortiz", AccountHealthModel.LEVEL) == "OK"
    account = business.accounts["Dana Ortiz"]
    with services.uow() as uow:
        health = uow.health.get(account)
        assert health is not None
        uow.health.put(
            replace(
                health,
                failing_since=DEMO_NOW - timedelta(minutes=7),
                level=HealthLevel.WARNING,
                last_error="timed out",
            )
        )
        uow.commit()
    with qtbot.waitSignal(dialog.report_applied, timeout=10_000):
        services.bus.publish(HealthChanged(account))
    assert cell(dialog, "Dana Ortiz", AccountHealthModel.LEVEL) == "Warning"
    assert error_of(dialog, "Dana Ortiz") == "timed out"


def test_the_account_model_passes_the_model_tester(  # type: ignore[no-untyped-def]
    qtbot, qtmodeltester, services: Services, business: Business, worker, bridge
) -> None:
    seed_health(services, business)
    dialog = open_dialog(qtbot, services, worker, bridge)
    assert dialog.report is not None
    model = AccountHealthModel(zone(OFFICE))  # outlives the dialog, which the tester disconnects from last
    model.set_report(dialog.report)
    qtmodeltester.check(model, force_py=True)
    model.set_now(DEMO_NOW + timedelta(minutes=5))
    qtmodeltester.check(model, force_py=True)


def test_latency_comes_from_engine_records_and_else_from_the_mirrored_write(
    services: Services, business: Business
) -> None:
    booking = business.bookings["hill"]
    account = business.accounts["Dana Ortiz"]
    calendar = business.calendars["Dana Ortiz"]
    other = business.bookings["garcia"]
    with services.uow() as uow:
        uow.audit.record(
            AuditEntry(
                DEMO_NOW - timedelta(hours=2),
                "sync.event_created",
                "created",
                booking.id,
                account,
                extra={"queued_at": (DEMO_NOW - timedelta(hours=2, seconds=3)).isoformat()},
            )
        )
        uow.audit.record(  # outside the day: not shown
            AuditEntry(
                DEMO_NOW - timedelta(hours=30),
                "sync.event_created",
                "created",
                booking.id,
                account,
                extra={"queued_at": (DEMO_NOW - timedelta(hours=30, seconds=9)).isoformat()},
            )
        )
        uow.audit.record(
            AuditEntry(
                DEMO_NOW - timedelta(minutes=30),
                READ_APPLIED,
                "moved",
                None,
                account,
                extra={"changed_at": (DEMO_NOW - timedelta(minutes=30, seconds=8)).isoformat()},
            )
        )
        # No engine record for `other`: its mirrored event says when our write landed.
        uow.audit.record(AuditEntry(DEMO_NOW - timedelta(minutes=3), "booking.moved", "moved", other.id))
        written = DEMO_NOW - timedelta(minutes=3) + timedelta(seconds=5)
        uow.links.put(
            EventLink(other.id, CalendarId(calendar), "evt-garcia", "etag-1", "hash", other.version)
        )
        uow.remote_events.upsert(
            RemoteEvent(
                calendar,
                "evt-garcia",
                "etag-1",
                EventTime(start=other.start, end=other.end, timezone="America/Chicago"),
                booking_id=BookingId(other.id),
                updated=written,
            )
        )
        uow.commit()
    report = SyncOutcomeQueries(services.uow, services.clock).latency()
    writes = report.of(LatencyDirection.WRITE)
    reads = report.of(LatencyDirection.READ)
    # Oldest first; the seed's own "booking.created" entries (at DEMO_NOW) came after the write.
    assert [(s.delay, s.source, s.booking_id) for s in writes] == [
        (timedelta(seconds=3), LatencySource.AUDIT, booking.id),
        (timedelta(seconds=5), LatencySource.MIRROR, other.id),
    ]
    assert writes[1].account_id == account
    assert [s.delay for s in reads] == [timedelta(seconds=8)]
    assert report.percentile(0.5, LatencyDirection.READ) == timedelta(seconds=8)


def test_engine_write_records_pair_with_the_change_that_caused_them(
    services: Services, business: Business
) -> None:
    """A sync.event_* record without "queued_at" (from before the engine kept it) pairs with the change."""
    booking = business.bookings["kim"]
    calendar = business.calendars["Marcus Lee"]
    moved = DEMO_NOW + timedelta(minutes=1)
    services.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    with services.uow() as uow:
        uow.audit.record(AuditEntry(moved, "booking.moved", "moved", booking.id))
        uow.audit.record(AuditEntry(moved + timedelta(seconds=2), "booking.edited", "notes", booking.id))
        uow.audit.record(
            AuditEntry(
                moved + timedelta(seconds=6),
                "sync.event_updated",
                "Personal: evt",
                booking.id,
                extra={"calendar": calendar},
            )
        )
        # Written again with no change in between (a retry after a 412): no second sample.
        uow.audit.record(
            AuditEntry(
                moved + timedelta(seconds=40),
                "sync.event_updated",
                "Personal: evt",
                booking.id,
                extra={"calendar": calendar},
            )
        )
        uow.commit()
    report = SyncOutcomeQueries(services.uow, services.clock).latency()
    (sample,) = [s for s in report.samples if s.booking_id == booking.id]
    assert (sample.delay, sample.source) == (timedelta(seconds=4), LatencySource.PAIRED)
    assert sample.account_id == business.accounts["Marcus Lee"]


def test_token_free_hides_credentials_and_keeps_the_sentence() -> None:
    text = token_free(f"POST /token?code=4/abc&refresh_token=1//xyz failed: Bearer {TOKEN} rejected")
    assert text is not None
    assert "4/abc" not in text and "1//xyz" not in text and TOKEN not in text
    assert text.startswith("POST /token?code=[hidden]") and text.endswith("rejected")
    assert (
        token_free("Google answered 503 (service unavailable)") == "Google answered 503 (service unavailable)"
    )


def test_chart_paints_a_dot_for_each_sample(  # type: ignore[no-untyped-def]
    qtbot, services: Services, business: Business, styled_app: QApplication
) -> None:
    seed_latency(services, business)
    report = SyncOutcomeQueries(services.uow, services.clock).latency()
    chart = LatencyChartWidget(zone(OFFICE))
    qtbot.addWidget(chart)
    chart.resize(900, 260)
    chart.set_report(report)
    assert chart.empty_text is None
    geometry = chart.geometry_now()
    assert geometry is not None
    assert len(geometry.points) == len(report.samples) > 30
    assert sum(len(run) for run in geometry.medians) > 10
    assert all(geometry.plot.contains(p.point) for p in geometry.points)
    image = chart.grab().toImage()
    write = next(p for p in geometry.points if p.sample.direction is LatencyDirection.WRITE)
    pixel = image.pixelColor(QPoint(round(write.point.x()), round(write.point.y())))
    assert pixel.blue() > pixel.red() + 60, pixel.name()
    slow = max(geometry.points, key=lambda p: p.sample.delay)
    assert slow.point.y() < geometry.plot.center().y()  # the slow spell stands out


def test_chart_says_so_when_nothing_was_written(  # type: ignore[no-untyped-def]
    qtbot, services: Services, styled_app: QApplication
) -> None:
    chart = LatencyChartWidget(zone(OFFICE))
    qtbot.addWidget(chart)
    chart.resize(700, 220)
    assert chart.empty_text == "Loading…"
    chart.set_report(SyncOutcomeQueries(services.uow, services.clock).latency())
    assert chart.empty_text == EMPTY_TEXT
    geometry = chart.geometry_now()
    assert geometry is not None and geometry.points == ()
    image = chart.grab().toImage()
    plot: QRectF = geometry.plot
    colors = {
        image.pixelColor(QPoint(x, y)).name()
        for x in range(round(plot.left()) + 2, round(plot.right()) - 2, 7)
        for y in range(round(plot.top()) + 2, round(plot.bottom()) - 2, 7)
    }
    assert QColor("#2563eb").name() not in colors
    assert len(colors) > 2  # the sentence and the gridlines are drawn


def test_screenshot(qtbot, qapp, services: Services, business: Business, worker, bridge) -> None:  # type: ignore[no-untyped-def]
    seed_health(services, business)
    owner = EngineLock(services.uow, services.clock, "crewboard serve", pid=4242, host="office-server")
    owner.acquire()  # the office service, named at the top of the window
    dialog = open_dialog(qtbot, services, worker, bridge)
    qtbot.waitUntil(lambda: dialog.owner_line.owner is not None, timeout=10_000)
    dialog.resize(1280, 860)
    for _ in range(3):
        qapp.sendPostedEvents()
        qapp.processEvents()
    SHOTS.mkdir(parents=True, exist_ok=True)
    image = dialog.grab().toImage()
    assert image.save(str(SHOTS / "health.png"))
    assert (image.width(), image.height()) == (1280, 860)
