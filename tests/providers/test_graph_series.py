"""GraphCalendarProvider reading series from the sandbox over HTTPS: the rule's slots the domain
expands agree with the ones Outlook (the sandbox) lists, and a slot missing from `/instances`
counts as cancelled only when that list was read whole.

Faults come from the sandbox's own fault injection (its control API), armed by a forwarding
transport just before the one request a test means to break.
"""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from app.domain.ids import AccountId, CalendarId
from app.domain.model import Calendar, RemoteEvent
from app.domain.recurrence import expand
from app.domain.time import Interval
from sync.providers.config import MicrosoftSettings
from sync.providers.errors import RateLimited
from sync.providers.graph_provider import GraphCalendarProvider
from sync.providers.normalize_graph import graph_event_to_remote
from sync.providers.protocol import ChangeBatch
from sync.sandbox.microsoft import MicrosoftSandbox
from sync.sandbox.server import Sandbox
from tests.providers.samples import graph_master
from tests.sandbox.test_graph_recurrence import CASES as SANDBOX_CASES

EMAIL = "ana@contoso.com"
WINDOW = Interval(dt.datetime(2027, 1, 1, tzinfo=dt.UTC), dt.datetime(2027, 7, 1, tzinfo=dt.UTC))
CHICAGO = "Central Standard Time"

Rule = Callable[[httpx.Request], bool]


class FaultArmingTransport(httpx.AsyncBaseTransport):
    """Forwards to the sandbox; before a request `rule` picks, arms one sandbox fault for it."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._inner = httpx.AsyncHTTPTransport(verify=ssl.create_default_context(cafile=sandbox.urls.ca))
        self._control = sandbox.urls.control
        self.rule: Rule | None = None
        self.fault: dict[str, Any] = {"kind": "5xx", "status": 503}
        self.armed = 0
        self.rewrite: Callable[[httpx.Request, dict[str, Any]], dict[str, Any]] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.rule is not None and self.rule(request):
            async with httpx.AsyncClient(trust_env=False) as control:
                body = {**self.fault, "provider": "microsoft", "account": EMAIL, "count": 1}
                armed = await control.post(f"{self._control}/faults", json=body)
                assert armed.status_code == 201, armed.text
            self.armed += 1
        response = await self._inner.handle_async_request(request)
        if self.rewrite is None or "/instances" not in request.url.path or response.status_code != 200:
            return response
        await response.aread()
        return httpx.Response(200, json=self.rewrite(request, response.json()), request=request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(timeout_hold=2.0)
    box.start()
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture
def ms(sandbox: Sandbox) -> MicrosoftSandbox:
    assert isinstance(sandbox.microsoft, MicrosoftSandbox)
    sandbox.microsoft.create_account(EMAIL, "America/Chicago", "Ana Diaz")
    return sandbox.microsoft


@pytest.fixture
def graph(sandbox: Sandbox, ms: MicrosoftSandbox) -> Iterator[httpx.Client]:
    """The technician's own Outlook, editing the calendar."""
    token = ms.issue_token(EMAIL)["access_token"]
    with httpx.Client(
        base_url=str(sandbox.urls.graph),
        verify=ssl.create_default_context(cafile=sandbox.urls.ca),
        trust_env=False,
        # The provider asks for immutable ids; so does this client, so the ids are the same.
        headers={"Authorization": f"Bearer {token}", "Prefer": 'IdType="ImmutableId"'},
    ) as client:
        yield client


@pytest.fixture
def transport(sandbox: Sandbox) -> FaultArmingTransport:
    return FaultArmingTransport(sandbox)


@pytest.fixture
async def provider(
    sandbox: Sandbox, ms: MicrosoftSandbox, transport: FaultArmingTransport
) -> AsyncIterator[GraphCalendarProvider]:
    token = ms.issue_token(EMAIL)["access_token"]
    settings = MicrosoftSettings(
        client_id="crewboard-tests", graph_base=str(sandbox.urls.graph), ca_file=sandbox.urls.ca
    )
    made = GraphCalendarProvider(settings, lambda force: token, timeout=5.0, transport=transport)
    try:
        yield made
    finally:
        await made.aclose()


@pytest.fixture
def calendar(graph: httpx.Client) -> Calendar:
    remote = graph.get("/me/calendar").json()["id"]
    return Calendar(CalendarId("cal-1"), AccountId("acct-1"), remote, "Calendar", True, True)


