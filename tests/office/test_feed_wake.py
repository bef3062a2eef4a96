"""A desk's saved booking wakes the office service through the change feed (NOTIFY), not its poll."""

from __future__ import annotations

import signal
from datetime import timedelta
from pathlib import Path

import pytest

from app.services.bookings import NewBooking
from tests.accounts.conftest import keyring_problem, token_store
from tests.office.serve_process import ServeProcess
from tests.office.test_serve_sandbox import Office, _tomorrow_but_one, eventually, office
from tests.sandbox.conftest import control, sandbox

__all__ = ["control", "keyring_problem", "office", "sandbox", "token_store"]

pytestmark = [pytest.mark.keyring, pytest.mark.slow]

AN_HOUR = 3600  # the service's poll: far longer than the test waits, so only a notice can wake it


def test_a_desk_booking_reaches_the_calendar_without_waiting_for_a_poll(
    office: Office, tmp_path: Path
) -> None:
    service = ServeProcess.start(office.database.url, tmp_path / "svc", poll=AN_HOUR)
    try:
        service.wait_owner()
        # The first job may go out with the round the service runs on taking ownership; the second
        # is booked after that one is on the calendar, so only the feed's notice can send it.
        for name, hour in (("Ada Byron", 9), ("Hill family", 11)):
            booking = office.services.bookings.create(
                NewBooking(
                    customer=name,
                    service="Boiler service",
                    duration=timedelta(minutes=30),
                    start=_tomorrow_but_one(hour),
                    tech="Maria Lopez",
                )
            )
            booking_id = str(booking.id)
            eventually(lambda: booking_id in office.booking_events(), f"{name}'s job reached the calendar")  # noqa: B023 - awaited here
    finally:
        assert service.stop(signal.SIGTERM) == 0, service.stderr()
