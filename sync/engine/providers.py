"""One provider per connected account, opened on first use off the event loop, closed with the engine.

Opening a provider reads the account's sign-in from the keyring and, for an account kept on a
compatible server, asks that server where its hosts listen: blocking work that would freeze a
desktop sharing this loop. It runs in a thread; the loop only waits for it.
"""

from __future__ import annotations

import asyncio
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
        self._opening: dict[AccountId, asyncio.Lock] = {}
        self._replaced: list[CalendarProvider] = []

    async def get(self, account: CalendarAccount) -> CalendarProvider:
        """The account's provider; a reconnected account (new token reference) gets a fresh one.

        Two callers asking for the same account at once get the one provider the first opened.
        """
        found = self._current(account)
        if found is not None:
            return found
        async with self._opening.setdefault(account.id, asyncio.Lock()):
            found = self._current(account)
            if found is not None:
                return found
            provider = await asyncio.to_thread(self._provider_for, account)
            previous = self._open.get(account.id)
            self._open[account.id] = (_key(account), provider)
            if previous is not None:
                self._replaced.append(previous[1])
            return provider

    def _current(self, account: CalendarAccount) -> CalendarProvider | None:
        found = self._open.get(account.id)
        return found[1] if found is not None and found[0] == _key(account) else None

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


def _key(account: CalendarAccount) -> tuple[str, str]:
    return (account.token_ref, account.endpoint or "")


async def _close(provider: CalendarProvider) -> None:
    try:
        await provider.aclose()
    except Exception:
        log.exception("closing a calendar provider failed")
