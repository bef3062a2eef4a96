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

import pytest

from sync.providers.secrets import KeyringUnavailable, TokenStore


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