def series(graph: httpx.Client, recurrence: dict[str, Any], start: str, end: str) -> str:
    created = graph.post(
        "/me/events",
        json={
            "subject": "Monthly boiler check",
            "start": {"dateTime": start, "timeZone": CHICAGO},
            "end": {"dateTime": end, "timeZone": CHICAGO},
            "recurrence": recurrence,
        },
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def outlook_days(graph: httpx.Client, master_id: str) -> list[dt.date]:
    """The days Outlook (the sandbox) lists for the series in the window."""
    rows = graph.get(
        f"/me/events/{master_id}/instances",
        params={
            "startDateTime": "2027-01-01T00:00:00Z",
            "endDateTime": "2027-07-01T00:00:00Z",
            "$top": "100",
        },
    ).json()["value"]
    return [dt.date.fromisoformat(r["start"]["dateTime"][:10]) for r in rows]


def busy_days(batch: ChangeBatch, master_id: str) -> list[dt.date]:
    """The days Crewboard expands the series to (UTC dates; every start here is mid-day UTC)."""
    master = next(e for e in batch.events if e.remote_id == master_id)
    exceptions = [e for e in batch.events if e.master_remote_id == master_id]
    return [o.when.start.date() for o in expand(master, exceptions, WINDOW) if o.when.start is not None]


def master_of(batch: ChangeBatch, master_id: str) -> RemoteEvent:
    return next(e for e in batch.events if e.remote_id == master_id)


PATTERNS = [
    pytest.param(
        {
            "pattern": {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 31},
            "range": {"type": "noEnd", "startDate": "2027-01-31"},
        },
        "2027-01-31",
        id="absoluteMonthly-31",
    ),
    pytest.param(
        {
            "pattern": {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 30},
            "range": {"type": "numbered", "startDate": "2027-01-30", "numberOfOccurrences": 5},
        },
        "2027-01-30",
        id="absoluteMonthly-30-numbered",
    ),
    pytest.param(
        {
            "pattern": {"type": "absoluteYearly", "interval": 1, "dayOfMonth": 31, "month": 4},
            "range": {"type": "noEnd", "startDate": "2027-04-01"},
        },
        "2027-04-30",
        id="absoluteYearly-april-31",
    ),
    pytest.param(
        {
            "pattern": {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["friday"], "index": "last"},
            "range": {"type": "endDate", "startDate": "2027-01-01", "endDate": "2027-05-28"},
        },
        "2027-01-29",
        id="relativeMonthly-last-friday",
    ),
    pytest.param(
        {
            "pattern": {
                "type": "weekly",
                "interval": 2,
                "daysOfWeek": ["sunday", "wednesday"],
                "firstDayOfWeek": "monday",
            },
            "range": {"type": "numbered", "startDate": "2027-03-03", "numberOfOccurrences": 9},
        },
        "2027-03-03",
        id="weekly-2-monday-weeks",
    ),
]


@pytest.mark.parametrize(("recurrence", "first_day"), PATTERNS)
async def test_crewboard_expands_graph_series_as_outlook_lists_them(
    graph: httpx.Client,
    provider: GraphCalendarProvider,
    calendar: Calendar,
    recurrence: dict[str, Any],
    first_day: str,
) -> None:
    master_id = series(graph, recurrence, f"{first_day}T10:00:00", f"{first_day}T11:00:00")
    batch = await provider.read_changes(calendar, None, WINDOW)
    outlook = outlook_days(graph, master_id)
    assert outlook, "the series has slots in the window"
    # No slot is taken for cancelled: Crewboard's own expansion lists exactly Outlook's slots.
    assert not [line for line in master_of(batch, master_id).recurrence if line.startswith("EXDATE")]
    assert busy_days(batch, master_id) == outlook


async def test_day_31_series_keeps_the_tech_busy_on_february_28(
    graph: httpx.Client, provider: GraphCalendarProvider, calendar: Calendar
) -> None:
    recurrence = {
        "pattern": {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 31},
        "range": {"type": "noEnd", "startDate": "2027-01-31"},
    }
    master_id = series(graph, recurrence, "2027-01-31T10:00:00", "2027-01-31T11:00:00")
    batch = await provider.read_changes(calendar, None, WINDOW)
    days = busy_days(batch, master_id)
    assert dt.date(2027, 2, 28) in days and dt.date(2027, 4, 30) in days
    assert len(days) == 6


# --- an incomplete instance list never frees a slot ----------------------------------------------


def weekly(graph: httpx.Client, count: int) -> tuple[str, list[dict[str, Any]]]:
    """A weekly Monday series and its occurrences as Outlook lists them."""
    recurrence = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"], "firstDayOfWeek": "sunday"},
        "range": {"type": "numbered", "startDate": "2027-01-04", "numberOfOccurrences": count},
    }
    master_id = series(graph, recurrence, "2027-01-04T10:00:00", "2027-01-04T11:00:00")
    rows = graph.get(
        f"/me/events/{master_id}/instances",
        params={
            "startDateTime": "2027-01-01T00:00:00Z",
            "endDateTime": "2027-07-01T00:00:00Z",
            "$top": "100",
        },
    ).json()["value"]
    assert len(rows) == count
    return master_id, rows


