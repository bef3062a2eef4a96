"""The channel keeper tells the engine's push-first poll which channels work (sync.engine.poll_book)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from app.domain.ids import CalendarId
from app.domain.model import CalendarAccount
from app.domain.time import FixedClock
from app.services.container import Services
from app.services.ports import RemoteCalendar
from sync.channels import ChannelKeeper
from sync.engine.poll_book import PollBook
from sync.providers.fake import CHANNEL_LIFETIME, InMemoryCalendarProvider
from sync.push_receiver import CalendarChannels
from tests.health.conftest import Business

CHANNEL_WORK = ("watch", "renew", "stop_watch")
RELAY = "https://relay.example"
# Both fakes renew as Google does: a new channel, then the keeper stops the old one.
RENEWED = ["renew", "renew", "stop_watch", "stop_watch"]


class Providers:
    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock
        self.by_account: dict[str, InMemoryCalendarProvider] = {}
        self.made: list[InMemoryCalendarProvider] = []

    def __call__(self, account: CalendarAccount) -> InMemoryCalendarProvider:
        remote = "primary" if account.provider.value == "google" else "AAMk2"
        provider = InMemoryCalendarProvider([RemoteCalendar(remote, "Calendar", True)], clock=self.clock.now)
        self.by_account[account.id] = provider
        self.made.append(provider)
        return provider

    def channel_work(self, since: int = 0) -> list[str]:
        """Channel requests made by the providers opened after the first `since` ones."""
        return [call for p in self.made[since:] for call in p.calls if call in CHANNEL_WORK]


async def _first_term(services: Services, clock: FixedClock, address: str = RELAY) -> Providers:
    """A process that opened both channels and then stopped (they stay, stored)."""
    providers = Providers(clock)
    keeper = ChannelKeeper(
        services.uow, providers, CalendarChannels(services.uow), address, clock, polls=PollBook(clock)
    )
    assert await keeper.keep() == 2
    stop = asyncio.Event()
    stop.set()
    await keeper.run(stop)
    assert providers.channel_work() == ["watch", "watch"]  # none stopped at the end
    return providers


def _restarted(
    services: Services, clock: FixedClock, providers: Providers, address: str = RELAY
) -> tuple[ChannelKeeper, PollBook]:
    polls = PollBook(clock)
    keeper = ChannelKeeper(
        services.uow, providers, CalendarChannels(services.uow), address, clock, polls=polls
    )
    return keeper, polls


async def test_opened_channels_are_live_and_a_failed_renewal_drops_to_the_fast_poll(
    services: Services, clock: FixedClock, business: Business
) -> None:
    polls = PollBook(clock)
    providers = Providers(clock)
    keeper = ChannelKeeper(
        services.uow, providers, CalendarChannels(services.uow), "https://relay.example", clock, polls=polls
    )
    maria, sam = business.maria_calendar.id, business.sam_calendar.id
    assert not polls.live(maria)

    assert await keeper.keep() == 2
    assert polls.live(maria) and polls.live(sam)
    assert await keeper.keep() == 0  # signs are recent: nothing to prove

    # Half a day without a sign: the keeper renews to prove the channel still works; Maria's
    # provider refuses, so her calendar goes back to the fast poll at once, Sam's stays on push.
    clock.advance(polls.policy.heartbeat)
    providers.by_account[business.maria_google.id].fail_next("transient", methods=["renew"])
    assert await keeper.keep() == 1
    assert not polls.live(maria)
    assert polls.live(sam)

    clock.advance(timedelta(minutes=10))
    assert await keeper.keep() == 1  # tried again, and it worked: push again
    assert polls.live(maria)

    await keeper.stop_all()
    assert not polls.live(maria) and not polls.live(sam)


async def test_a_restart_keeps_stored_channels_without_a_request(
    services: Services, clock: FixedClock, business: Business
) -> None:
    providers = await _first_term(services, clock)
    before = len(providers.made)
    clock.advance(timedelta(minutes=1))
    keeper, polls = _restarted(services, clock, providers)
    maria, sam = business.maria_calendar.id, business.sam_calendar.id
    assert await keeper.keep() == 0
    assert providers.channel_work(before) == []
    assert polls.live(maria) and polls.live(sam)  # the push-first check interval, not the fast poll

    # Trusted, then judged as any channel: silent for the heartbeat, it is renewed to prove itself.
    clock.advance(polls.policy.heartbeat)
    assert await keeper.keep() == 2
    assert sorted(providers.channel_work(before)) == RENEWED


@pytest.mark.parametrize(
    ("age", "requests"),
    [
        (CHANNEL_LIFETIME - timedelta(hours=5), RENEWED),  # near expiry
        # expired: opened anew (the lapsed one is stopped too, in case the provider still keeps it)
        (CHANNEL_LIFETIME + timedelta(minutes=1), ["stop_watch", "stop_watch", "watch", "watch"]),
    ],
)
async def test_a_restart_renews_stored_channels_near_or_past_expiry(
    services: Services, clock: FixedClock, business: Business, age: timedelta, requests: list[str]
) -> None:
    providers = await _first_term(services, clock)
    before = len(providers.made)
    clock.advance(age)
    keeper, polls = _restarted(services, clock, providers)
    assert await keeper.keep() == 2
    assert sorted(providers.channel_work(before)) == requests
    assert polls.live(business.maria_calendar.id) and polls.live(business.sam_calendar.id)


async def test_a_restart_toward_another_address_renews_every_channel_once(
    services: Services, clock: FixedClock, business: Business
) -> None:
    providers = await _first_term(services, clock)
    before = len(providers.made)
    keeper, _polls = _restarted(services, clock, providers, "https://new-relay.example")
    assert await keeper.keep() == 2  # the stored ones point at the old address
    assert sorted(providers.channel_work(before)) == RENEWED
    again = len(providers.made)
    keeper, polls = _restarted(services, clock, providers, "https://new-relay.example")
    assert await keeper.keep() == 0
    assert providers.channel_work(again) == [] and polls.live(business.maria_calendar.id)


def test_a_stored_channel_does_not_override_what_the_process_knows(clock: FixedClock) -> None:
    polls = PollBook(clock)
    maria = CalendarId("c-maria")
    polls.failed(maria)  # this process already failed to renew it
    assert not polls.stored(maria, clock.now() + CHANNEL_LIFETIME)
    assert not polls.live(maria)
    sam = CalendarId("c-sam")
    assert polls.stored(sam, clock.now() + CHANNEL_LIFETIME)
    assert polls.live(sam) and not polls.needs_heartbeat(sam)
