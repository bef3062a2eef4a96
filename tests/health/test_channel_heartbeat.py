"""The channel keeper tells the engine's push-first poll which channels work (sync.engine.poll_book)."""

from __future__ import annotations

from datetime import timedelta

from app.domain.model import CalendarAccount
from app.domain.time import FixedClock
from app.services.container import Services
from app.services.ports import RemoteCalendar
from sync.channels import ChannelKeeper
from sync.engine.poll_book import PollBook
from sync.providers.fake import InMemoryCalendarProvider
from sync.push_receiver import CalendarChannels
from tests.health.conftest import Business


class Providers:
    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock
        self.by_account: dict[str, InMemoryCalendarProvider] = {}

    def __call__(self, account: CalendarAccount) -> InMemoryCalendarProvider:
        remote = "primary" if account.provider.value == "google" else "AAMk2"
        provider = InMemoryCalendarProvider([RemoteCalendar(remote, "Calendar", True)], clock=self.clock.now)
        self.by_account[account.id] = provider
        return provider


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
