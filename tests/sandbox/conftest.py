"""Fixtures shared by the sandbox tests (Google, Microsoft, core): a running in-process Sandbox."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sync.sandbox.microsoft import MicrosoftSandbox
from sync.sandbox.server import Sandbox
from tests.sandbox.ms_helpers import EMAIL, graph_client

# The timeout fault holds a request this long in tests; client timeouts in tests are shorter.
TEST_TIMEOUT_HOLD = 2.0


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A running sandbox with no accounts; `.urls` has every base URL and the CA path."""
    box = Sandbox(timeout_hold=TEST_TIMEOUT_HOLD)
    box.start()
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture
def control(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """An httpx client on the control API."""
    with httpx.Client(base_url=sandbox.urls.control, timeout=10, trust_env=False) as client:
        yield client


@pytest.fixture
def ms(sandbox: Sandbox) -> MicrosoftSandbox:
    """The Microsoft side with Ana's mailbox (`EMAIL`) in it."""
    assert isinstance(sandbox.microsoft, MicrosoftSandbox)
    sandbox.microsoft.create_account(EMAIL, "America/Chicago", "Ana Diaz")
    return sandbox.microsoft


@pytest.fixture
def graph(sandbox: Sandbox, ms: MicrosoftSandbox) -> Iterator[httpx.Client]:
    """A Graph client signed in as Ana."""
    with graph_client(sandbox, ms.issue_token(EMAIL)["access_token"]) as client:
        yield client
