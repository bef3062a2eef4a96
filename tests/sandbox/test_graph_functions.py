"""Bound functions and actions in every documented spelling, and Microsoft's own Python SDK
(msgraph-sdk) driving a calendarView delta against the sandbox over real HTTPS.

"Use delta query": `/delta` is a shortcut for `/microsoft.graph.delta`, and Microsoft's generated
SDKs call functions with an empty parameter list (`/me/calendarView/delta()`); a faithful server
takes `delta`, `delta()`, `microsoft.graph.delta` and `microsoft.graph.delta()` alike.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest

from sync.sandbox.microsoft import MicrosoftSandbox
from sync.sandbox.server import Sandbox
from tests.sandbox.ms_helpers import EMAIL, Receiver, ca_context
from tests.sandbox.test_graph_api import event_body

# msgraph-sdk's generated request builders, and kiota under them, warn when their modules are
# imported (at class definition) that their own per-builder configuration classes are deprecated.
# That is the library talking to itself, not a use of ours, so only those two warnings are let
# through: here for the imports at collection, and by SDK_WARNINGS for the builders the client
# imports lazily while a test runs.
SDK_WARNINGS = (
    r"ignore:GetQueryParameters is deprecated:DeprecationWarning:kiota_abstractions\.default_query_parameters",
    r"ignore:This class is deprecated\. Please use the generic RequestConfiguration class"
    r":DeprecationWarning:msgraph\.generated\.",
)
with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore",
        message="GetQueryParameters is deprecated",
        category=DeprecationWarning,
        module=r"kiota_abstractions\.default_query_parameters",
    )
    warnings.filterwarnings(
        "ignore",
        message="This class is deprecated. Please use the generic RequestConfiguration class",
        category=DeprecationWarning,
        module=r"msgraph\.generated\.",
    )
    from kiota_abstractions.authentication import (
        AccessTokenProvider,
        AllowedHostsValidator,
        BaseBearerTokenAuthenticationProvider,
    )
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph.generated.users.item.calendar_view.delta.delta_get_response import DeltaGetResponse
    from msgraph.generated.users.item.calendar_view.delta.delta_request_builder import DeltaRequestBuilder
    from msgraph.graph_request_adapter import options as sdk_options
    from msgraph_core import GraphClientFactory

WINDOW = {"startDateTime": "2026-03-01T00:00:00Z", "endDateTime": "2026-04-01T00:00:00Z"}
SPELLINGS = ["delta", "delta()", "microsoft.graph.delta", "microsoft.graph.delta()"]


def timed(subject: str, day: int) -> dict[str, Any]:
    return event_body(
        subject=subject,
        start={"dateTime": f"2026-03-{day:02d}T09:00:00", "timeZone": "UTC"},
        end={"dateTime": f"2026-03-{day:02d}T10:00:00", "timeZone": "UTC"},
    )


def follow(graph: httpx.Client, url: str, **params: str) -> tuple[list[dict[str, Any]], str]:
    """A whole delta round by hand: (items, deltaLink)."""
    items: list[dict[str, Any]] = []
    answer = graph.get(url, params=params or None, headers={"Prefer": "odata.maxpagesize=2"})
    while True:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        items.extend(body["value"])
        if "@odata.deltaLink" in body:
            return items, str(body["@odata.deltaLink"])
        answer = graph.get(body["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=2"})


def calendar_paths(graph: httpx.Client) -> list[str]:
    calendar = graph.get("/me/calendar").json()["id"]
    return [
        "/me/calendarView",
        "/me/calendar/calendarView",
        f"/me/calendars/{quote(calendar, safe='')}/calendarView",
        f"/users/{EMAIL}/calendarView",
    ]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_of_delta_starts_and_continues_a_round(graph: httpx.Client, spelling: str) -> None:
    ids = {graph.post("/me/events", json=timed(f"Job {n}", n + 2)).json()["id"] for n in range(3)}
    for path in calendar_paths(graph):
        items, link = follow(graph, f"{path}/{spelling}", **WINDOW)
        assert {i["id"] for i in items} == ids, path
        assert f"/{spelling}?" in link  # the links keep the caller's own spelling
        quiet, _ = follow(graph, link)
        assert quiet == []


def test_a_percent_encoded_function_call_is_the_same_call(graph: httpx.Client) -> None:
    graph.post("/me/events", json=timed("Job", 2))
    items, _ = follow(graph, "/me/calendarView/delta%28%29", **WINDOW)
    assert [i["subject"] for i in items] == ["Job"]


@pytest.mark.parametrize(
    "segment", ["deltas", "delta(x=1)", "microsoft.graph.deltas()", "graph.delta", "Delta"]
)
def test_other_segments_are_still_unknown(graph: httpx.Client, segment: str) -> None:
    answer = graph.get(f"/me/calendarView/{segment}", params=WINDOW)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "BadRequest"
    assert "Resource not found for the segment" in answer.json()["error"]["message"]


def test_reauthorize_takes_its_qualified_name(graph: httpx.Client) -> None:
    with Receiver() as hook:
        expiry = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        created = graph.post(
            "/subscriptions",
            json={
                "changeType": "created,updated,deleted",
                "notificationUrl": hook.url,
                "resource": "me/events",
                "expirationDateTime": expiry,
                "clientState": "s3cret",
            },
        )
        assert created.status_code == 201, created.text
        sub = created.json()["id"]
        assert graph.post(f"/subscriptions/{sub}/microsoft.graph.reauthorize").status_code == 204
        assert graph.post(f"/subscriptions/{sub}/reauthorize").status_code == 204
        assert (
            graph.post(f"/subscriptions/{sub}/reauthorize()").status_code == 400
        )  # an action, not a function


# --- Microsoft's SDK -----------------------------------------------------------------------------


class StaticToken(AccessTokenProvider):
    """A bearer token the sandbox issued, for the sandbox's host only."""

    def __init__(self, token: str, host: str) -> None:
        self._token = token
        self._hosts = AllowedHostsValidator([host])

    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] | None = None
    ) -> str:
        return self._token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self._hosts


