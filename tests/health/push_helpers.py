"""Shared by the push tests: calendars with channels, a recording trigger, a running receiver."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from app.domain.ids import CalendarId
from app.domain.model import Calendar
from app.services.container import Services
from app.web.server import serve_routes
from sync.push_receiver import CalendarChannels, PushReceiver


class Reads:
    """The trigger: records each calendar the receiver asked to read, and wakes waiters."""

    def __init__(self) -> None:
        self.calendars: list[CalendarId] = []
        self._arrived = asyncio.Event()

    def __call__(self, calendar_id: CalendarId) -> None:
        self.calendars.append(calendar_id)
        self._arrived.set()

    async def count(self, expected: int, timeout: float = 5.0) -> list[CalendarId]:
        """Wait until `expected` reads were asked for in all; then the list."""
        async with asyncio.timeout(timeout):
            while len(self.calendars) < expected:
                self._arrived.clear()
                await self._arrived.wait()
        return list(self.calendars)

    async def none_for(self, seconds: float) -> bool:
        before = len(self.calendars)
        await asyncio.sleep(seconds)
        return len(self.calendars) == before


def set_channel(services: Services, calendar: Calendar, channel_id: str, resource_id: str | None) -> Calendar:
    updated = replace(calendar, channel_id=channel_id, channel_resource_id=resource_id)
    with services.uow() as uow:
        uow.calendars.update(updated)
        uow.commit()
    return updated


@asynccontextmanager
async def running(channels: CalendarChannels, reads: Reads, **options: float) -> AsyncIterator[PushReceiver]:
    receiver = PushReceiver(channels, reads, serve_routes, **options)  # type: ignore[arg-type]
    await receiver.start("127.0.0.1", 0)
    try:
        yield receiver
    finally:
        await receiver.aclose()
