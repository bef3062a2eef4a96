"""Job links over real HTTP: only a token that verifies shows the job, for its tech, until a day
after the job ends; a reassigned job's old link says so; forged or altered links show nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.domain.ids import BookingId
from app.services import signed_tokens
from app.services.job_links import VALID_AFTER_END, job_token, link_setup, publish_address
from app.services.manage_links import manage_token
from sync.engine.event_extras import EventExtras, read_extras
from sync.engine.planner_inputs import content
from tests.booking.conftest import LiveServer, live, serve
from tests.job.conftest import OFFICE_PHONE, PUBLIC_URL, Job, job, job_app

__all__ = ["job", "serve"]

DETAILS = ("Ada Park", "1060 W Addison St", "555 0100", "gate code 4411")


@pytest.fixture
def web(job: Job, serve: list[LiveServer]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live(serve, job_app(job)), trust_env=False, timeout=10) as client:
        yield client


def _refused(answer: httpx.Response, status: int, heading: str) -> None:
    assert answer.status_code == status
    assert heading in answer.text
    for detail in DETAILS:
        assert detail not in answer.text
    assert "maps" not in answer.text


def test_the_job_page_shows_the_job_in_the_techs_zone(job: Job, web: httpx.Client) -> None:
    url = job.url()
    assert url.startswith(f"{PUBLIC_URL}/job/")
    answer = web.get(f"/job/{job.token()}")
    assert answer.status_code == 200
    text = answer.text
    for detail in ("AC repair", "Monday 2 November", "09:30 – 11:00", "CST, America/Chicago", "1 h 30 min"):
        assert detail in text
    for detail in (*DETAILS, "Job for Maria Lopez", OFFICE_PHONE, "tel:3125550142", "tel:+13125550100"):
        assert detail in text
    maps = next(part.split('"')[0] for part in text.split('href="')[1:] if "maps" in part)
    query = parse_qs(urlsplit(maps.replace("&amp;", "&")).query)
    assert query == {"api": ["1"], "query": ["1060 W Addison St, Chicago, IL 60613"]}
    # The token must not travel to the maps site, and no cache may keep the customer's details.
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["cache-control"] == "no-store"


def test_the_link_expires_a_day_after_the_job_ends(job: Job, web: httpx.Client) -> None:
    token = job.token()
    assert job.booking.end is not None
    job.clock.current = job.booking.end + VALID_AFTER_END - timedelta(minutes=1)
    assert web.get(f"/job/{token}").status_code == 200
    job.clock.advance(timedelta(minutes=1))
    _refused(web.get(f"/job/{token}"), 410, "This link has expired")


def test_a_job_moved_earlier_takes_its_old_links_expiry_with_it(job: Job, web: httpx.Client) -> None:
    token = job.token()
    assert job.booking.start is not None
    moved = job.services.bookings.move(job.booking.id, job.booking.start - timedelta(days=3))
    assert moved.end is not None
    job.clock.current = moved.end + VALID_AFTER_END
    _refused(web.get(f"/job/{token}"), 410, "This link has expired")


def test_a_reassigned_jobs_old_link_says_so_and_the_new_tech_gets_a_new_one(
    job: Job, web: httpx.Client
) -> None:
    old = job.token()
    moved = job.services.bookings.reassign(job.booking.id, "Sam Okafor")
    _refused(web.get(f"/job/{old}"), 410, "This job was reassigned")
    new = job.token(moved, job.sam)
    assert new != old
    answer = web.get(f"/job/{new}")
    assert answer.status_code == 200 and "Job for Sam Okafor" in answer.text
    # Given back to Maria, her old link works again: it names her and the job, and it is hers.
    job.services.bookings.reassign(job.booking.id, "Maria Lopez")
    assert web.get(f"/job/{old}").status_code == 200
    job.services.bookings.cancel(job.booking.id)
    _refused(web.get(f"/job/{old}"), 410, "This job was cancelled")


def _flip(text: str, index: int) -> str:
    swapped = "0" if text[index] != "0" else "1"
    return text[:index] + swapped + text[index + 1 :]


def test_forged_or_altered_links_show_nothing(job: Job, web: httpx.Client) -> None:
    token = job.token()
    payload, mac = token.rsplit(".", 1)
    booking, tech, expires = payload.split(".")
    with job.services.uow() as uow:
        key = link_setup(uow).key
    forged_key = signed_tokens.sign(b"x" * 32, "crewboard-job-page:", payload)
    later = str(int(expires) + 86_400 * 30)
    attempts = {
        "another booking": f"{_flip(booking, 0)}.{tech}.{expires}.{mac}",
        "another tech": f"{booking}.{job.sam.id}.{expires}.{mac}",
        "a later expiry": f"{booking}.{tech}.{later}.{mac}",
        "a changed signature": f"{payload}.{_flip(mac, 5)}",
        "no signature": payload,
        "a signature cut short": f"{payload}.{mac[:20]}",
        "another key": forged_key,
        "the customer's manage link": manage_token(key, BookingId(job.booking.id)),
        "a job token for another purpose": f"{payload}.{_manage_mac(key, payload)}",
        "garbage": "..%2e%2e",
    }
    for what, forged in attempts.items():
        answer = web.get(f"/job/{forged}")
        assert answer.status_code == 404, what
        _refused(answer, 404, "This link does not open a job")
    assert web.get(f"/job/{token}").status_code == 200  # the real one still works


def _manage_mac(key: bytes, payload: str) -> str:
    return signed_tokens.sign(key, "crewboard-manage-link:", payload).rsplit(".", 1)[1]


def test_a_token_made_with_a_later_expiry_by_the_key_holder_still_ends_with_the_job(
    job: Job, web: httpx.Client
) -> None:
    # Expiry is checked against the booking as it is, not only the date the token carries.
    with job.services.uow() as uow:
        key = link_setup(uow).key
        uow.commit()
    stretched = replace(job.booking, duration=timedelta(days=40))
    token = job_token(key, stretched, job.maria.id)
    assert job.booking.end is not None
    job.clock.current = job.booking.end + VALID_AFTER_END
    _refused(web.get(f"/job/{token}"), 410, "This link has expired")


def test_events_link_the_page_only_where_the_office_serves_one(job: Job) -> None:
    customer = job.services.customers.get(job.booking.customer_id)
    with job.services.uow() as uow:
        extras = read_extras(uow)
        uow.commit()
    linked = content(job.booking, customer, job.maria, b"k" * 32, extras)
    assert linked.link == job.url() and linked.office_phone == OFFICE_PHONE
    with job.services.uow() as uow:
        publish_address(uow, None, job.clock.now())
        extras = read_extras(uow)
        uow.commit()
    unlinked = content(job.booking, customer, job.maria, b"k" * 32, extras)
    assert unlinked.link == "" and unlinked.office_phone == OFFICE_PHONE
    bare = content(job.booking, customer, job.maria, b"k" * 32, EventExtras(None, frozenset()))
    assert bare.link == "" and bare.office_phone == "" and bare.category is None


def test_a_signed_token_carries_only_url_safe_text() -> None:
    token = signed_tokens.sign(b"k" * 32, "p:", "abc.123")
    assert set(token) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
    assert signed_tokens.verified(b"k" * 32, "p:", token) == "abc.123"
    assert signed_tokens.verified(b"k" * 32, "q:", token) is None
    with pytest.raises(ValueError):
        signed_tokens.sign(b"k" * 32, "p:", "a/b")
