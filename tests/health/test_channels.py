"""ChannelKeeper: one push channel per synced calendar, renewed before it lapses, kept across restarts."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from app.domain.model import Calendar, CalendarAccount
from app.domain.time import FixedClock
from app.services.container import Services
from app.services.ports import RemoteCalendar
from sync.channels import ChannelKeeper
from sync.engine.providers import ProviderPool
from sync.providers.fake import CHANNEL_LIFETIME, InMemoryCalendarProvider
from sync.providers.protocol import Channel
from sync.push_receiver import CalendarChannels
from tests.health.conftest import Business


class Fakes:
    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock
        self.by_account: dict[str, InMemoryCalendarProvider] = {}

    def __call__(self, account: CalendarAccount) -> InMemoryCalendarProvider:
        remote = "primary" if account.provider.value == "google" else "AAMk2"
        provider = InMemoryCalendarProvider([RemoteCalendar(remote, "Calendar", True)], clock=self.clock.now)
        self.by_account[account.id] = provider
        return provider


def _calendar(services: Services, calendar: Calendar) -> Calendar:
    with services.uow() as uow:
        found = uow.calendars.get(calendar.id)
    assert found is not None
    return found


async def test_channels_are_opened_renewed_and_stopped(
    services: Services, clock: FixedClock, business: Business, caplog: pytest.LogCaptureFixture
) -> None:
    fakes = Fakes(clock)
    channels = CalendarChannels(services.uow)
    keeper = ChannelKeeper(services.uow, fakes, channels, "https://relay.example.com/cb/", clock)

    assert await keeper.keep() == 2
    maria = _calendar(services, business.maria_calendar)
    google = fakes.by_account[business.maria_google.id]
    [channel] = google.watching("primary")
    assert maria.channel_id == channel.id and maria.channel_expires == clock.now() + CHANNEL_LIFETIME
    assert channel.token == channels.token_for(maria.id)
    assert google.notices == [] and "https://relay.example.com/cb/google" in str(google._channels)
    entry = channels.lookup(channel.id)
    assert entry is not None and entry.calendar_id == maria.id and entry.resource_id == "fake-primary"
    sam = _calendar(services, business.sam_calendar)
    assert sam.channel_id is not None and channels.lookup(sam.channel_id) is not None

    assert await keeper.keep() == 0  # nothing close to expiry
    clock.advance(CHANNEL_LIFETIME - timedelta(hours=5))
    assert await keeper.keep() == 2
    renewed = _calendar(services, business.maria_calendar)
    assert renewed.channel_id != maria.channel_id and [c.id for c in google.watching("primary")] == [
        renewed.channel_id
    ]
    assert google.calls.count("renew") == 1

    await keeper.stop_all()
    assert (
        google.watching("primary") == [] and _calendar(services, business.maria_calendar).channel_id is None
    )
    assert channels.lookup(renewed.channel_id or "") is None


async def test_a_renewal_stores_the_new_channel_before_stopping_the_old(
    services: Services, clock: FixedClock, business: Business, caplog: pytest.LogCaptureFixture
) -> None:
    """Stopped first, a process killed before storing would keep a dead channel as live."""
    fakes = Fakes(clock)
    keeper = ChannelKeeper(
        services.uow, fakes, CalendarChannels(services.uow), "https://relay.example.com/cb/", clock
    )
    assert await keeper.keep() == 2
    old = _calendar(services, business.maria_calendar).channel_id
    google = fakes.by_account[business.maria_google.id]
    stored_when_stopped: list[str | None] = []
    stop = google.stop_watch

    async def watching_the_row(calendar: Calendar, channel: Channel) -> None:
        stored_when_stopped.append(_calendar(services, business.maria_calendar).channel_id)
        await stop(calendar, channel)

    google.stop_watch = watching_the_row  # type: ignore[method-assign]
    google.lose_answers(methods=["stop_watch"])  # the stop is carried out, its answer lost
    clock.advance(CHANNEL_LIFETIME - timedelta(hours=5))
    with caplog.at_level(logging.INFO, logger="sync.channels"):
        assert await keeper.keep() == 2
    new = _calendar(services, business.maria_calendar).channel_id
    assert new != old and stored_when_stopped[0] == new
    assert [c.id for c in google.watching("primary")] == [new]
    assert "could not be stopped" in caplog.text


async def test_a_refused_channel_is_logged_once_and_left_to_polling(
    services: Services, clock: FixedClock, business: Business, caplog: pytest.LogCaptureFixture
) -> None:
    fakes = Fakes(clock)
    google = fakes(business.maria_google)
    google.fail_next("transient", count=2, methods=["watch"])

    def reuse(account: CalendarAccount) -> InMemoryCalendarProvider:
        return google if account.id == business.maria_google.id else fakes(account)

    channels = CalendarChannels(services.uow)
    keeper = ChannelKeeper(services.uow, reuse, channels, "https://relay.example.com", clock)
    caplog.set_level(logging.WARNING, logger="sync.channels")
    assert await keeper.keep() == 1  # Sam's calendar only
    assert await keeper.keep() == 0
    assert len([r for r in caplog.records if "polled instead" in r.getMessage()]) == 1
    assert await keeper.keep() == 1  # the provider accepts again
    assert _calendar(services, business.maria_calendar).channel_id is not None


async def test_a_new_channel_answers_notices_while_the_next_calendar_is_watched(
    services: Services, clock: FixedClock, business: Business
) -> None:
    """Providers post as soon as a channel exists; the keeper still opening other calendars must not
    leave the receiver refusing the first one's notices as unknown."""
    fakes = Fakes(clock)
    channels = CalendarChannels(services.uow)
    channels.REFRESH_EVERY = 3600.0  # unknown ids never re-read the table by themselves here
    made: list[str] = []
    known_meanwhile: list[bool] = []

    def provider_for(account: CalendarAccount) -> InMemoryCalendarProvider:
        provider = fakes(account)
        watch = provider.watch

        async def watching(calendar: Calendar, address: str, token: str) -> Channel:
            known_meanwhile.extend(channels.lookup(channel_id) is not None for channel_id in made)
            channel = await watch(calendar, address, token)
            made.append(channel.id)
            return channel

        provider.watch = watching  # type: ignore[method-assign]
        return provider

    keeper = ChannelKeeper(services.uow, provider_for, channels, "https://relay.example.com", clock)
    assert await keeper.keep() == 2
    assert known_meanwhile == [True]
    assert all(channels.lookup(channel_id) is not None for channel_id in made)


