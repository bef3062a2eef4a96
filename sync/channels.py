"""Push channels for every synced calendar: opened, renewed before they lapse, stopped at the end.

Used by `crewboard sync --listen … --public-url …`. Each calendar of a connected account gets one
Google watch channel or Graph subscription pointing at the public URL, carrying the calendar's
token from `CalendarChannels`; its id, resource id and expiry are kept on the Calendar row, which
is where the receiver looks notices up. A provider that refuses a channel (real Google wants a
verified domain, for one) is logged once and left to polling, which runs regardless. Graph's
lifecycle notices reach `ChannelKeeper.lifecycle` through the receiver.

A restart renews nothing it need not. The channels outlive the process that made them (a stop
leaves them in place, a kill cannot stop them), and the next start, or a standby taking over,
finds them stored. Renewing each to prove it still reaches us would cost two requests a calendar
at every restart (4,000 for 1,000 techs, from the same per-minute budget as the reads) and reopen
the window between a renewal's new channel and the old one's stop. So a stored channel that has
not expired, is not near expiry and points at the address this keeper opens channels toward (the
store records it, `ADDRESS_SETTING`) is handed to the engine's push-first poll as live
(`PollBook.stored`); the engine's first read after the start brings its calendar in step, and
from then on it is judged as any channel is: renewed after the heartbeat or near expiry, dropped to
the fast poll when it fails, misses a change, or Graph says it is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from app.domain.ids import CalendarId
from app.domain.model import AccountStatus, Calendar, CalendarAccount
from app.domain.time import Clock
from app.services.ports import UnitOfWorkFactory
from sync.engine.poll_book import PollBook
from sync.engine.ports import ProviderFor
from sync.engine.providers import ProviderPool
from sync.providers.errors import ProviderError
from sync.providers.protocol import Channel
from sync.push_receiver import CalendarChannels, LifecycleEvent, Trigger, push_address
from sync.store_settings import store_settings

log = logging.getLogger(__name__)

RENEW_BEFORE = timedelta(hours=6)
EVERY = timedelta(minutes=10)
# The public URL every stored channel points at; written once all of them were made toward it, so a
# start with another --public-url renews them all rather than trusting channels that point away.
ADDRESS_SETTING = "push.channel_address"


@dataclass(frozen=True, slots=True)
class _Target:
    account: CalendarAccount
    calendar: Calendar


class ChannelKeeper:
    """Opens, renews and stops the channels; with `trigger`, also answers Graph's lifecycle notices.

    A calendar's channel is changed by one piece of work at a time (the periodic round or a
    lifecycle notice), so a notice arriving while the round renews the same calendar does not
    leave two subscriptions behind.
    """

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        provider_for: ProviderFor,
        channels: CalendarChannels,
        public_url: str,
        clock: Clock,
        renew_before: timedelta = RENEW_BEFORE,
        trigger: Trigger | None = None,
        pool: ProviderPool | None = None,
        polls: PollBook | None = None,
    ) -> None:
        self._uow = uow_factory
        # The engine's push-first poll: told of every channel made, renewed, failed or dropped; a
        # channel without a recent sign is renewed (the heartbeat that proves it still works).
        self._polls = polls
        # The engine's pool when given: one connection per account, and Graph's four requests in
        # flight per mailbox counted once. Its owner closes it; a pool of our own we close.
        self._providers = pool or ProviderPool(provider_for)
        self._owns_providers = pool is None
        self._channels = channels
        self._public_url = public_url
        self._clock = clock
        self._renew_before = renew_before
        self._trigger = trigger
        self._refused: set[str] = set()  # calendars whose provider refused a channel (logged once)
        self._locks: dict[CalendarId, asyncio.Lock] = {}
        self._answering: set[tuple[CalendarId, LifecycleEvent]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopped = False  # after stop_all, late notices start no work on closed providers
        self._looked_at_stored = False  # the first round hands stored channels to `polls`
        self._address_recorded = False  # every stored channel points at `public_url` (recorded)
        self._made: set[CalendarId] = set()  # calendars whose stored channel this keeper made

    async def keep(self) -> int:
        """Open missing channels and renew those close to expiry; returns how many changed."""
        changed = 0
        targets = await asyncio.to_thread(self._targets)
        if not self._looked_at_stored:
            self._looked_at_stored = True
            await asyncio.to_thread(self._trust_stored, targets)
        for target in targets:
            if not self._due(target.calendar):
                continue
            async with self._lock(target.calendar.id):
                # A lifecycle notice may have replaced the channel meanwhile: decide on the row.
                current = await asyncio.to_thread(self._current, target.calendar.id)
                if current is None or not self._due(current):
                    continue
                if await self._open(_Target(target.account, current), fresh=False):
                    changed += 1
        if not self._address_recorded:
            await asyncio.to_thread(self._record_address)
        return changed

    def _trust_stored(self, targets: list[_Target]) -> None:
        """After a start: stored channels that are sound count as live (see the module docstring)."""
        if self._polls is None:
            return
        with self._uow() as uow:
            address = store_settings(uow, "push channels").get(ADDRESS_SETTING)
        if address != self._public_url:
            if any(t.calendar.channel_id for t in targets):
                log.info(
                    "the stored push channels may point elsewhere than %s; renewing them", self._public_url
                )
            return
        self._address_recorded = True
        now = self._clock.now()
        trusted = 0
        for target in targets:
            calendar = target.calendar
            expires = calendar.channel_expires
            if calendar.channel_id and expires and expires - now > self._renew_before:
                trusted += self._polls.stored(calendar.id, expires)
        if trusted:
            log.info("%d stored push channel(s) kept as they are; the first reads confirm them", trusted)

    def _record_address(self) -> None:
        """Once every stored channel is one this keeper made, they all point at `public_url`."""
        if any(t.calendar.channel_id and t.calendar.id not in self._made for t in self._targets()):
            return
        with self._uow() as uow:
            store_settings(uow, "push channels").put(ADDRESS_SETTING, self._public_url)
            uow.commit()
        self._address_recorded = True

    def _due(self, calendar: Calendar) -> bool:
        if self._polls is not None and self._polls.needs_heartbeat(calendar.id):
            return True
        return not (
            calendar.channel_id
            and calendar.channel_expires
            and calendar.channel_expires - self._clock.now() > self._renew_before
        )

    def _lock(self, calendar_id: CalendarId) -> asyncio.Lock:
        return self._locks.setdefault(calendar_id, asyncio.Lock())

    async def _open(self, target: _Target, fresh: bool) -> bool:
        """Open (or renew) the calendar's channel and store it; False if the provider refused."""
        calendar = target.calendar
        try:
            # `creating` begins before the request goes out (Google posts its `sync` notice as
            # soon as the channel exists, often before its answer reaches us) and ends once the
            # channel is stored: until then the receiver knows the channel by its token.
            with self._channels.creating(calendar.id):
                channel = await self._open_or_renew(target, fresh)
                await asyncio.to_thread(self._store, calendar, channel)
                self._made.add(calendar.id)
            await self._retire(target, calendar, channel)
        except ProviderError as error:
            if self._polls is not None:
                self._polls.failed(calendar.id)
            if calendar.id not in self._refused:
                self._refused.add(calendar.id)
                log.warning(
                    "no push channel for calendar %s (%s); it is polled instead",
                    calendar.id,
                    type(error).__name__,
                )
            return False
        self._refused.discard(calendar.id)
        if self._polls is not None:
            self._polls.renewed(calendar.id, channel.expires)
        return True

    async def _open_or_renew(self, target: _Target, fresh: bool) -> Channel:
        provider = await self._providers.get(target.account)
        calendar = target.calendar
        try:
            address = push_address(self._public_url, target.account.provider.value)
        except ValueError:  # no notice route for this provider (CalDAV): refused, so it is polled
            raise ProviderError("this provider sends no change notices", reason="no_push") from None
        if (
            not fresh
            and calendar.channel_id
            and calendar.channel_expires
            and calendar.channel_expires > self._clock.now()
        ):
            old = _channel(calendar, self._channels.token_for(calendar.id))
            return await provider.renew(calendar, old, address)
        return await provider.watch(calendar, address, self._channels.token_for(calendar.id))

    async def _retire(self, target: _Target, before: Calendar, stored: Channel) -> None:
        """Stop the channel a renewal replaced, now that its successor is stored (never before)."""
        if not before.channel_id or before.channel_id == stored.id:
            return
        old = _channel(before, self._channels.token_for(before.id))
        try:
            await (await self._providers.get(target.account)).stop_watch(before, old)
        except ProviderError as error:
            log.info(
                "the replaced channel could not be stopped (%s); it lapses by itself", type(error).__name__
            )

    # -- Graph's lifecycle notices ------------------------------------------------------------------

    def lifecycle(self, calendar_id: CalendarId, subscription_id: str, event: LifecycleEvent) -> None:
        """The receiver's `on_lifecycle`: act on a verified notice (on the loop; never blocks).

        `missed` reads the calendar; `reauthorizationRequired` renews the subscription (a PATCH of
        its expiry reauthorizes it too, and Graph asks not to mix that with `/reauthorize` within
        ten minutes, so only the PATCH is used); `subscriptionRemoved` subscribes anew and then
        reads, in that order, so no change falls between the read and the new subscription. A
        notice for a subscription we no longer hold is ignored; a second one while the first is
        being answered adds nothing.
        """
        if event is LifecycleEvent.MISSED:
            self._read(calendar_id)
            return
        key = (calendar_id, event)
        if key in self._answering or self._stopped:
            return
        self._answering.add(key)
        task = asyncio.get_running_loop().create_task(self._answer(calendar_id, subscription_id, event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _task: self._answering.discard(key))

    async def _answer(self, calendar_id: CalendarId, subscription_id: str, event: LifecycleEvent) -> None:
        removed = event is LifecycleEvent.SUBSCRIPTION_REMOVED
        try:
            async with self._lock(calendar_id):
                target = await asyncio.to_thread(self._target, calendar_id)
                if target is None or target.calendar.channel_id != subscription_id:
                    log.info(
                        "%s for subscription %s, which is no longer ours; ignored", event, subscription_id
                    )
                    return
                if removed:
                    # Graph has dropped it: its notices (none should come) are refused from now
                    # on, and if a new one cannot be made the round retries and polling reads.
                    self._channels.forget(subscription_id)
                    if self._polls is not None:
                        self._polls.dropped(calendar_id)
                    await asyncio.to_thread(self._store, target.calendar, None)
                    target = _Target(target.account, replace(target.calendar, channel_id=None))
                if await self._open(target, fresh=removed):
                    log.info(
                        "calendar %s: subscription %s after %s",
                        calendar_id,
                        "made anew" if removed else "renewed",
                        event,
                    )
        except Exception:
            log.exception("answering %s for calendar %s failed", event, calendar_id)
        finally:
            if removed:
                self._read(calendar_id)

    def _read(self, calendar_id: CalendarId) -> None:
        if self._trigger is not None:
            self._trigger(calendar_id)

    # -- the end ------------------------------------------------------------------------------------

    async def _end_answers(self) -> None:
        """Cancel the lifecycle answers under way; late notices start no work from now on."""
        self._stopped = True
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def stop_all(self) -> None:
        """Stop every stored channel at its provider and forget it: for a calendar sync leaves for
        good (a process that only stops leaves its channels to the next start, see `run`)."""
        await self._end_answers()
        for target in await asyncio.to_thread(self._targets):
            calendar = target.calendar
            if not calendar.channel_id:
                continue
            self._channels.forget(calendar.channel_id)
            if self._polls is not None:
                self._polls.dropped(calendar.id)
            with contextlib.suppress(ProviderError):
                await (await self._providers.get(target.account)).stop_watch(
                    calendar, _channel(calendar, self._channels.token_for(calendar.id))
                )
            await asyncio.to_thread(self._store, calendar, None)

    async def run(self, stop: asyncio.Event, every: timedelta = EVERY) -> None:
        """Keep channels until `stop` is set, then close the providers.

        The channels stay at the providers and on the calendars' rows: the next start (or the
        standby that takes sync over) keeps them as they are. Stopping them here, and opening them
        again at the start, cost two requests a calendar for every restart. A service that is
        stopped for good leaves channels that post to a closed door until they lapse (a week at
        most for Google, three days for Graph), which costs the providers a few refused notices."""
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
                await self._end_answers()
            finally:
                if self._owns_providers:
                    await self._providers.aclose()

    def _current(self, calendar_id: CalendarId) -> Calendar | None:
        with self._uow() as uow:
            return uow.calendars.get(calendar_id)

    def _target(self, calendar_id: CalendarId) -> _Target | None:
        """The calendar and its account, if the account is still connected."""
        with self._uow() as uow:
            calendar = uow.calendars.get(calendar_id)
            account = uow.accounts.get(calendar.account_id) if calendar is not None else None
        if calendar is None or account is None or account.status is not AccountStatus.CONNECTED:
            return None
        return _Target(account, calendar)

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