@pytest.fixture
async def sdk(sandbox: Sandbox, ms: MicrosoftSandbox) -> AsyncIterator[GraphServiceClient]:
    """msgraph-sdk's GraphServiceClient with its default middleware, over httpx trusting the
    sandbox's CA, signed in as Ana with a token the sandbox issued."""
    base = str(sandbox.urls.graph)
    # msgraph-core wraps the client's transport in its AsyncGraphTransport, whose aclose() does not
    # close the transport it wraps; so the connection pool is ours to close.
    pool = httpx.AsyncHTTPTransport(verify=ca_context(sandbox), trust_env=False)
    http = httpx.AsyncClient(transport=pool, trust_env=False, timeout=15)
    try:
        client = GraphClientFactory.create_with_default_middleware(client=http, options=sdk_options)
        auth = BaseBearerTokenAuthenticationProvider(
            StaticToken(ms.issue_token(EMAIL)["access_token"], urlsplit(base).hostname or "")
        )
        adapter = GraphRequestAdapter(auth, client)
        adapter.base_url = base
        yield GraphServiceClient(request_adapter=adapter)
    finally:
        await http.aclose()
        await pool.aclose()


def _config(**window: str) -> RequestConfiguration[DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters]:
    query = DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(**window) if window else None
    config = RequestConfiguration[DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters](
        query_parameters=query
    )
    config.headers.add("Prefer", "odata.maxpagesize=2")
    return config


async def _sdk_round(client: GraphServiceClient, first: DeltaGetResponse | None) -> tuple[list[Any], str]:
    """Follow the SDK's pages to the deltaLink: (events, deltaLink)."""
    events: list[Any] = []
    page = first
    while True:
        assert page is not None
        events.extend(page.value or [])
        if page.odata_delta_link:
            assert not page.odata_next_link
            return events, page.odata_delta_link
        assert page.odata_next_link
        page = await client.me.calendar_view.delta.with_url(page.odata_next_link).get(
            request_configuration=_config()
        )


@pytest.mark.slow  # the SDK imports its whole model (thousands of modules) to read one event: ~8 s
@pytest.mark.filterwarnings(SDK_WARNINGS[0])
@pytest.mark.filterwarnings(SDK_WARNINGS[1])
async def test_msgraph_sdk_runs_a_calendar_view_delta_against_the_sandbox(
    sandbox: Sandbox, graph: httpx.Client, sdk: GraphServiceClient
) -> None:
    ids = {graph.post("/me/events", json=timed(f"Job {n}", n + 2)).json()["id"] for n in range(3)}
    first = await sdk.me.calendar_view.delta.get(
        request_configuration=_config(
            start_date_time=WINDOW["startDateTime"], end_date_time=WINDOW["endDateTime"]
        )
    )
    # The SDK asked for the function form, and the sandbox answered it.
    paths = [
        r["path"]
        for r in httpx.get(
            f"{sandbox.urls.control}/requests", params={"site": "graph"}, trust_env=False
        ).json()
    ]
    assert "/v1.0/me/calendarView/delta()" in paths
    assert first is not None and len(first.value or []) == 2 and first.odata_next_link
    events, delta_link = await _sdk_round(sdk, first)
    assert {e.id for e in events} == ids
    assert {e.subject for e in events} == {"Job 0", "Job 1", "Job 2"}

    renamed = sorted(ids)[0]
    assert graph.patch(f"/me/events/{renamed}", json={"subject": "Renamed"}).status_code == 200
    added = graph.post("/me/events", json=timed("Late job", 20)).json()["id"]
    again = await sdk.me.calendar_view.delta.with_url(delta_link).get(request_configuration=_config())
    changes, next_link = await _sdk_round(sdk, again)
    assert {e.id: e.subject for e in changes} == {renamed: "Renamed", added: "Late job"}
    assert next_link != delta_link
    quiet = await sdk.me.calendar_view.delta.with_url(next_link).get(request_configuration=_config())
    assert quiet is not None and quiet.value == [] and quiet.odata_delta_link
