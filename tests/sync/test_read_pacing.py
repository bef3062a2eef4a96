"""The engine paces its poll reads ahead of the quota, fresh calendars first, and says so."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from app.domain.model import Calendar
from app.domain.time import Interval
from app.services.sync_outcomes import SyncOutcomeQueries
from sync.core.pacer import Limit
from sync.engine.read_pacer import PacerLimits, ReadPacer
from sync.providers.protocol import ChangeBatch
from tests.sync.conftest import World

ROUND = timedelta(seconds=10)


def count_reads(world: World) -> Counter[str]:
    reads: Counter[str] = Counter()
    for tech in world.techs.values():
        phone = tech.phone
        original = phone.read_changes

        async def counted(
            calendar: Calendar, cursor: str | None, window: Interval, original: object = original
        ) -> ChangeBatch:
            reads[calendar.id] += 1
            return await original(calendar, cursor, window)  # type: ignore[operator,no-any-return]

        phone.read_changes = counted  # type: ignore[method-assign]
    return reads


async def test_a_short_budget_reads_fresh_calendars_first_and_the_health_view_says_reads_are_paced(
    world: World,
) -> None:
    sam = world.add_tech("Sam")
    # A project budget of 20 a minute: a burst of 4.5 tokens, then 0.225 a second (2.25 a round).
    pacer = ReadPacer(world.clock, PacerLimits.with_google_budget(20))
    engine = world.engine(pacer=pacer)
    health = SyncOutcomeQueries(world.database.unit_of_work, world.clock)
    reads = count_reads(world)
    await engine.run_once()  # the first full read is charged: 4 of the 4.5 tokens
    assert sum(reads.values()) == 4 and health.report().paced is None

    # Every round wants all four calendars (no push), and 2.25 tokens refill a round: short.
    world.clock.advance(ROUND)
    await engine.run_due()
    world.clock.advance(ROUND)
    engine.polls.noticed(sam.second.id)  # Sam's family calendar was just changed: it goes first
    before = Counter(reads)
    await engine.run_due()
    assert reads[sam.second.id] == before[sam.second.id] + 1
    assert sum(reads.values()) - sum(before.values()) < 4

    paced = health.report().paced
    assert paced is not None and paced.waiting >= 1
    assert "Reads are being paced" in paced.sentence()

    # Over a minute of rounds, no more reads than 90 % of the budget allows
    start = sum(reads.values())
    for _ in range(6):
        world.clock.advance(ROUND)
        await engine.run_due()
    assert sum(reads.values()) - start <= 4.5 + 0.225 * 60


async def test_without_pacing_nothing_is_reported(world: World) -> None:
    engine = world.engine()
    await engine.run_once()
    world.clock.advance(ROUND)
    await engine.run_due()
    assert SyncOutcomeQueries(world.database.unit_of_work, world.clock).report().paced is None


def test_the_budget_is_a_limit_per_minute() -> None:
    assert PacerLimits.with_google_budget(40).google_project == Limit(40, timedelta(minutes=1))


async def test_while_paced_the_calendars_of_techs_with_jobs_today_go_first(world: World) -> None:
    sam = world.add_tech("Sam")
    world.add_tech("Ann")
    world.book(tech="Sam", hours=2)  # Sam has a job this morning; Maria and Ann have none
    # A budget of 18 a minute: a burst of 4.05 tokens, then 2.025 a round.
    engine = world.engine(pacer=ReadPacer(world.clock, PacerLimits.with_google_budget(18)))
    reads = count_reads(world)
    await engine.run_once()  # six reads charged: the bucket is 1.95 in debt
    world.clock.advance(ROUND)
    await engine.run_due()  # nothing can be paid for yet: pacing begins
    assert engine.pacer.pacing is not None and engine.pacer.pacing.waiting == 6
    before = Counter(reads)
    for _ in range(4):
        world.clock.advance(ROUND)
        await engine.run_due()  # two reads a round, both Sam's
    assert reads[sam.primary.id] - before[sam.primary.id] == 4
    assert reads[sam.second.id] - before[sam.second.id] == 4
    assert sum(reads.values()) - sum(before.values()) == 8


async def test_while_paced_the_longest_unread_calendar_goes_first(world: World) -> None:
    world.add_tech("Sam")
    world.add_tech("Ann")
    engine = world.engine(pacer=ReadPacer(world.clock, PacerLimits.with_google_budget(18)))
    reads = count_reads(world)
    await engine.run_once()
    world.clock.advance(ROUND)
    await engine.run_due()
    before = Counter(reads)
    for _ in range(3):
        world.clock.advance(ROUND)
        await engine.run_due()  # two a round over six calendars: each read once
    assert sorted(reads[c] - before[c] for c in reads) == [1] * 6


async def test_while_paced_a_calendar_left_unread_for_the_safety_net_check_is_read_anyway(
    world: World,
) -> None:
    sam = world.add_tech("Sam")
    world.add_tech("Ann")
    world.book(tech="Sam", hours=2)  # Sam's two calendars are fresh for as long as his jobs last
    # A budget of 12 a minute: 1.35 reads a round, fewer than Sam's two fresh calendars want.
    engine = world.engine(pacer=ReadPacer(world.clock, PacerLimits.with_google_budget(12)))
    reads = count_reads(world)
    await engine.run_once()
    before = Counter(reads)
    others = [c for c in reads if c not in (sam.primary.id, sam.second.id)]
    rounds = int(engine.polls.policy.slow / ROUND) + 12  # the check's interval, then two minutes
    for _ in range(rounds):
        world.clock.advance(ROUND)
        await engine.run_due()
    assert len(others) == 4
    assert all(reads[c] > before[c] for c in others)  # each read again, fresh ones or not
    assert reads[sam.primary.id] - before[sam.primary.id] > rounds // 4  # Sam's still go first
