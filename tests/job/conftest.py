"""A job with a tech, a customer and an office that serves job pages, over a real store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from starlette.applications import Starlette

from app.domain.model import Booking, Technician
from app.domain.time import FixedClock
from app.services.bookings import NewBooking
from app.services.container import Services
from app.services.job_links import JobPageService, OfficeSettingsService, link_setup, publish_address
from app.web.job import job_routes

CHI = ZoneInfo("America/Chicago")
PUBLIC_URL = "https://office.harbor-hvac.example/crewboard"
OFFICE_PHONE = "(312) 555-0142"


@dataclass
class Job:
    services: Services
    clock: FixedClock
    booking: Booking
    maria: Technician
    sam: Technician

    def url(self, booking: Booking | None = None, tech: Technician | None = None) -> str:
        """The link the event of `booking` (this job) for `tech` (Maria) carries."""
        with self.services.uow() as uow:
            setup = link_setup(uow)
            uow.commit()
        found = setup.url_for(booking or self.booking, tech or self.maria)
        assert found is not None
        return found

    def token(self, booking: Booking | None = None, tech: Technician | None = None) -> str:
        return self.url(booking, tech).rsplit("/job/", 1)[1]


@pytest.fixture
def job(services: Services, clock: FixedClock) -> Job:
    maria = services.techs.add("Maria Lopez", "maria@example.com", "America/Chicago", "mon-fri 08:00-17:00")
    maria = services.techs.edit(maria.name, color="#0f766e")
    sam = services.techs.add("Sam Okafor", "sam@example.com", "America/Chicago", "mon-fri 08:00-17:00")
    booking = services.bookings.create(
        NewBooking(
            customer="Ada Park",
            service="AC repair",
            duration=timedelta(minutes=90),
            start=datetime(2026, 11, 2, 9, 30, tzinfo=CHI),
            tech="Maria Lopez",
            address="1060 W Addison St, Chicago, IL 60613",
            phone="+1 312 555 0100",
            notes="Side gate code 4411.\nThe unit is on the roof: bring the tall ladder.",
        )
    )
    OfficeSettingsService(services.uow, clock).set_phone(OFFICE_PHONE)
    with services.uow() as uow:
        publish_address(uow, PUBLIC_URL, clock.now())
        uow.commit()
    return Job(services, clock, booking, maria, sam)


def job_app(job: Job) -> Starlette:
    page = JobPageService(job.services.uow, job.clock)
    return Starlette(routes=job_routes(page, business_name="Harbor HVAC"))