def exdates(event: RemoteEvent) -> list[str]:
    return [line for line in event.recurrence if line.startswith("EXDATE")]


def is_instances(request: httpx.Request) -> bool:
    return request.url.path.endswith("/instances")


async def test_a_complete_instance_list_cancels_the_missing_slot(
    graph: httpx.Client, provider: GraphCalendarProvider, calendar: Calendar
) -> None:
    master_id, rows = weekly(graph, 4)
    assert graph.delete(f"/me/events/{rows[1]['id']}").status_code == 204
    batch = await provider.read_changes(calendar, None, WINDOW)
    assert exdates(master_of(batch, master_id)) == ["EXDATE:20270111T160000Z"]
    assert busy_days(batch, master_id) == [dt.date(2027, 1, 4), dt.date(2027, 1, 18), dt.date(2027, 1, 25)]


@pytest.mark.parametrize(
    "fault",
    [{"kind": "5xx", "status": 503}, {"kind": "reset"}, {"kind": "timeout"}],
    ids=["503", "reset", "timeout"],
)
async def test_a_failed_instance_read_keeps_every_slot_busy_and_is_read_again(
    graph: httpx.Client,
    provider: GraphCalendarProvider,
    calendar: Calendar,
    transport: FaultArmingTransport,
    fault: dict[str, Any],
) -> None:
    master_id, rows = weekly(graph, 4)
    assert graph.delete(f"/me/events/{rows[1]['id']}").status_code == 204
    transport.fault = fault
    transport.rule = is_instances
    batch = await provider.read_changes(calendar, None, WINDOW)
    transport.rule = None
    assert transport.armed == 1
    master = master_of(batch, master_id)
    assert exdates(master) == []  # the failed read proves nothing: Jan 11 stays busy
    assert len(busy_days(batch, master_id)) == 4
    # The next round reads the series again, though the delta has nothing new, and settles it.
    again = await provider.read_changes(calendar, batch.cursor, WINDOW)
    assert exdates(master_of(again, master_id)) == ["EXDATE:20270111T160000Z"]
    quiet = await provider.read_changes(calendar, again.cursor, WINDOW)
    assert quiet.events == ()


