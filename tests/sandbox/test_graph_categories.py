"""The sandbox's Outlook master category list over HTTP: Graph's shape, its permission checks, and
names that are unique and fixed once made."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sync.sandbox.microsoft import ALL_SCOPES, MicrosoftSandbox
from sync.sandbox.server import Sandbox
from tests.sandbox.conftest import graph, ms, sandbox
from tests.sandbox.ms_helpers import EMAIL, graph_client
from tests.sandbox.test_graph_delta import schema_check

__all__ = ["graph", "ms", "sandbox"]

CATEGORIES = "/me/outlook/masterCategories"


@pytest.fixture
def settings_graph(sandbox: Sandbox, ms: MicrosoftSandbox) -> Iterator[httpx.Client]:
    """Graph as an app that was also allowed MailboxSettings.ReadWrite."""
    token = ms.issue_token(EMAIL, [*ALL_SCOPES, "MailboxSettings.ReadWrite"])["access_token"]
    with graph_client(sandbox, token) as client:
        yield client


@pytest.fixture
def read_graph(sandbox: Sandbox, ms: MicrosoftSandbox) -> Iterator[httpx.Client]:
    token = ms.issue_token(EMAIL, [*ALL_SCOPES, "MailboxSettings.Read"])["access_token"]
    with graph_client(sandbox, token) as client:
        yield client


def test_categories_are_made_listed_recoloured_and_deleted(settings_graph: httpx.Client) -> None:
    made = settings_graph.post(CATEGORIES, json={"displayName": "Crewboard jobs", "color": "preset20"})
    assert made.status_code == 201, made.text
    category = made.json()
    schema_check("outlookCategory", category, "created")
    assert category["displayName"] == "Crewboard jobs" and category["color"] == "preset20"
    listed = settings_graph.get(CATEGORIES).json()
    assert listed["@odata.context"].endswith("/outlook/masterCategories")
    assert [c["id"] for c in listed["value"]] == [category["id"]]
    for item in listed["value"]:
        schema_check("outlookCategory", item, "listed")

    again = settings_graph.post(CATEGORIES, json={"displayName": "crewboard JOBS", "color": "preset1"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "ErrorItemAlreadyExists"
    renamed = settings_graph.patch(f"{CATEGORIES}/{category['id']}", json={"displayName": "Other"})
    assert renamed.status_code == 400
    recoloured = settings_graph.patch(f"{CATEGORIES}/{category['id']}", json={"color": "preset7"})
    assert recoloured.status_code == 200 and recoloured.json()["color"] == "preset7"
    bad = settings_graph.post(CATEGORIES, json={"displayName": "Mauve", "color": "mauve"})
    assert bad.status_code == 400
    assert settings_graph.delete(f"{CATEGORIES}/{category['id']}").status_code == 204
    assert settings_graph.get(f"{CATEGORIES}/{category['id']}").status_code == 404
    assert settings_graph.get(CATEGORIES).json()["value"] == []


def test_reading_needs_mailbox_settings_and_writing_needs_readwrite(
    graph: httpx.Client, read_graph: httpx.Client
) -> None:
    for answer in (graph.get(CATEGORIES), graph.post(CATEGORIES, json={"displayName": "x"})):
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "ErrorAccessDenied"
    assert read_graph.get(CATEGORIES).status_code == 200
    assert read_graph.post(CATEGORIES, json={"displayName": "x", "color": "preset0"}).status_code == 403
