"""Crewboard edits only what it wrote: events that merely claim to be a job are left alone.

The tech's phone here also plays whoever else can write to the calendars (a colleague with writer
access to a shared calendar, a sender of invitations): each adds an event carrying a job's booking
id, or a copy of a genuine tag, and the engine must neither delete, adopt, patch nor follow it,
while the job's own event keeps syncing and the dispatcher hears of each such event once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from app.domain.model import Audience, Booking, RemoteEvent, Response
from app.domain.time import Interval
from sync.core.ownership import event_tag
from sync.engine import SyncEngine
from sync.engine.ownership import KEY_SETTING
from sync.providers.normalize_google import google_event_id
from tests.sync.conftest import NOW, PRIMARY, SECOND, World, timed

FOREIGN_TITLE = "Lunch with Jo"


def store_key(world: World) -> bytes:
    with world.uow() as uow:
        stored = uow.settings.get(KEY_SETTING)
    assert stored is not None, "the engine makes the key on its first round"
    return bytes.fromhex(stored)


def forge(world: World, booking: Booking, calendar: str = PRIMARY, **fields: Any) -> RemoteEvent:
    """Someone else's event claiming to be the job: its booking id (and whatever else is given)."""
    fields.setdefault("when", timed(NOW + timedelta(hours=8), 45))
    return world.phone.add_event(calendar, title=FOREIGN_TITLE, booking_id=booking.id, **fields)


def ours(world: World, booking: Booking, calendar: str = PRIMARY) -> list[RemoteEvent]:
    """The job's events Crewboard wrote (the forged ones have the foreign title)."""
    return [
        e for e in world.phone.events(calendar) if e.booking_id == booking.id and e.title != FOREIGN_TITLE
    ]


def claim_notices(world: World) -> list[str]:
    with world.uow() as uow:
        found = uow.notifications.list()
    return [n.body for n in found if n.audience is Audience.DISPATCHER and "claims to be job" in n.body]


def claim_audits(world: World) -> list[str]:
    with world.uow() as uow:
        return [a.detail for a in uow.audit.recent(500) if a.action == "sync.claim_disowned"]


async def rounds(world: World, engine: SyncEngine, count: int = 3) -> None:
    for _ in range(count):
        await engine.run_once()
        world.clock.advance(timedelta(minutes=5))


def assert_untouched(world: World, forged: RemoteEvent, calendar: str = PRIMARY) -> None:
    [now] = [e for e in world.phone.events(calendar) if e.remote_id == forged.remote_id]
    assert (now.etag, now.title, now.when) == (forged.etag, forged.title, forged.when)


def blocks(world: World, start: Any) -> list[str | None]:
    with world.uow() as uow:
        found = uow.busy.for_techs(
            [world.tech.tech.id], Interval(NOW - timedelta(days=1), NOW + timedelta(days=9))
        )
    return [b.title for b in found if b.interval.start == start]


@pytest.mark.parametrize("state", ["live", "cancelled"])
async def test_a_forged_tag_in_the_techs_calendar_is_left_alone_and_told_once(
    world: World, engine: SyncEngine, state: str
) -> None:
    booking = world.book(hours=3)
    await engine.run_once()
    [genuine] = ours(world, booking)
    forged = forge(world, booking)
    if state == "cancelled":
        world.services.bookings.cancel(booking.id)
    await rounds(world, engine)

    assert_untouched(world, forged)
    assert blocks(world, NOW + timedelta(hours=8)) == [FOREIGN_TITLE]  # busy like any personal event
    if state == "live":
        assert [e.remote_id for e in ours(world, booking)] == [genuine.remote_id]
        world.services.bookings.move(booking.id, NOW + timedelta(hours=4))
        await rounds(world, engine)
        [moved] = ours(world, booking)
        assert moved.when.start == NOW + timedelta(hours=4)  # the genuine event still syncs
        assert world.booking(booking.id).start == NOW + timedelta(hours=4)
    else:
        assert ours(world, booking) == []  # our own event of the cancelled job went
    assert_untouched(world, forged)
    assert len(claim_audits(world)) == 1
    assert len(claim_notices(world)) == 1
    assert "Maria's calendar claims to be job" in claim_notices(world)[0]


async def test_a_tagged_event_for_a_job_not_yet_written_is_not_adopted_and_does_not_move_it(
    world: World, engine: SyncEngine
) -> None:
    booking = world.book(hours=3)
    forged = forge(world, booking)
    await rounds(world, engine)

    assert_untouched(world, forged)
    [genuine] = ours(world, booking)
    assert genuine.when.start == NOW + timedelta(hours=3)
    with world.uow() as uow:
        link = uow.links.for_booking(booking.id)
        assert link is not None and link.remote_id == genuine.remote_id

    # The outsider drags their event: the job stays where the dispatcher put it.
    world.phone.edit_event(PRIMARY, forged.remote_id, when=timed(NOW + timedelta(hours=10), 45))
    await rounds(world, engine)
    assert world.booking(booking.id).start == NOW + timedelta(hours=3)
    assert len(claim_notices(world)) == 1


async def test_a_forged_tag_in_a_shared_calendar_is_left_alone(world: World, engine: SyncEngine) -> None:
    booking = world.book(hours=3)
    await engine.run_once()
    forged = forge(world, booking, SECOND)
    await rounds(world, engine)

    assert_untouched(world, forged, SECOND)
    assert len(ours(world, booking)) == 1
    world.services.bookings.move(booking.id, NOW + timedelta(hours=5))
    await rounds(world, engine)
    assert_untouched(world, forged, SECOND)
    assert [e.when.start for e in ours(world, booking)] == [NOW + timedelta(hours=5)]
    assert len(claim_notices(world)) == 1


