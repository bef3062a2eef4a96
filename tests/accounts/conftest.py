"""Fixtures for connecting calendar accounts: the real Secret Service, and the provider sandbox.

Keyring tests run against whatever Secret Service the session offers (`make test` starts a private,
unlocked gnome-keyring). They are skipped only when none is reachable and CREWBOARD_REQUIRE_KEYRING
is not "1"; with it set, a missing keyring fails the run instead of skipping silently.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest

from app.domain.model import Technician
from app.services.accounts import AccountService
from app.services.container import Services
from sync.providers.secrets import KeyringUnavailable, TokenStore
from tests.sandbox.conftest import control, sandbox  # re-exported: the running sandbox and its control client

__all__ = ["control", "sandbox"]


def _keyring_problem() -> str | None:
    try:
        TokenStore().check()
    except KeyringUnavailable as error:
        return str(error)
    return None


@pytest.fixture(scope="session")
def keyring_problem() -> str | None:
    return _keyring_problem()


@pytest.fixture
def token_store(keyring_problem: str | None) -> Iterator[TokenStore]:
    """The product's TokenStore on the real keyring; every entry a test writes is removed after it."""
    if keyring_problem is not None:
        reason = f"no Secret Service is reachable ({keyring_problem})"
        if os.environ.get("CREWBOARD_REQUIRE_KEYRING") == "1":
            pytest.fail(f"CREWBOARD_REQUIRE_KEYRING=1 but {reason}")
        pytest.skip(f"{reason}; run under scripts/with-secret-service, or set CREWBOARD_REQUIRE_KEYRING=1")
    store = _CleaningTokenStore()
    yield store
    store.clean()


class _CleaningTokenStore(TokenStore):
    """The product's TokenStore, remembering what it wrote so the test leaves the keyring as it was."""

    def __init__(self) -> None:
        super().__init__()
        self.written: set[str] = set()

    def save(self, ref: str, blob: Mapping[str, Any]) -> None:
        self.written.add(ref)
        super().save(ref, blob)

    def clean(self) -> None:
        for ref in sorted(self.written):
            self.delete(ref)


@pytest.fixture
def unique_email() -> str:
    return f"tech-{uuid.uuid4().hex[:10]}@example.com"


# --- the provider sandbox -------------------------------------------------------------------------


def add_sandbox_account(
    control_client: httpx.Client, provider: str, email: str, name: str, extra_calendars: tuple[str, ...] = ()
) -> None:
    created = control_client.post(
        "/accounts", json={"provider": provider, "email": email, "timezone": "America/Chicago", "name": name}
    )
    assert created.status_code == 201, created.text
    for calendar in extra_calendars:
        added = control_client.post(f"/accounts/{email}/calendars", json={"name": calendar})
        assert added.status_code in (200, 201), added.text


def sandbox_requests(control_client: httpx.Client, site: str | None = None) -> list[dict[str, Any]]:
    params = {"site": site} if site else {}
    entries: list[dict[str, Any]] = control_client.get("/requests", params=params).json()
    return entries


@pytest.fixture
def account_service(services: Services) -> AccountService:
    return AccountService(services.uow, services.clock, services.bus)


@pytest.fixture
def maria(services: Services) -> Technician:
    return services.techs.add("Maria Lopez", "maria@example.com", "America/Chicago")
