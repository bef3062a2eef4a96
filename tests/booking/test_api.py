"""The public JSON API (README "The booking page"), over a real server and store."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import httpx
import pytest

from app.domain.model import Audience, BookingStatus
from app.services.bookings import NewBooking
from tests.booking.conftest import MON_9, LiveServer, Shop, booking_app, live

KIM = {
    "name": "Kim Park",
    "phone": "+1 312 555 0100",
    "email": "kim@example.com",
    "address": "5 Oak St",
    "notes": "",
}


def test_services_and_slots(shop: Shop, serve: list[LiveServer]) -> None:
    url = live(serve, booking_app(shop.page))
    services = httpx.get(f"{url}/book/api/services").json()
    assert [(s["name"], s["duration_minutes"], s["buffer_minutes"]) for s in services] == [
        ("AC repair", 60, 30),
        ("Drain cleaning", 90, 0),
    ]  # Solar panels has nobody qualified
    slots = httpx.get(
        f"{url}/book/api/slots", params={"service": shop.ac.id, "from": "2026-11-02", "days": 1}
    ).json()
    assert slots[0] == {"start": "2026-11-02T08:00-06:00", "end": "2026-11-02T09:00-06:00"}
    assert slots[-1] == {"start": "2026-11-02T15:30-06:00", "end": "2026-11-02T16:30-06:00"}
    two_weeks = httpx.get(f"{url}/book/api/slots", params={"service": shop.ac.id}).json()
    assert two_weeks[-1]["start"].startswith("2026-11-13")  # the last weekday of the 14 days
    bad = httpx.get(f"{url}/book/api/slots", params={"service": shop.ac.id, "days": "30"})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid"
    assert httpx.get(f"{url}/book/api/slots", params={"service": "nope"}).status_code == 404


def test_booking_then_taken_then_moved_then_cancelled(shop: Shop, serve: list[LiveServer]) -> None:
    url = live(serve, booking_app(shop.page))
    body = {"service": shop.ac.id, "start": "2026-11-02T09:00-06:00", **KIM}
    first = httpx.post(f"{url}/book/api/bookings", json=body)
    assert first.status_code == 201
    made = first.json()
    assert set(made) == {"id", "start", "end", "tech", "manage_url"}
    assert (made["start"], made["end"], made["tech"]) == (
        "2026-11-02T09:00-06:00",
        "2026-11-02T10:00-06:00",
        None,
    )
    token = made["manage_url"].rsplit("/", 1)[1]
    assert made["manage_url"] == f"{url}/book/manage/{token}"
    assert httpx.post(f"{url}/book/api/bookings", json=body).status_code == 201  # Sam is free too
    taken = httpx.post(f"{url}/book/api/bookings", json=body)
    assert taken.status_code == 409
    assert taken.json()["error"] == "taken" and taken.json()["slots"][0]["start"] == "2026-11-02T10:30-06:00"
    assert "2026-11-02T09:00-06:00" not in {s["start"] for s in taken.json()["slots"]}
    moved = httpx.patch(f"{url}/book/api/bookings/{token}", json={"start": "2026-11-03T13:00-06:00"})
    assert moved.status_code == 200 and moved.json()["start"] == "2026-11-03T13:00-06:00"
    shown = httpx.get(f"{url}/book/api/bookings/{token}").json()
    assert shown["status"] == "scheduled" and shown["service"] == "AC repair"
    gone = httpx.delete(f"{url}/book/api/bookings/{token}")
    assert gone.status_code == 200 and gone.json()["status"] == "cancelled"
    assert httpx.delete(f"{url}/book/api/bookings/{token}").status_code == 410
    assert shop.services.bookings.get(made["id"]).status is BookingStatus.CANCELLED
    with shop.services.uow() as uow:
        subjects = [n.subject for n in uow.notifications.list() if n.audience is Audience.DISPATCHER]
    assert subjects.count("Booked online: AC repair Mon 02 Nov 09:00 with Maria Lopez") == 1
    assert any(s.startswith("Moved online: AC repair Tue 03 Nov 13:00") for s in subjects)
    assert any(s.startswith("Cancelled online") for s in subjects)


def test_the_tech_is_named_only_when_the_office_allows_it(shop: Shop, serve: list[LiveServer]) -> None:
    from app.services.online_booking import BookingPolicy, OnlineBookingService

    open_page = OnlineBookingService(
        shop.services.uow,
        shop.services.clock,
        shop.services.bus,
        BookingPolicy("America/Chicago", show_tech_name=True),
    )
    url = live(serve, booking_app(open_page))
    made = httpx.post(
        f"{url}/book/api/bookings", json={"service": shop.ac.id, "start": "2026-11-02T09:00-06:00", **KIM}
    )
    assert made.json()["tech"] == "Maria Lopez"


def test_hostile_requests_are_refused_and_change_nothing(shop: Shop, serve: list[LiveServer]) -> None:
    url = live(serve, booking_app(shop.page, writes=5))
    api = f"{url}/book/api/bookings"
    good = {"service": shop.ac.id, "start": "2026-11-02T09:00-06:00", **KIM}
    cases = [
        (
            httpx.post(
                api, content=b"service=x", headers={"content-type": "application/x-www-form-urlencoded"}
            ),
            415,
        ),
        (
            httpx.post(api, content=b"{" + b" " * 20000 + b"}", headers={"content-type": "application/json"}),
            413,
        ),
        (httpx.post(api, json={**good, "name": "K" * 500}), 400),
        (httpx.post(api, json={**good, "start": "2026-11-02T09:10-06:00"}), 400),
    ]
    assert [(r.status_code, w) for r, w in cases] == [(w, w) for _, w in cases]
    assert httpx.get(api).status_code == 405  # no listing of bookings
    assert httpx.get(f"{api}/{'0' * 32}.forged").status_code == 404
    assert httpx.delete(f"{api}/{'0' * 32}.forged").status_code == 404  # the fifth write
    limited = httpx.post(api, json=good)  # the sixth write of the window
    assert limited.status_code == 429 and limited.headers["retry-after"] == "60"
    assert shop.services.bookings.list() == []


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_fifty_concurrent_bookings_for_the_last_slot_make_one_job(
    shop: Shop, serve: list[LiveServer]
) -> None:
    services = shop.services
    maria, sam = services.techs.find("Maria Lopez"), services.techs.find("Sam Okafor")
    # Every working hour of the two weeks is taken but Monday 09:00-10:30 with Maria.
    for tech in (maria, sam):
        for day in range(14):
            start = MON_9.replace(hour=8) + timedelta(days=day)
            if start.weekday() < 5 and not (tech is maria and day == 0):
                services.bookings.create(NewBooking("Busy", "Other", timedelta(hours=9), start, tech.id))
    services.bookings.create(NewBooking("Busy", "Other", timedelta(hours=1), MON_9.replace(hour=8), maria.id))
    services.bookings.create(
        NewBooking(
            "Busy", "Other", timedelta(hours=6, minutes=30), MON_9.replace(hour=10, minute=30), maria.id
        )
    )
    url = live(serve, booking_app(shop.page, writes=100))
    assert httpx.get(f"{url}/book/api/slots", params={"service": shop.ac.id}).json() == [
        {"start": "2026-11-02T09:00-06:00", "end": "2026-11-02T10:00-06:00"}
    ]
    body = {"service": shop.ac.id, "start": "2026-11-02T09:00-06:00", **KIM}

    async def race() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
            return await asyncio.gather(*(client.post("/book/api/bookings", json=body) for _ in range(50)))

    answers = asyncio.run(race())
    assert Counter(a.status_code for a in answers) == {201: 1, 409: 49}
    assert all(
        a.json()
        == {"error": "taken", "message": "That time was just taken; please choose another.", "slots": []}
        for a in answers
        if a.status_code == 409
    )
    ac_jobs = [b for b in services.bookings.list() if b.service == "AC repair"]
    assert len(ac_jobs) == 1 and ac_jobs[0].tech_id == maria.id
    with services.uow() as uow:
        assert len(uow.booking_page.online.online_among([b.id for b in services.bookings.list()])) == 1
        assert len([o for o in uow.outbox.pending() if o.booking_id == ac_jobs[0].id]) <= 1


def test_behind_a_local_relay_each_forwarded_client_has_its_own_limit(
    shop: Shop, serve: list[LiveServer]
) -> None:
    url = live(serve, booking_app(shop.page, writes=1))
    api = f"{url}/book/api/bookings/{'0' * 32}.forged"
    # The server's peer is 127.0.0.1 (a relay on this computer): the client it names is counted.
    assert httpx.delete(api, headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 404
    assert httpx.delete(api, headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 429
    assert httpx.delete(api, headers={"X-Forwarded-For": "10.0.0.1, 198.51.100.9"}).status_code == 404
