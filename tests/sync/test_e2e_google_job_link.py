"""End to end with Google: a job's event links the tech's job page (`source.url` and the last line
of the description) once the office serves one, and says to call the office before that; events
already written are written again when the address appears."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.services.bookings import NewBooking
from app.services.job_links import JobPageService, OfficeSettingsService, publish_address
from tests.accounts.conftest import keyring_problem, token_store
from tests.sandbox.conftest import control, sandbox
from tests.sync.test_e2e_google import Office, next_weekday, office

__all__ = ["control", "keyring_problem", "office", "sandbox", "token_store"]

pytestmark = [pytest.mark.keyring, pytest.mark.slow]

PUBLIC_URL = "https://office.harbor-hvac.example/crewboard"


async def test_google_events_link_the_job_page_once_the_office_serves_one(office: Office) -> None:
    OfficeSettingsService(office.services.uow, office.clock).set_phone("(312) 555-0142")
    booking = office.services.bookings.create(
        NewBooking(
            customer="Ada Park",
            service="AC repair",
            duration=timedelta(minutes=90),
            start=next_weekday(2, 9, office.clock),
            tech="Maria Lopez",
            address="12 Elm St",
        )
    )
    await office.engine.run_once()
    [event] = office.phone.booking_events()
    assert "source" not in event
    assert event["description"].endswith("\n\nCall the office at (312) 555-0142.")

    with office.services.uow() as uow:
        assert publish_address(uow, PUBLIC_URL, office.clock.now())
        uow.commit()
    report = await office.engine.run_once()
    assert report.ok, report.errors
    [event] = office.phone.booking_events()
    url = event["source"]["url"]
    assert url.startswith(f"{PUBLIC_URL}/job/") and event["source"]["title"] == "Job page"
    assert event["description"].endswith(f"\n\nJob page: {url}")
    assert "Call the office" not in event["description"]
    view = JobPageService(office.services.uow, office.clock).job(url.rsplit("/", 1)[1])
    assert view.booking.id == booking.id and view.tech.name == "Maria Lopez"

    # Nothing changed since: the next round writes nothing.
    again = await office.engine.run_once()
    assert again.writes == 0
