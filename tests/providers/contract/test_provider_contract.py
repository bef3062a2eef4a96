"""The provider contract: what the sync engine may count on from every CalendarProvider.

Each test runs four times: the Google adapter and the Graph adapter against the sandbox (real
client libraries over real HTTP), the CalDAV adapter against a real Radicale, and the in-memory
fake the engine's own tests use.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace

import pytest

from app.domain.model import RemoteEvent, Response, ShowAs
from app.domain.recurrence import expand
from sync.providers.content import booking_title
from sync.providers.errors import (
    AuthExpired,
    CursorExpired,
    PreconditionFailed,
    ProviderError,
    RateLimited,
    Transient,
)
from sync.providers.normalize_google import google_event_id
from sync.providers.protocol import CalendarProvider, ChangeBatch
from tests.providers.contract.conftest import (
    ALL_DAY,
    EXCEPTION_ORIGINAL,
    EXCEPTION_START,
    FORGED_TITLE,
    HOUR,
    OWNER_KEY,
    SERIES_START,
    SPECS,
    TIMED_START,
    WINDOW,
    Harness,
    NoticeReceiver,
    booking_content,
)

pytestmark = pytest.mark.keyring


async def full_read(provider: CalendarProvider, harness: Harness) -> ChangeBatch:
    batch = await provider.read_changes(harness.calendar, None, WINDOW)
    assert batch.full and batch.cursor
    return batch


def by_id(batch: ChangeBatch) -> dict[str, RemoteEvent]:
    return {e.remote_id: e for e in batch.events}


def titled(batch: ChangeBatch, title: str) -> list[RemoteEvent]:
    return [e for e in batch.events if e.title == title]


async def test_lists_the_primary_calendar(provider: CalendarProvider, harness: Harness) -> None:
    calendars = await provider.list_calendars()
    assert calendars[0].primary
    assert calendars[0].remote_id == harness.calendar.remote_id


async def test_full_read_normalizes_every_kind_of_event(provider: CalendarProvider, harness: Harness) -> None:
    batch = await full_read(provider, harness)
    events = by_id(batch)
    ids = harness.seeded.ids
    assert batch.skipped == ()

    timed = events[ids["timed"]]
    assert (timed.when.start, timed.when.end) == (TIMED_START, TIMED_START + HOUR)
    assert timed.title == "Dentist"
    assert (timed.show_as, timed.response, timed.private) == (ShowAs.BUSY, Response.ORGANIZER, False)
    assert timed.etag

    all_day = events[ids["all_day"]]
    assert all_day.when.all_day
    assert (all_day.when.start_date, all_day.when.end_date) == (ALL_DAY, ALL_DAY + dt.timedelta(days=1))

    private = events[ids["private"]]
    assert private.private and private.title is None
    assert private.when.start == TIMED_START + 2 * HOUR

    assert events[ids["tentative"]].show_as is ShowAs.TENTATIVE
    assert events[ids["declined"]].response is Response.DECLINED

    master = events[ids["series"]]
    assert master.when.start == SERIES_START
    assert any("FREQ=WEEKLY" in line for line in master.recurrence)
    instances = [e for e in batch.events if e.master_remote_id == ids["series"]]
    assert len(instances) == 1, "plain occurrences must not be mirrored next to their master"
    exception = instances[0]
    assert exception.original_start == EXCEPTION_ORIGINAL
    assert exception.when.start == EXCEPTION_START
    # The mirror expands to the series exactly once: four weeks, the second one moved.
    starts = [o.when.start for o in expand(master, instances, WINDOW)]
    assert starts == [
        SERIES_START,
        EXCEPTION_START,
        SERIES_START + 2 * (EXCEPTION_ORIGINAL - SERIES_START),
        SERIES_START + 3 * (EXCEPTION_ORIGINAL - SERIES_START),
    ]


async def test_incremental_read_returns_exactly_a_phone_edit(
    provider: CalendarProvider, harness: Harness
) -> None:
    remote_id = harness.seed(SPECS["timed"] | {"summary": "Oil change"})
    cursor = (await full_read(provider, harness)).cursor
    harness.phone_edit(remote_id, "Oil change (moved by phone)")

    batch = await provider.read_changes(harness.calendar, cursor, WINDOW)
    assert not batch.full
    assert [e.remote_id for e in batch.events] == [remote_id]
    assert batch.events[0].title == "Oil change (moved by phone)"
    assert batch.deleted == ()

    quiet = await provider.read_changes(harness.calendar, batch.cursor, WINDOW)
    assert (quiet.events, quiet.deleted) == ((), ())


async def test_incremental_read_returns_exactly_a_phone_delete(
    provider: CalendarProvider, harness: Harness
) -> None:
    remote_id = harness.seed(SPECS["timed"] | {"summary": "Haircut"})
    cursor = (await full_read(provider, harness)).cursor
    harness.phone_delete(remote_id)

    batch = await provider.read_changes(harness.calendar, cursor, WINDOW)
    assert not batch.full
    assert batch.events == ()
    assert batch.deleted == (remote_id,)


class Mirror:
    """What the engine keeps of one calendar: a full batch replaces it, a change batch patches it."""

    def __init__(self) -> None:
        self.events: dict[str, RemoteEvent] = {}

    def apply(self, batch: ChangeBatch) -> None:
        if batch.full:
            self.events = {}
        for gone in batch.deleted:
            self.events.pop(gone, None)
            for rid in [r for r, e in self.events.items() if e.master_remote_id == gone]:
                del self.events[rid]
        for event in batch.events:
            self.events[event.remote_id] = event

    def starts(self, master_id: str) -> list[dt.datetime | None]:
        master = self.events.get(master_id)
        if master is None:
            return []
        instances = [e for e in self.events.values() if e.master_remote_id == master_id]
        return [o.when.start for o in expand(master, instances, WINDOW)]


WEEK = dt.timedelta(days=7)
SERIES_SPEC = SPECS["series"] | {
    "summary": "Weekly yard work",
    "start": SERIES_START + 5 * HOUR,
    "end": SERIES_START + 6 * HOUR,
}


async def test_a_cancelled_occurrence_leaves_the_mirrored_series(
    provider: CalendarProvider, harness: Harness
) -> None:
    series_id = harness.seed(SERIES_SPEC)
    mirror = Mirror()
    full = await full_read(provider, harness)
    mirror.apply(full)
    first = SERIES_START + 5 * HOUR
    assert mirror.starts(series_id) == [first + i * WEEK for i in range(4)]

    harness.phone_cancel_occurrence(series_id, 2)
    changes = await provider.read_changes(harness.calendar, full.cursor, WINDOW)
    assert not changes.full
    mirror.apply(changes)
    assert mirror.starts(series_id) == [first, first + WEEK, first + 3 * WEEK]

    harness.phone_delete(series_id)
    gone = await provider.read_changes(harness.calendar, changes.cursor, WINDOW)
    mirror.apply(gone)
    assert mirror.starts(series_id) == []
    assert not [e for e in mirror.events.values() if e.title == "Weekly yard work"]


async def test_expired_cursor_then_a_full_read_recovers(provider: CalendarProvider, harness: Harness) -> None:
    cursor = (await full_read(provider, harness)).cursor
    harness.invalidate_cursors()
    with pytest.raises(CursorExpired):
        await provider.read_changes(harness.calendar, cursor, WINDOW)

    again = await full_read(provider, harness)
    assert harness.seeded.ids["timed"] in by_id(again)
    quiet = await provider.read_changes(harness.calendar, again.cursor, WINDOW)
    assert not quiet.full


async def test_create_twice_makes_one_event(provider: CalendarProvider, harness: Harness) -> None:
    content = booking_content(hours_ahead=30)
    first = await provider.create_event(harness.calendar, content)
    second = await provider.create_event(harness.calendar, content)

    # Google answers 409 and the adapter adopts the event; Graph answers the repeated
    # transactionId with the first event. Either way the answer is the one event.
    assert not first.adopted
    assert second.remote_id == first.remote_id
    assert second.content_hash == first.content_hash
    title = booking_title(content.booking, content.customer)
    written = titled(await full_read(provider, harness), title)
    assert [e.remote_id for e in written] == [first.remote_id]
    assert written[0].when.start == content.booking.start


async def test_create_after_a_lost_answer_makes_no_second_event(
    provider: CalendarProvider, harness: Harness
) -> None:
    await provider.list_calendars()  # signed in before the fault
    content = booking_content(hours_ahead=32, service="Lost answer check")
    harness.fault("drop_after_commit", count=1)
    try:
        with pytest.raises(Transient):
            await provider.create_event(harness.calendar, content)
    finally:
        harness.clear_faults()

    retried = await provider.create_event(harness.calendar, content)
    written = titled(await full_read(provider, harness), booking_title(content.booking, content.customer))
    assert [e.remote_id for e in written] == [retried.remote_id]


async def test_update_with_a_stale_etag_is_refused(provider: CalendarProvider, harness: Harness) -> None:
    content = booking_content(hours_ahead=34, service="Gutter cleaning")
    created = await provider.create_event(harness.calendar, content)
    moved = booking_content(hours_ahead=36, service="Gutter cleaning", booking_id=content.booking.id)
    updated = await provider.update_event(harness.calendar, created.remote_id, created.etag, moved)
    assert updated.remote_id == created.remote_id
    assert updated.etag != created.etag
    assert updated.content_hash != created.content_hash

    renamed = booking_content(hours_ahead=36, service="Roof repair", booking_id=content.booking.id)
    with pytest.raises(PreconditionFailed):
        await provider.update_event(harness.calendar, created.remote_id, created.etag, renamed)

    found = await provider.find_booking_event(harness.calendar, content)
    assert found is not None
    assert found.when.start == moved.booking.start
    assert found.title == booking_title(moved.booking, moved.customer)


async def test_delete_twice_succeeds(provider: CalendarProvider, harness: Harness) -> None:
    content = booking_content(hours_ahead=38, service="Window washing")
    created = await provider.create_event(harness.calendar, content)
    await provider.delete_event(harness.calendar, created.remote_id, created.etag)
    await provider.delete_event(harness.calendar, created.remote_id, None)
    assert await provider.find_booking_event(harness.calendar, content) is None
    remaining = titled(await full_read(provider, harness), booking_title(content.booking, content.customer))
    assert remaining == []


async def test_find_booking_event_finds_ours_only(provider: CalendarProvider, harness: Harness) -> None:
    content = booking_content(hours_ahead=40, service="Furnace check")
    created = await provider.create_event(harness.calendar, content)
    found = await provider.find_booking_event(harness.calendar, content)
    assert found is not None
    assert found.remote_id == created.remote_id
    assert found.booking_id == content.booking.id
    assert found.calendar_id == harness.calendar.id
    assert await provider.find_booking_event(harness.calendar, booking_content(hours_ahead=40)) is None


@pytest.mark.parametrize("kind", ["5xx", "timeout", "reset"])
async def test_server_and_network_failures_are_transient(
    provider: CalendarProvider, harness: Harness, kind: str
) -> None:
    await provider.list_calendars()
    harness.fault(kind)
    try:
        with pytest.raises(Transient):
            await provider.read_changes(harness.calendar, None, WINDOW)
    finally:
        harness.clear_faults()
    assert (await full_read(provider, harness)).events


async def test_throttling_is_rate_limited_with_the_wish(provider: CalendarProvider, harness: Harness) -> None:
    await provider.list_calendars()
    harness.fault("429", retry_after=7)
    try:
        with pytest.raises(RateLimited) as raised:
            await provider.list_calendars()
    finally:
        harness.clear_faults()
    assert raised.value.retry_after == 7
    assert raised.value.retryable


async def test_an_expired_access_token_is_renewed_unnoticed(
    provider: CalendarProvider, harness: Harness
) -> None:
    if harness.name == "caldav":
        pytest.skip("CalDAV signs every request with the app password: there is no access token")
    await provider.list_calendars()
    before = harness.refreshes()
    harness.expire_access()
    batch = await full_read(provider, harness)
    assert harness.seeded.ids["timed"] in by_id(batch)
    assert harness.refreshes() == before + 1


async def test_watch_delivers_a_change_notice_until_stopped(
    provider: CalendarProvider, harness: Harness, receiver: NoticeReceiver
) -> None:
    if harness.name == "caldav":
        # CalDAV has no standard push: the engine's channel keeper hears a ProviderError and polls.
        with pytest.raises(ProviderError):
            await provider.watch(harness.calendar, receiver.url, "secret-token-1")
        return
    remote_id = harness.seed(SPECS["timed"] | {"summary": "Watched"})
    channel = await provider.watch(harness.calendar, receiver.url, "secret-token-1")
    assert channel.token == "secret-token-1"
    assert channel.expires > WINDOW.start
    harness.phone_edit(remote_id, "Watched (edited)")
    notice = await asyncio.to_thread(receiver.change_notice, "secret-token-1", 5.0)
    assert notice is not None

    renewed = await provider.renew(harness.calendar, channel, receiver.url)
    assert renewed.token == channel.token
    if renewed.id != channel.id:  # a new channel beside the old: the caller stops the old one
        await provider.stop_watch(harness.calendar, channel)
    assert renewed.expires >= channel.expires - HOUR
    harness.phone_edit(remote_id, "Watched (edited again)")
    assert await asyncio.to_thread(receiver.change_notice, "secret-token-1", 5.0) is not None

    await provider.stop_watch(harness.calendar, renewed)
    await provider.stop_watch(harness.calendar, renewed)  # stopping twice is harmless
    harness.phone_edit(remote_id, "Watched (unwatched edit)")
    assert await asyncio.to_thread(receiver.change_notice, "secret-token-1", 1.0) is None


async def test_a_provider_opened_afresh_continues_from_a_stored_cursor(
    provider: CalendarProvider, harness: Harness
) -> None:
    series_id = harness.seed(SERIES_SPEC | {"summary": "Weekly gym"})
    mirror = Mirror()
    full = await full_read(provider, harness)
    mirror.apply(full)
    if harness.name == "fake":
        reopened = provider  # the fake is its own backend: there is nothing to reopen
    else:
        await provider.aclose()
        reopened = harness.open()
    try:
        harness.phone_delete(series_id)
        mirror.apply(await reopened.read_changes(harness.calendar, full.cursor, WINDOW))
        assert mirror.starts(series_id) == []
        assert harness.seeded.ids["timed"] in mirror.events
    finally:
        if reopened is not provider:
            await reopened.aclose()


# --- ownership: only an event Crewboard can prove it wrote is found or adopted --------------------------

BOGUS_TAG = "0" * 64


def forged_still_there(batch: ChangeBatch, forged: list[str]) -> None:
    left = {e.remote_id: e for e in batch.events if e.remote_id in forged}
    assert sorted(left) == sorted(forged)
    assert {e.title for e in left.values()} == {FORGED_TITLE}


async def test_an_event_that_only_claims_the_booking_is_never_found_or_adopted(
    provider: CalendarProvider, harness: Harness
) -> None:
    content = booking_content(hours_ahead=42, service="Claim check")
    forged = [harness.forge(content), harness.forge(content, tag=BOGUS_TAG)]

    assert await provider.find_booking_event(harness.calendar, content) is None
    created = await provider.create_event(harness.calendar, content)
    assert not created.adopted and created.remote_id not in forged
    found = await provider.find_booking_event(harness.calendar, content)
    assert found is not None and found.remote_id == created.remote_id
    forged_still_there(await full_read(provider, harness), forged)


async def test_after_a_failed_create_a_tagged_foreign_event_is_not_adopted(
    provider: CalendarProvider, harness: Harness
) -> None:
    """Graph looked for "its" event after one failed create and took any event with the booking id."""
    await provider.list_calendars()  # signed in before the fault
    content = booking_content(hours_ahead=44, service="Failed create check")
    forged = [harness.forge(content, tag=BOGUS_TAG)]
    harness.fault("5xx", count=1)
    try:
        with pytest.raises(Transient):
            await provider.create_event(harness.calendar, content)
    finally:
        harness.clear_faults()

    created = await provider.create_event(harness.calendar, content)
    assert not created.adopted and created.remote_id not in forged
    batch = await full_read(provider, harness)
    forged_still_there(batch, forged)
    assert [e.remote_id for e in titled(batch, booking_title(content.booking, content.customer))] == [
        created.remote_id
    ]


async def test_a_create_never_adopts_an_event_under_a_guessed_id(
    provider: CalendarProvider, harness: Harness
) -> None:
    if harness.name == "graph":
        pytest.skip("Graph assigns event ids itself; its create is keyed by a transactionId instead")
    content = booking_content(hours_ahead=46, service="Guessed id check")
    readable = google_event_id(content.booking.id)  # "cb" + booking id, what older versions used
    keyed = google_event_id(content.booking.id, key=OWNER_KEY)  # as if it had leaked
    forged = [
        harness.forge(content, event_id=readable),
        harness.forge(content, event_id=keyed, tag=BOGUS_TAG),
    ]

    created = await provider.create_event(harness.calendar, content)
    assert not created.adopted and created.remote_id not in forged
    assert await provider.create_event(harness.calendar, content) == replace(created, adopted=True)
    forged_still_there(await full_read(provider, harness), forged)


async def test_a_genuine_tag_copied_to_another_event_proves_nothing(
    provider: CalendarProvider, harness: Harness
) -> None:
    content = booking_content(hours_ahead=48, service="Copied tag check")
    genuine = await provider.create_event(harness.calendar, content)
    tag = harness.tag_of(genuine.remote_id)
    assert tag is not None
    harness.phone_delete(genuine.remote_id)
    forged = [harness.forge(content, tag=tag)]

    assert await provider.find_booking_event(harness.calendar, content) is None
    created = await provider.create_event(harness.calendar, content)
    assert not created.adopted and created.remote_id not in forged
    forged_still_there(await full_read(provider, harness), forged)


async def test_a_revoked_sign_in_is_auth_expired(provider: CalendarProvider, harness: Harness) -> None:
    """Last: the account stays revoked for the rest of the module."""
    await provider.list_calendars()
    harness.revoke()
    with pytest.raises(AuthExpired):
        await provider.read_changes(harness.calendar, None, WINDOW)
