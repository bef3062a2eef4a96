"""One provider per connected account, opened on first use and closed with the engine."""

from __future__ import annotations

import logging

from app.domain.ids import AccountId
from app.domain.model import CalendarAccount
from sync.engine.ports import ProviderFor
from sync.providers.protocol import CalendarProvider

log = logging.getLogger(__name__)


class ProviderPool:
    def __init__(self, provider_for: ProviderFor) -> None:
        self._provider_for = provider_for
        self._open: dict[AccountId, tuple[tuple[str, str], CalendarProvider]] = {}
        self._replaced: list[CalendarProvider] = []

    def get(self, account: CalendarAccount) -> CalendarProvider:
        """The account's provider; a reconnected account (new token reference) gets a fresh one."""
        key = (account.token_ref, account.endpoint or "")
        found = self._open.get(account.id)
        if found is not None and found[0] == key:
            return found[1]
        provider = self._provider_for(account)
        self._open[account.id] = (key, provider)
        if found is not None:
            self._replaced.append(found[1])
        return provider

    async def drop(self, account_id: AccountId) -> None:
        """Close the account's provider (its sign-in stopped working)."""
        found = self._open.pop(account_id, None)
        if found is not None:
            await _close(found[1])

    async def aclose(self) -> None:
        providers = [p for _, p in self._open.values()] + self._replaced
        self._open.clear()
        self._replaced = []
        for provider in providers:
            await _close(provider)


async def _close(provider: CalendarProvider) -> None:
    try:
        await provider.aclose()
    except Exception:
        log.exception("closing a calendar provider failed")