async def test_a_failed_second_page_of_instances_frees_nothing(
    graph: httpx.Client, provider: GraphCalendarProvider, calendar: Calendar, transport: FaultArmingTransport
) -> None:
    """`/instances` pages by 10: the first page read and the second lost must not cancel slots 11-14."""
    master_id, rows = weekly(graph, 14)
    assert graph.delete(f"/me/events/{rows[0]['id']}").status_code == 204
    transport.rule = lambda r: is_instances(r) and r.url.params.get("$skip") is not None
    batch = await provider.read_changes(calendar, None, WINDOW)
    transport.rule = None
    assert transport.armed == 1
    assert exdates(master_of(batch, master_id)) == []
    assert len(busy_days(batch, master_id)) == 14


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda page: {k: v for k, v in page.items() if k != "value"}, id="page-without-value"),
        pytest.param(lambda page: {**page, "value": [*page["value"][:-1], "junk"]}, id="row-not-an-object"),
        pytest.param(
            lambda page: {
                **page,
                "value": [*page["value"][:-1], {"id": page["value"][-1]["id"], "type": "occurrence"}],
            },
            id="row-without-slot",
        ),
    ],
)
async def test_an_unreadable_instance_list_frees_nothing(
    graph: httpx.Client,
    provider: GraphCalendarProvider,
    calendar: Calendar,
    transport: FaultArmingTransport,
    damage: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    master_id, _ = weekly(graph, 4)
    transport.rewrite = lambda request, page: damage(page)
    batch = await provider.read_changes(calendar, None, WINDOW)
    assert exdates(master_of(batch, master_id)) == []
    assert len(busy_days(batch, master_id)) == 4


async def test_a_moved_occurrence_survives_a_failed_instance_read(
    graph: httpx.Client, provider: GraphCalendarProvider, calendar: Calendar, transport: FaultArmingTransport
) -> None:
    """With the instance list lost, the delta's own copy of an exception still places it."""
    master_id, rows = weekly(graph, 4)
    moved = graph.patch(
        f"/me/events/{rows[2]['id']}",
        json={
            "start": {"dateTime": "2027-01-20T15:00:00", "timeZone": CHICAGO},
            "end": {"dateTime": "2027-01-20T16:00:00", "timeZone": CHICAGO},
        },
    )
    assert moved.status_code == 200, moved.text
    transport.rule = is_instances
    batch = await provider.read_changes(calendar, None, WINDOW)
    transport.rule = None
    starts = [o.when.start for o in expand(master_of(batch, master_id), list(batch.events), WINDOW)]
    assert dt.datetime(2027, 1, 20, 21, tzinfo=dt.UTC) in starts
    assert dt.datetime(2027, 1, 18, 16, tzinfo=dt.UTC) not in starts
    assert len(starts) == 4


async def test_throttling_on_instances_still_ends_the_read(
    graph: httpx.Client, provider: GraphCalendarProvider, calendar: Calendar, transport: FaultArmingTransport
) -> None:
    """A 429 is the mailbox asking us to slow down: the read stops (nothing stored) and backs off."""
    weekly(graph, 4)
    transport.fault = {"kind": "429", "retry_after": 3}
    transport.rule = is_instances
    with pytest.raises(RateLimited):
        await provider.read_changes(calendar, None, WINDOW)


# --- the two expansions agree on every pattern, over years ----------------------------------------


@pytest.mark.parametrize(("pattern", "rng", "start", "expected"), SANDBOX_CASES)
def test_crewboard_and_the_sandbox_expand_every_pattern_alike(
    pattern: dict[str, Any], rng: dict[str, Any], start: dt.datetime, expected: list[str]
) -> None:
    """Outlook's semantics on both sides: normalize_graph's RRULE expanded by the domain gives
    the sandbox's dates (day 31 on Feb 28, Feb 29 yearly on Feb 28, last weekday, WKST weeks)."""
    item = graph_master(
        pattern,
        {**rng, "recurrenceTimeZone": "UTC"},
        start=start.isoformat() + ".0000000",
        end=(start + dt.timedelta(hours=1)).isoformat() + ".0000000",
        originalStartTimeZone="UTC",
    )
    master = graph_event_to_remote(item, CalendarId("cal-1"))
    years = Interval(
        start.replace(tzinfo=dt.UTC), start.replace(year=start.year + 6, month=1, day=1, tzinfo=dt.UTC)
    )
    days = [o.when.start.date().isoformat() for o in expand(master, [], years) if o.when.start is not None]
    assert days == expected


async def test_an_unreadable_row_of_an_all_day_series_frees_no_day(
    graph: httpx.Client, provider: GraphCalendarProvider, calendar: Calendar, transport: FaultArmingTransport
) -> None:
    """A row we cannot read still names its slot by `originalStart`, an instant; an all-day series
    names its slots by date, so that row cannot vouch for its day and the list proves nothing."""
    created = graph.post(
        "/me/events",
        json={
            "subject": "On call",
            "isAllDay": True,
            "start": {"dateTime": "2027-01-04T00:00:00", "timeZone": CHICAGO},
            "end": {"dateTime": "2027-01-05T00:00:00", "timeZone": CHICAGO},
            "recurrence": {
                "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
                "range": {"type": "numbered", "startDate": "2027-01-04", "numberOfOccurrences": 4},
            },
        },
    )
    assert created.status_code == 201, created.text
    master_id = created.json()["id"]

    def damage(request: httpx.Request, page: dict[str, Any]) -> dict[str, Any]:
        rows = [dict(row) for row in page["value"]]
        rows[1]["type"] = "somethingNew"  # unreadable, yet it still carries its originalStart
        return {**page, "value": rows}

    transport.rewrite = damage
    batch = await provider.read_changes(calendar, None, WINDOW)
    master = master_of(batch, master_id)
    assert exdates(master) == []
    days = [o.when.start_date for o in expand(master, [], WINDOW)]
    assert days == [dt.date(2027, 1, 4), dt.date(2027, 1, 11), dt.date(2027, 1, 18), dt.date(2027, 1, 25)]