@pytest.mark.parametrize("guess", ["readable", "keyed"])
async def test_an_event_under_the_jobs_guessed_id_is_not_adopted(
    world: World, engine: SyncEngine, guess: str
) -> None:
    """The older readable id ("cb" + booking id) can be guessed; even the keyed id, if it leaked,
    proves nothing without the tag over it."""
    await engine.run_once()  # the store's key exists from the first round
    booking = world.book(hours=3)
    if guess == "readable":
        remote_id = google_event_id(booking.id)
    else:
        remote_id = google_event_id(booking.id, key=store_key(world))
    forged = forge(world, booking, remote_id=remote_id)
    await rounds(world, engine)

    assert_untouched(world, forged)
    [genuine] = ours(world, booking)
    assert genuine.remote_id != remote_id
    assert genuine.when.start == NOW + timedelta(hours=3)


async def test_a_genuine_tag_copied_to_other_events_proves_nothing(world: World, engine: SyncEngine) -> None:
    booking = world.book(hours=3)
    await engine.run_once()
    [genuine] = ours(world, booking)
    assert genuine.booking_tag is not None
    # Copied to another event of the same calendar (a Google tag covers the event's own id) ...
    elsewhere = world.phone.add_event(
        PRIMARY, timed(NOW + timedelta(hours=8), 45), title=FOREIGN_TITLE, booking_id=booking.id
    )
    copy = world.phone.edit_event(
        PRIMARY, elsewhere.remote_id, booking_tag=genuine.booking_tag, tag_subject=elsewhere.remote_id
    )
    # ... and, under the very same event id, into the shared calendar.
    twin = forge(
        world,
        booking,
        SECOND,
        remote_id=genuine.remote_id,
        booking_tag=genuine.booking_tag,
        tag_subject=genuine.remote_id,
    )
    await rounds(world, engine)

    assert_untouched(world, copy)
    assert_untouched(world, twin, SECOND)
    world.phone.edit_event(PRIMARY, copy.remote_id, when=timed(NOW + timedelta(hours=11), 45))
    world.services.bookings.move(booking.id, NOW + timedelta(hours=2))
    await rounds(world, engine)
    assert world.booking(booking.id).start == NOW + timedelta(hours=2)
    assert [e.when.start for e in ours(world, booking)] == [NOW + timedelta(hours=2)]
    assert_untouched(world, twin, SECOND)
    assert len(claim_notices(world)) == 2


async def test_an_invitation_carrying_the_tag_is_not_ours(world: World, engine: SyncEngine) -> None:
    """Even a tag that verifies does not make an invitation ours: we never invite anyone."""
    await engine.run_once()
    booking = world.book(hours=3)
    remote_id = "invite0from0outside"
    tag = event_tag(store_key(world), booking.id, PRIMARY, remote_id)
    invitation = forge(
        world,
        booking,
        remote_id=remote_id,
        booking_tag=tag,
        tag_subject=remote_id,
        response=Response.ACCEPTED,
    )
    await rounds(world, engine)

    assert_untouched(world, invitation)
    [genuine] = ours(world, booking)
    assert genuine.when.start == NOW + timedelta(hours=3)
    assert len(claim_notices(world)) == 1


async def test_a_lost_create_answer_still_makes_one_event_beside_a_forged_one(
    world: World, engine: SyncEngine
) -> None:
    booking = world.book(hours=3)
    forged = forge(world, booking)
    world.phone.lose_answers(1, methods=["create_event"])
    await engine.run_once()
    [made] = ours(world, booking)  # made, but we never heard back
    await rounds(world, engine, 4)

    assert [e.remote_id for e in ours(world, booking)] == [made.remote_id]
    assert_untouched(world, forged)
    with world.uow() as uow:
        link = uow.links.for_booking(booking.id)
        assert link is not None and link.remote_id == made.remote_id


async def test_a_genuine_copy_left_in_the_old_calendar_is_still_cleaned_up(
    world: World, engine: SyncEngine
) -> None:
    """A stray copy Crewboard did write (its tag verifies) is still removed: a create whose answer
    was lost in one tech's calendar, then the job given to another."""
    other = world.add_tech("Sam")
    booking = world.book(hours=3)
    world.phone.lose_answers(1, methods=["create_event"])
    await engine.run_once()
    [stray] = ours(world, booking)
    world.services.bookings.reassign(booking.id, "Sam")
    await rounds(world, engine, 4)

    assert [e.remote_id for e in world.phone.events(PRIMARY) if e.remote_id == stray.remote_id] == []
    assert ours(world, booking) == []
    [moved] = [e for e in other.phone.events(PRIMARY) if e.booking_id == booking.id]
    assert moved.when.start == NOW + timedelta(hours=3)
    assert claim_notices(world) == []


async def test_claims_a_store_believed_before_ownership_was_checked_are_forgotten(world: World) -> None:
    """A store synced by an older version holds booking ids nothing proved: when the key is made,
    those are forgotten and every calendar is read again in full, so none is adopted or deleted."""
    booking = world.book(hours=3)
    forged = forge(world, booking)
    first = world.engine()
    await first.run_once()
    await first.aclose()
    with world.uow() as uow:
        # As an older version left it: the claim believed in the mirror, and no key yet.
        uow.remote_events.upsert(replace(forged, calendar_id=world.tech.primary.id))
        uow.settings.remove(KEY_SETTING)
        uow.commit()
    world.services.bookings.move(booking.id, NOW + timedelta(hours=4))
    await rounds(world, world.engine())

    assert_untouched(world, forged)
    assert [e.when.start for e in ours(world, booking)] == [NOW + timedelta(hours=4)]
