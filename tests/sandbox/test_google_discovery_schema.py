"""Sandbox responses checked against the Calendar v3 discovery document shipped with the client.

Every property a response carries must exist in the schema (recursively through $ref) and have
the JSON type the schema declares, so the sandbox cannot drift into fields Google never sends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import googleapiclient
import httpx
import pytest
from googleapiclient.errors import HttpError

from sync.sandbox.server import Sandbox
from tests.sandbox.google_client import calendar_service, create_account, credentials, error_body, timed

DOC = json.loads(
    (Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "calendar.v3.json").read_text()
)
SCHEMAS: dict[str, Any] = DOC["schemas"]
# Google's standard JSON error envelope is not part of the discovery document; its item fields
# beyond the `Error` schema's domain/reason are these.
ERROR_ITEM_EXTRAS = {"message": str, "location": str, "locationType": str}
EMAIL = "tech@example.com"


def check(value: Any, schema: dict[str, Any], path: str, problems: list[str]) -> None:
    if "$ref" in schema:
        check(value, SCHEMAS[schema["$ref"]], path, problems)
        return
    kind = schema.get("type")
    if kind == "object":
        if not isinstance(value, dict):
            problems.append(f"{path}: expected object, got {type(value).__name__}")
            return
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in properties:
                check(item, properties[key], f"{path}.{key}", problems)
            elif extra is not None:
                check(item, extra, f"{path}[{key}]", problems)
            else:
                problems.append(f"{path}.{key}: not in the schema")
    elif kind == "array":
        if not isinstance(value, list):
            problems.append(f"{path}: expected array, got {type(value).__name__}")
            return
        for index, item in enumerate(value):
            check(item, schema["items"], f"{path}[{index}]", problems)
    elif kind == "string":
        if not isinstance(value, str):
            problems.append(f"{path}: expected string, got {type(value).__name__}")
        elif "enum" in schema and value not in schema["enum"]:
            problems.append(f"{path}: {value!r} not in {schema['enum']}")
    elif kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(f"{path}: expected integer, got {type(value).__name__}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{path}: expected boolean, got {type(value).__name__}")
    elif kind == "number":
        if not isinstance(value, int | float) or isinstance(value, bool):
            problems.append(f"{path}: expected number, got {type(value).__name__}")
    elif kind != "any":
        problems.append(f"{path}: schema type {kind!r} not understood")


def assert_matches(value: Any, schema_name: str) -> None:
    problems: list[str] = []
    check(value, {"$ref": schema_name}, schema_name, problems)
    assert problems == []


def test_checker_catches_unknown_fields_and_wrong_types() -> None:
    problems: list[str] = []
    check(
        {"summary": 3, "bogus": "x", "attendees": [{"self": "yes"}], "sequence": "1"},
        {"$ref": "Event"},
        "Event",
        problems,
    )
    assert sorted(problems) == sorted(
        [
            "Event.summary: expected string, got int",
            "Event.bogus: not in the schema",
            "Event.attendees[0].self: expected boolean, got str",
            "Event.sequence: expected integer, got str",
        ]
    )


@pytest.fixture
def cal(sandbox: Sandbox) -> Iterator[Any]:
    create_account(sandbox, EMAIL)
    with calendar_service(sandbox, credentials(sandbox, EMAIL)) as service:
        yield service


def test_responses_match_the_discovery_schemas(sandbox: Sandbox, cal: Any) -> None:
    with httpx.Client(base_url=sandbox.urls.control, trust_env=False) as control:
        second = control.post(f"/accounts/{EMAIL}/calendars", json={"name": "Family"}).json()
    event = (
        cal.events()
        .insert(
            calendarId="primary",
            body=timed(
                "Furnace repair",
                "2026-10-26T09:00:00",
                "2026-10-26T10:00:00",
                tz="America/Chicago",
                id="booking0000000007",
                location="12 Elm St",
                description="Bring filters",
                colorId="5",
                visibility="private",
                transparency="opaque",
                status="tentative",
                recurrence=["RRULE:FREQ=WEEKLY;COUNT=3", "EXDATE;TZID=America/Chicago:20261102T090000"],
                attendees=[{"email": EMAIL, "responseStatus": "accepted"}, {"email": "cust@example.org"}],
                extendedProperties={"private": {"bookingId": "B-7"}, "shared": {"kind": "job"}},
                source={"title": "Crewboard", "url": "https://crewboard.example/bookings/7"},
                reminders={"useDefault": False, "overrides": [{"method": "popup", "minutes": 10}]},
            ),
        )
        .execute()
    )
    assert_matches(event, "Event")
    cal.events().insert(
        calendarId=second["id"],
        body={"summary": "Off", "start": {"date": "2026-12-04"}, "end": {"date": "2026-12-05"}},
    ).execute()
    instances = (
        cal.events()
        .list(calendarId="primary", singleEvents=True, orderBy="startTime", timeMin="2026-10-01T00:00:00Z")
        .execute()
    )
    cal.events().delete(calendarId="primary", eventId=instances["items"][0]["id"]).execute()
    assert_matches(instances, "Events")
    for listing in (
        cal.events().list(calendarId="primary").execute(),
        cal.events().list(calendarId="primary", showDeleted=True, singleEvents=True).execute(),
        cal.events().list(calendarId=second["id"], maxResults=1).execute(),
        cal.events().instances(calendarId="primary", eventId=event["id"]).execute(),
    ):
        assert_matches(listing, "Events")
    assert_matches(cal.calendarList().list().execute(), "CalendarList")
    assert_matches(cal.calendarList().get(calendarId="primary").execute(), "CalendarListEntry")
    assert_matches(cal.calendars().get(calendarId="primary").execute(), "Calendar")
    assert_matches(cal.colors().get().execute(), "Colors")
    channel = (
        cal.events()
        .watch(
            calendarId="primary",
            body={
                "id": "schema-channel",
                "type": "web_hook",
                "address": "https://relay.example.com/hook",
                "token": "t",
            },
        )
        .execute()
    )
    assert_matches(channel, "Channel")


def test_error_bodies_have_googles_shape(cal: Any) -> None:
    with pytest.raises(HttpError) as info:
        cal.events().get(calendarId="primary", eventId="nosuchevent").execute()
    body = error_body(info.value)
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "errors", "status"}
    assert error["code"] == 404 and isinstance(error["message"], str) and error["status"] == "NOT_FOUND"
    for item in error["errors"]:
        schema_fields = {k: item[k] for k in item if k in SCHEMAS["Error"]["properties"]}
        assert set(schema_fields) == {"domain", "reason"}
        assert_matches(schema_fields, "Error")
        for key in set(item) - set(schema_fields):
            assert isinstance(item[key], ERROR_ITEM_EXTRAS[key])
    # googleapiclient understands it: reason and details come out of the body.
    assert info.value.reason == "Not Found"
    assert info.value.error_details[0]["reason"] == "notFound"
