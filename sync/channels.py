"""Push channels for every synced calendar: opened, renewed before they lapse, stopped at the end.

Used by `crewboard sync --listen … --public-url …`. Each calendar of a connected account gets one
Google watch channel or Graph subscription pointing at the public URL, carrying the calendar's
token from `CalendarChannels`; its id, resource id and expiry are kept on the Calendar row, which
is where the receiver looks notices up. A provider that refuses a channel (real Google wants a
verified domain, for one) is logged once and left to polling, which runs regardless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from app.domain.model import AccountStatus, Calendar, CalendarAccount
from app.domain.time import Clock
from app.services.ports import UnitOfWorkFactory
from sync.engine.ports import ProviderFor
from sync.engine.providers import ProviderPool
from sync.providers.errors import ProviderError
from sync.providers.protocol import Channel
from sync.push_receiver import CalendarChannels, push_address

log = logging.getLogger(__name__)

RENEW_BEFORE = timedelta(hours=6)
EVERY = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class _Target:
    account: CalendarAccount
    calendar: Calendar


class ChannelKeeper:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        provider_for: ProviderFor,
        channels: CalendarChannels,
        public_url: str,
        clock: Clock,
        renew_before: timedelta = RENEW_BEFORE,
    ) -> None:
        self._uow = uow_factory
        self._providers = ProviderPool(provider_for)
        self._channels = channels
        self._public_url = public_url
        self._clock = clock
        self._renew_before = renew_before
        self._refused: set[str] = set()  # calendars whose provider refused a channel (logged once)

    async def keep(self) -> int:
        """Open missing channels and renew those close to expiry; returns how many changed."""
        changed = 0
        for target in await asyncio.to_thread(self._targets):
            calendar, now = target.calendar, self._clock.now()
            if (
                calendar.channel_id
                and calendar.channel_expires
                and calendar.channel_expires - now > self._renew_before
            ):
                continue
            try:
                # Stored before `creating` ends (its end re-reads the table for the receiver): the
                # provider posts notices as soon as it has answered, and until the channel is in
                # the table the receiver refuses them as unknown.
                with self._channels.creating(calendar.id):
                    channel = await self._open_or_renew(target)
                    await asyncio.to_thread(self._store, calendar, channel)
            except ProviderError as error:
                if calendar.id not in self._refused:
                    self._refused.add(calendar.id)
                    log.warning(
                        "no push channel for calendar %s (%s); it is polled instead",
                        calendar.id,
                        type(error).__name__,
                    )
                continue
            self._refused.discard(calendar.id)
            changed += 1
        return changed

    async def _open_or_renew(self, target: _Target) -> Channel:
        provider = self._providers.get(target.account)
        calendar = target.calendar
        address = push_address(self._public_url, target.account.provider.value)
        if (
            calendar.channel_id
            and calendar.channel_expires
            and calendar.channel_expires > self._clock.now()
        ):
            old = _channel(calendar, self._channels.token_for(calendar.id))
            return await provider.renew(calendar, old, address)
        return await provider.watch(calendar, address, self._channels.token_for(calendar.id))

    async def stop_all(self) -> None:
        """Stop every stored channel (providers would otherwise post to a closed door until expiry)."""
        for target in await asyncio.to_thread(self._targets):
            calendar = target.calendar
            if not calendar.channel_id:
                continue
            self._channels.forget(calendar.channel_id)
            with contextlib.suppress(ProviderError):
                await self._providers.get(target.account).stop_watch(
                    calendar, _channel(calendar, self._channels.token_for(calendar.id))
                )
            await asyncio.to_thread(self._store, calendar, None)

    async def run(self, stop: asyncio.Event, every: timedelta = EVERY) -> None:
        """Keep channels until `stop` is set, then stop them and close the providers."""
        try:
            while not stop.is_set():
                try:
                    await self.keep()
                except Exception:  # the next round tries again; polling carries on meanwhile
                    log.exception("keeping push channels failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), every.total_seconds())
        finally:
            try:
                await self.stop_all()
            finally:
                await self._providers.aclose()

    def _targets(self) -> list[_Target]:
        with self._uow() as uow:
            return [
                _Target(account, calendar)
                for account in uow.accounts.list()
                if account.status is AccountStatus.CONNECTED
                for calendar in uow.calendars.for_account(account.id)
            ]

    def _store(self, calendar: Calendar, channel: Channel | None) -> None:
        with self._uow() as uow:
            current = uow.calendars.get(calendar.id)
            if current is None:
                return
            uow.calendars.update(
                replace(
                    current,
                    channel_id=channel.id if channel else None,
                    channel_resource_id=channel.resource_id if channel else None,
                    channel_expires=channel.expires if channel else None,
                )
            )
            uow.commit()


def _channel(calendar: Calendar, token: str) -> Channel:
    assert calendar.channel_id is not None
    expires: datetime = calendar.channel_expires or datetime.min.replace(tzinfo=UTC)
    return Channel(calendar.channel_id, calendar.channel_resource_id, expires, token)
