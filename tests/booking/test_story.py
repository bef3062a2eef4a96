"""The story the booking page exists for, end to end on the demo business.

A tech adds a 14:00 dentist appointment on the phone (the provider's own API, in the sandbox); the
sandbox pushes the change, the sync engine reads it, and the page the demo serves stops offering
14:00 with that tech: customers who book 14:00 get the other qualified techs, never the one at the
dentist.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import httpx
import pytest

from app.bus import BusyChanged
from app.demo import DemoSync, start_demo
from app.domain.model import Provider
from app.domain.time import FixedClock, zone
from app.services.online_booking import OnlineBookingService, set_office_rules
from app.services.service_types import ServiceTypeService
from sync.providers.secrets import TokenStore
from tests.accounts.conftest import keyring_problem, token_store

__all__ = ["keyring_problem", "token_store"]

CHICAGO = zone("America/Chicago")


def _customer(service: str, start: str, name: str) -> dict[str, str]:
    email = name.split()[0].lower() + "@example.com"
    return {"service": service, "start": start, "name": name, "phone": "+1 312 555 0100", "email": email,
            "address": "5 Oak St"}  # fmt: skip


async def _until(check: Callable[[], bool], timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)


@pytest.mark.keyring
async def test_a_dentist_added_on_the_phone_is_never_booked_over(
    tmp_path: Path, token_store: TokenStore
) -> None:
    # Now, not a fixed day: Graph bounds a subscription's expiry by the provider's own clock.
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    demo = await asyncio.to_thread(start_demo, tmp_path, clock, store=token_store)
    services = demo.services
    set_office_rules(services.uow, show_tech_name=True)
    sync = DemoSync(services, demo.store, demo.booking_page_at)
    stop = asyncio.Event()
    running = asyncio.ensure_future(sync.run_forever(stop))
    try:
        jordan = services.techs.find("Jordan Lee")
        ac = ServiceTypeService(services.uow).find("AC repair")  # Alex, Jordan, Morgan, Priya
        page = OnlineBookingService.for_office(services.uow, clock, services.bus, "America/Chicago")
        # The first 14:00 (a day ahead at least) that Jordan and someone else are free for.
        two = next(
            s
            for s in page.slots(ac.id)
            if s.start.astimezone(CHICAGO).time() == time(14)
            and s.start - clock.now() > timedelta(days=1)
            and jordan.id in s.techs
            and len(s.techs) >= 2
        )
        others = {services.techs.find(t).name for t in two.techs - {jordan.id}}
        await asyncio.wait_for(sync.listening.wait(), 20)
        assert demo.booking_url is not None  # the demo serves the page beside its push receiver
        url = demo.booking_url.removesuffix("/book/")

        def watched() -> bool:  # CalDAV (the demo's iPhone tech) has no push: polled only
            return all(
                c.channel_id
                for v in services.accounts.list()
                if v.account.provider is not Provider.CALDAV
                for c in v.calendars
                if c.blocks
            )

        await _until(watched)
        sync.engine.poll_seconds = 3600.0  # from here on only a push makes the engine read

        loop = asyncio.get_running_loop()
        jordan_busy = asyncio.Event()

        def heard(event: BusyChanged) -> None:
            if jordan.id in event.tech_ids:
                loop.call_soon_threadsafe(jordan_busy.set)

        services.bus.subscribe(BusyChanged, heard)
        phone = {t.email: t for t in await asyncio.to_thread(demo.phone.techs)}
        dentist = (
            phone[jordan.email],
            "Dentist",
            two.start.astimezone(CHICAGO),
            timedelta(hours=1),
            True,
            False,
        )
        await asyncio.to_thread(demo.phone.add_event, *dentist)
        await asyncio.wait_for(jordan_busy.wait(), 30)

        assert [s.techs for s in page.slots(ac.id) if s.start == two.start] == [two.techs - {jordan.id}]
        start = two.start.astimezone(CHICAGO).isoformat(timespec="minutes")
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            booked = []
            for index in range(len(others)):
                answer = await client.post(
                    "/book/api/bookings", json=_customer(ac.id, start, f"Kim{index} Park")
                )
                assert answer.status_code == 201, answer.text
                booked.append(answer.json()["tech"])
            assert set(booked) == others
            refused = await client.post("/book/api/bookings", json=_customer(ac.id, start, "Lee Park"))
            assert refused.status_code == 409  # Jordan is at the dentist
        day = services.schedule.day("Jordan Lee", two.start.astimezone(CHICAGO).date())
        assert [b.title for b in day.busy if b.interval.start == two.start] == ["Dentist"]
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
        await sync.aclose()
        demo.close()
