"""Hostile calendar data put straight into Radicale, then synced: one bad object never stops a tech.

Radicale itself refuses some of it (a broken VCALENDAR, a VEVENT without UID, a second object with
a UID already used); what it stores (a runaway rule, a huge body, an event ending before it
starts, and duplicate UIDs written to its folder as a server without that check keeps them) is
skipped or read one object at a time, and the tech's real appointments still block.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.caldav.conftest import Office, next_weekday, titles
from tests.caldav.harness import SLUG, USER, vevent

pytestmark = [pytest.mark.keyring, pytest.mark.slow]


def _object(uid: str | None, summary: str, start: str, extra: str = "", end: str | None = None) -> bytes:
    body = [f"UID:{uid}"] if uid else []
    body += ["DTSTAMP:20261201T000000Z", f"DTSTART:{start}", f"DTEND:{end or start}", f"SUMMARY:{summary}"]
    if extra:
        body.append(extra)
    inner = "\r\n".join(body)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Hostile//EN\r\n"
        f"BEGIN:VEVENT\r\n{inner}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


async def test_hostile_objects_are_refused_or_skipped_and_the_rest_syncs(office: Office) -> None:
    backend = office.backend
    day = next_weekday(1, 10, office.clock)
    backend.phone_add([vevent({"summary": "Dentist", "start": day, "end": day + timedelta(hours=1)})])
    stamp = day.strftime("%Y%m%dT%H%M%SZ")
    later = (day + timedelta(hours=2)).strftime("%Y%m%dT%H%M%SZ")

    # What Radicale refuses never reaches a calendar.
    assert backend.put("broken.ics", b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:b\r\nDTSTART:2027XX\r\n") == 400
    assert backend.put("no-uid.ics", _object(None, "No UID", stamp, end=later)) == 400
    assert backend.put("first.ics", _object("same-uid", "Twin one", stamp, end=later)) == 201
    assert backend.put("second.ics", _object("same-uid", "Twin two", stamp, end=later)) == 409

    # What it stores that we cannot use is skipped, each object alone.
    assert backend.put("runaway.ics", _object("r", "Runaway", stamp, "RRULE:FREQ=MINUTELY", end=later)) == 201
    assert backend.put("backwards.ics", _object("w", "Backwards", later, end=stamp)) == 201
    huge = _object("h", "Huge", stamp, "DESCRIPTION:" + "x" * 700_000, end=later)
    assert backend.put("huge.ics", huge) == 201
    # Duplicate UIDs as a laxer server stores them: two objects, both the tech's time.
    folder = backend.radicale.storage / "collection-root" / USER / SLUG
    twin = (day + timedelta(days=1)).strftime("%Y%m%dT%H%M%SZ")
    twin_end = (day + timedelta(days=1, hours=1)).strftime("%Y%m%dT%H%M%SZ")
    (folder / "twin-on-disk.ics").write_bytes(_object("same-uid", "Twin on disk", twin, end=twin_end))

    report = await office.engine.run_once()
    assert report.ok, report.errors
    blocked = titles(office.busy())
    assert {"Dentist", "Twin one", "Twin on disk"} <= blocked
    assert not blocked & {"Runaway", "Backwards", "Huge", "No UID", "Twin two"}

    # The next change still comes through: the skipped objects stopped nothing.
    backend.phone_add(
        [vevent({"summary": "Vet", "start": day + timedelta(hours=3), "end": day + timedelta(hours=4)})]
    )
    assert (await office.engine.run_once()).ok
    assert "Vet" in titles(office.busy())
