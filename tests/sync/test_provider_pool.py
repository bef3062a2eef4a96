"""The engine's provider pool opens providers off the event loop, once per account and sign-in.

Opening a provider reads the keyring (and, for an account on a compatible server, asks the server
for its hosts): on the desktop the loop is the GUI's, so that work must never run on its thread.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace

from app.domain.ids import AccountId, TechId
from app.domain.model import CalendarAccount, Provider
from sync.engine.providers import ProviderPool
from sync.providers.fake import InMemoryCalendarProvider
from sync.providers.protocol import CalendarProvider

MARIA = CalendarAccount(
    AccountId("acc-maria"), TechId("maria"), Provider.GOOGLE, "maria@example.com", "google:1"
)


class RecordingOpener:
    """A provider_for that notes the thread it ran on; `hold` keeps an open waiting until set."""

    def __init__(self) -> None:
        self.threads: list[int] = []
        self.opened: list[InMemoryCalendarProvider] = []
        self.entered = threading.Event()
        self.hold = threading.Event()
        self.hold.set()

    def __call__(self, account: CalendarAccount) -> CalendarProvider:
        self.threads.append(threading.get_ident())
        self.entered.set()
        self.hold.wait()
        provider = InMemoryCalendarProvider()
        self.opened.append(provider)
        return provider


async def test_a_provider_is_opened_off_the_event_loops_thread() -> None:
    opener = RecordingOpener()
    pool = ProviderPool(opener)
    provider = await pool.get(MARIA)
    assert opener.threads and threading.get_ident() not in opener.threads
    assert await pool.get(MARIA) is provider  # opened once, then kept
    assert len(opener.opened) == 1
    await pool.aclose()


async def test_two_callers_at_once_share_the_one_provider_being_opened() -> None:
    opener = RecordingOpener()
    opener.hold.clear()
    pool = ProviderPool(opener)
    first = asyncio.create_task(pool.get(MARIA))
    await asyncio.to_thread(opener.entered.wait)  # the first open is under way in its thread
    second = asyncio.create_task(pool.get(MARIA))
    await asyncio.sleep(0)  # let the second caller reach the pool while the first still opens
    opener.hold.set()
    assert await first is await second
    assert len(opener.opened) == 1
    await pool.aclose()


async def test_a_reconnected_account_gets_a_fresh_provider_and_both_are_closed() -> None:
    opener = RecordingOpener()
    pool = ProviderPool(opener)
    before = await pool.get(MARIA)
    after = await pool.get(replace(MARIA, token_ref="google:2"))
    assert after is not before
    await pool.aclose()
    assert all(p.closed for p in opener.opened)
