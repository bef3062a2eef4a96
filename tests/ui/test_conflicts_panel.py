"""The conflicts panel in the main window: both sides shown, decisions through ConflictService."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from PySide6.QtWidgets import QApplication

from app.domain.ids import ConflictId, new_id
from app.domain.model import Conflict, ConflictKind, ConflictStatus, Resolution
from app.domain.time import zone
from app.services.container import Services
from app.services.sync_outcomes import SyncOutcomeQueries
from tests.ui.business import DEMO_NOW, DENVER, MONDAY, Business, at
from tests.ui.conftest import OFFICE
from ui.conflicts.dialogs import ReassignDialog, RescheduleDialog, TechChoiceModel
from ui.conflicts.model import ConflictListModel
from ui.conflicts.wording import ConflictText
from ui.main_window import MainWindow

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WED = MONDAY + timedelta(days=2)
THU = MONDAY + timedelta(days=3)


def add_conflict(services: Services, conflict: Conflict) -> Conflict:
    with services.uow() as uow:
        uow.conflicts.add(conflict)
        uow.commit()
    return conflict


def seed_conflicts(services: Services, biz: Business) -> dict[str, Conflict]:
    """One of each kind beside the business's own clash (Priya's parent-teacher meeting)."""
    b, t = biz.bookings, biz.techs
    found = {}
    with services.uow() as uow:
        found["meeting"] = next(c for c in uow.conflicts.open() if c.booking_id == b["nguyen"].id)
    found["private"] = add_conflict(
        services,
        Conflict(
            ConflictId(new_id()),
            b["chen"].id,
            t["Elena Novak"].id,
            ConflictKind.OVERLAP,
            DEMO_NOW - timedelta(minutes=6),
            calendar_id=biz.calendars["Elena Novak"],
            other_start=at(WED, 9, 0, DENVER),
            other_end=at(WED, 9, 45, DENVER),
            detail="A private event was added to Elena's calendar over the Chen job",
        ),
    )
    found["edited"] = add_conflict(
        services,
        Conflict(
            ConflictId(new_id()),
            b["gray"].id,
            t["Dana Ortiz"].id,
            ConflictKind.EDITED_BOTH,
            DEMO_NOW - timedelta(minutes=48),
            other_start=at(THU, 11),
            other_end=at(THU, 12, 30),
            detail="Dana moved the job in her calendar after the dispatcher changed it",
        ),
    )
    found["deleted"] = add_conflict(
        services,
        Conflict(
            ConflictId(new_id()),
            b["brown"].id,
            t["Marcus Lee"].id,
            ConflictKind.EVENT_DELETED,
            DEMO_NOW - timedelta(hours=2, minutes=5),
            detail="Marcus deleted the Brown & Co. job from his calendar",
        ),
    )
    found["resolved"] = add_conflict(
        services,
        Conflict(
            ConflictId(new_id()),
            b["adams"].id,
            t["Dana Ortiz"].id,
            ConflictKind.OVERLAP,
            DEMO_NOW - timedelta(days=2),
            status=ConflictStatus.RESOLVED,
            other_title="Dentist",
            other_start=at(MONDAY, 9, 30),
            other_end=at(MONDAY, 10, 30),
            resolution=Resolution.REASSIGN,
            resolved_by="dispatcher",
            resolved_at=DEMO_NOW - timedelta(days=2) + timedelta(minutes=12),
        ),
    )
    return found


def loaded(qtbot, win: MainWindow) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(win.conflicts_panel.conflicts_loaded, timeout=10_000):
        win.conflicts_panel.refresh()


def texts(model: ConflictListModel) -> list[ConflictText]:
    found = [model.index(r, 0).data(ConflictListModel.TextRole) for r in range(model.rowCount())]
    assert all(isinstance(t, ConflictText) for t in found)
    return found


def resolved_after(qtbot, win: MainWindow, conflict_id: str) -> Conflict:  # type: ignore[no-untyped-def]
    """Wait until the panel, refreshed by the bus, lists `conflict_id` as resolved."""
    panel = win.conflicts_panel

    def moved() -> bool:
        return panel.open_model.row_of(conflict_id) < 0 and panel.resolved_model.row_of(conflict_id) >= 0

    qtbot.waitUntil(moved, timeout=10_000)
    view = panel.resolved_model.view_at(panel.resolved_model.row_of(conflict_id))
    assert view is not None
    return view.conflict


def test_open_conflicts_show_both_sides(qtbot, business: Business, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    seed_conflicts(window.services, business)
    loaded(qtbot, window)
    panel = window.conflicts_panel
    shown = {t.title: t for t in texts(panel.open_model)}
    assert len(shown) == 4
    meeting = shown["Nguyen family · AC tune-up"]
    assert meeting.kind == "Calendar clash"
    assert meeting.job == "Wed 4 Nov, 13:00–14:30 · Priya Shah"
    assert meeting.other == "“Parent-teacher meeting”"
    assert meeting.noticed == "Noticed 20 min ago"
    private = shown["Chen dental office · Heat pump service"]
    assert private.job == "Wed 4 Nov, 08:30–10:30 (Denver time) · Elena Novak"
    assert private.other == "Private event, 09:00–09:45 in Personal"
    edited = shown["Gray family · AC tune-up"]
    assert (edited.job_label, edited.other_label) == ("Board time", "Tech's time")
    assert edited.job == "Thu 5 Nov, 09:00–10:30 · Dana Ortiz"
    assert edited.other == "Thu 5 Nov, 11:00–12:30"
    deleted = shown["Brown & Co. offices · Standard clean"]
    assert deleted.other == "The tech deleted this job from their calendar"
    assert deleted.noticed == "Noticed 2 h 5 min ago"
    assert window.conflicts_dock.windowTitle() == "Conflicts (4)"
    panel.show_resolved(True)
    (resolved,) = texts(panel.resolved_model)
    assert resolved.outcome == "Reassigned by dispatcher · Mon 2 Nov 10:52"
    assert panel.stack.currentWidget() is panel.resolved_list


def test_order_is_oldest_first(qtbot, business: Business, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    seed_conflicts(window.services, business)
    loaded(qtbot, window)
    assert [t.title for t in texts(window.conflicts_panel.open_model)] == [
        "Brown & Co. offices · Standard clean",
        "Gray family · AC tune-up",
        "Nguyen family · AC tune-up",
        "Chen dental office · Heat pump service",
    ]


def test_choosing_a_conflict_selects_its_booking_on_the_board(  # type: ignore[no-untyped-def]
    qtbot, business: Business, window: MainWindow
) -> None:
    found = seed_conflicts(window.services, business)
    loaded(qtbot, window)
    panel = window.conflicts_panel
    panel.select(found["meeting"].id)
    assert window.board.selected_booking == business.bookings["nguyen"].id
    # Thursday's job: the board moves to Thursday first, then selects it.
    with qtbot.waitSignal(window.snapshot_applied, timeout=10_000):
        panel.select(found["edited"].id)
    assert window.anchor == THU
    assert window.board.selected_booking == business.bookings["gray"].id


def test_keep_resolves_through_the_service_and_the_list_follows_the_bus(  # type: ignore[no-untyped-def]
    qtbot, business: Business, window: MainWindow
) -> None:
    found = seed_conflicts(window.services, business)
    loaded(qtbot, window)
    panel = window.conflicts_panel
    panel.select(found["meeting"].id)
    assert panel.keep_button.isEnabled()
    panel.keep_button.click()
    conflict = resolved_after(qtbot, window, found["meeting"].id)
    assert (conflict.resolution, conflict.resolved_by) == (Resolution.KEEP, "dispatcher")
    with window.services.uow() as uow:
        stored = uow.bookings.get(business.bookings["nguyen"].id)
    assert stored is not None and stored.forced  # kept over the meeting, on purpose
    assert window.conflicts_dock.windowTitle() == "Conflicts (3)"
    qtbot.waitUntil(lambda: "Kept as booked" in window.statusBar().currentMessage(), timeout=5000)


def test_reschedule_moves_the_booking_and_resolves(  # type: ignore[no-untyped-def]
    qtbot, business: Business, window: MainWindow
) -> None:
    found = seed_conflicts(window.services, business)
    loaded(qtbot, window)
    panel = window.conflicts_panel
    panel.select(found["edited"].id)
    dialog = panel.open_reschedule()
    assert isinstance(dialog, RescheduleDialog)
    assert dialog.start() == at(THU, 11)  # the tech's time is offered first
    dialog.set_start(at(THU, 13))
    dialog.accept()
    conflict = resolved_after(qtbot, window, found["edited"].id)
    assert conflict.resolution is Resolution.RESCHEDULE
    with window.services.uow() as uow:
        moved = uow.bookings.get(business.bookings["gray"].id)
    assert moved is not None and moved.start == at(THU, 13)


def test_next_free_time_comes_from_the_schedule(  # type: ignore[no-untyped-def]
    qtbot, business: Business, window: MainWindow
) -> None:
    found = seed_conflicts(window.services, business)
    loaded(qtbot, window)
    panel = window.conflicts_panel
    panel.select(found["meeting"].id)
    dialog = panel.open_reschedule()
    assert dialog is not None and dialog.start() == at(WED, 13)
    dialog.find_next_free()
    qtbot.waitUntil(lambda: dialog.next_free_button.isEnabled(), timeout=10_000)
    # Priya is busy with the Nguyen job itself until 14:30; the next free 90 minutes start then.
    assert dialog.start() == at(WED, 14, 30)
    dialog.reject()


def test_reassign_offers_who_is_free_and_gives_the_job_away(  # type: ignore[no-untyped-def]
    qtbot, qtmodeltester, business: Business, window: MainWindow
) -> None:
    found = seed_conflicts(window.services, business)
    loaded(qtbot, window)
    panel = window.conflicts_panel
    panel.select(found["meeting"].id)
    dialog = panel.open_reassign()
    assert isinstance(dialog, ReassignDialog)
    qtbot.waitUntil(lambda: dialog.model.rowCount() > 0, timeout=10_000)
    model: TechChoiceModel = dialog.model
    rows = [model.choice_at(r) for r in range(model.rowCount())]
    standalone = TechChoiceModel()  # outlives the dialog, which the tester disconnects from last
    standalone.set_choices([c for c in rows if c is not None])
    qtmodeltester.check(standalone, force_py=True)
    by_name = {c.tech.name: c for c in rows if c is not None}
    assert by_name["Priya Shah"].current and rows[-1] is by_name["Priya Shah"]
    assert by_name["Marcus Lee"].reason == "Busy: Standard clean, 12:00–14:00"
    assert by_name["Sam Whitaker"].free and by_name["Sam Whitaker"].reason == "Free then"
    assert by_name["Dana Ortiz"].reason.startswith("Busy: Water heater install")
    free = [c.tech.name for c in rows if c is not None and c.free and not c.current]
    assert free == sorted(free) and rows[0] is not None and rows[0].free
    dialog.choose(business.techs["Sam Whitaker"].id)
    dialog.ok_button.click()
    conflict = resolved_after(qtbot, window, found["meeting"].id)
    assert conflict.resolution is Resolution.REASSIGN
    with window.services.uow() as uow:
        given = uow.bookings.get(business.bookings["nguyen"].id)
    assert given is not None and given.tech_id == business.techs["Sam Whitaker"].id


def test_the_conflict_models_pass_the_model_tester(  # type: ignore[no-untyped-def]
    qtbot, qtmodeltester, services: Services, business: Business, styled_app: QApplication
) -> None:
    seed_conflicts(services, business)
    lists = SyncOutcomeQueries(services.uow, services.clock).conflicts()
    for items in (lists.open, lists.resolved):
        model = ConflictListModel(zone(OFFICE))
        model.set_items(items, DEMO_NOW)
        qtmodeltester.check(model, force_py=True)
        model.set_now(DEMO_NOW + timedelta(minutes=3))
        qtmodeltester.check(model, force_py=True)


def test_cancelling_the_job_settles_its_conflict(qtbot, business: Business, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    found = seed_conflicts(window.services, business)
    loaded(qtbot, window)
    window.services.bookings.cancel(business.bookings["brown"].id)
    settled = resolved_after(qtbot, window, found["deleted"].id)
    assert settled.resolution is Resolution.CANCELLED
    window.conflicts_panel.show_resolved(True)
    outcomes = [t.outcome for t in texts(window.conflicts_panel.resolved_model)]
    assert any(o.startswith("Job cancelled by dispatcher") for o in outcomes)
    assert window.conflicts_dock.windowTitle() == "Conflicts (3)"


def test_empty_panel_says_so(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    loaded(qtbot, window)
    panel = window.conflicts_panel
    assert panel.stack.currentWidget() is panel.open_empty
    assert "No open conflicts" in panel.open_empty.text()
    assert not panel.keep_button.isVisibleTo(panel)
    assert window.conflicts_dock.windowTitle() == "Conflicts"


def test_screenshot(qtbot, qapp, business: Business, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    found = seed_conflicts(window.services, business)
    with qtbot.waitSignal(window.snapshot_applied, timeout=10_000):
        window.resize(1600, 900)
        window.refresh()
    loaded(qtbot, window)
    window.show_conflicts()
    window.conflicts_panel.select(found["meeting"].id)
    for _ in range(3):
        qapp.sendPostedEvents()
        qapp.processEvents()
    SHOTS.mkdir(parents=True, exist_ok=True)
    image = window.grab().toImage()
    assert image.save(str(SHOTS / "conflicts.png"))
    assert (image.width(), image.height()) == (1600, 900)
    assert window.conflicts_dock.isVisible() and not window.conflicts_dock.visibleRegion().isEmpty()


def test_nothing_loads_after_the_window_closed(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    loaded(qtbot, window)
    health = window.open_sync_health()
    window.close()
    before = window.worker.pending
    # Timers and late bus events may still call these; the worker is gone, so they must do nothing.
    window.conflicts_panel.refresh()
    window.alerts.refresh()
    health.refresh()
    assert window.worker.pending == before