async def test_a_shared_pool_gives_one_provider_per_account_and_stays_open_for_its_owner(
    services: Services, clock: FixedClock, business: Business
) -> None:
    """`crewboard sync --listen` shares the engine's providers: one connection per account, and
    the keeper stopping first must not close what the engine still uses."""
    fakes = Fakes(clock)
    pool = ProviderPool(fakes)
    engine_side = await pool.get(business.maria_google)  # the engine opened Maria's provider first
    keeper = ChannelKeeper(
        services.uow, fakes, CalendarChannels(services.uow), "https://relay.example.com/cb/", clock, pool=pool
    )
    assert await keeper.keep() == 2
    stop = asyncio.Event()
    stop.set()  # then the end of `crewboard sync`: the channels stay for the next start
    await keeper.run(stop)

    assert fakes.by_account[business.maria_google.id] is engine_side  # no second provider opened
    assert engine_side.calls.count("watch") == 1 and engine_side.calls.count("stop_watch") == 0
    assert _calendar(services, business.maria_calendar).channel_id is not None
    assert not any(p.closed for p in fakes.by_account.values())  # the engine closes them, later
    await pool.aclose()
    assert all(p.closed for p in fakes.by_account.values())


async def test_a_keeper_with_providers_of_its_own_closes_them(
    services: Services, clock: FixedClock, business: Business
) -> None:
    fakes = Fakes(clock)
    keeper = ChannelKeeper(
        services.uow, fakes, CalendarChannels(services.uow), "https://relay.example.com/cb/", clock
    )
    assert await keeper.keep() == 2
    stop = asyncio.Event()
    stop.set()
    await keeper.run(stop)
    assert fakes.by_account and all(p.closed for p in fakes.by_account.values())
