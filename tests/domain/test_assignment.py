"""Round-robin assignment: examples of each mode, and the properties the issue promises."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.assignment import (
    AssignmentMode,
    AssignmentRule,
    Candidate,
    choose_tech,
    hours_text,
)
from app.domain.ids import TechId
from app.domain.service_types import ServiceType, ServiceTypeId

MON = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def _service(*techs: str) -> ServiceType:
    return ServiceType(
        ServiceTypeId("s1"), "AC repair", timedelta(hours=1), qualified=frozenset(map(TechId, techs))
    )


def _c(tech: str, hours: float = 0, last: datetime | None = None) -> Candidate:
    return Candidate(TechId(tech), tech.title(), timedelta(hours=hours), last)


def test_fewest_booked_hours_wins_and_says_why() -> None:
    chosen = choose_tech(
        _service("ana", "bo", "cy"), [_c("ana", 8), _c("bo", 6), _c("cy", 9)], {"ana", "bo", "cy"}
    )
    assert chosen is not None
    assert chosen.tech_id == "bo"
    assert chosen.explanation == "6 h booked this week, fewest among the 3 free"


def test_a_tie_goes_to_who_was_assigned_least_recently() -> None:
    candidates = [
        _c("ana", 4, MON),
        _c("bo", 4, MON - timedelta(days=1)),
        _c("cy", 4, MON + timedelta(hours=1)),
    ]
    chosen = choose_tech(_service("ana", "bo", "cy"), candidates, {"ana", "bo", "cy"})
    assert chosen is not None and chosen.tech_id == "bo"
    assert chosen.explanation.endswith("; tied, and assigned least recently")


def test_never_assigned_counts_as_longest_ago() -> None:
    chosen = choose_tech(_service("ana", "bo"), [_c("ana", 2, MON), _c("bo", 2)], {"ana", "bo"})
    assert chosen is not None and chosen.tech_id == "bo"


def test_only_qualified_and_free_techs_are_chosen() -> None:
    service = _service("ana", "bo")
    candidates = [_c("ana", 9), _c("bo", 7), _c("cy", 0)]  # cy has fewest hours but is not qualified
    chosen = choose_tech(service, candidates, {"ana", "cy"})  # bo is busy
    assert chosen is not None and chosen.tech_id == "ana"
    assert chosen.explanation == "9 h booked this week, the only qualified tech free"
    assert choose_tech(service, candidates, {"cy"}) is None


def test_strict_rotation_ignores_hours() -> None:
    rule = AssignmentRule(AssignmentMode.ROTATION)
    candidates = [_c("ana", 0, MON), _c("bo", 30, MON - timedelta(hours=2))]
    chosen = choose_tech(_service("ana", "bo"), candidates, {"ana", "bo"}, rule)
    assert chosen is not None and chosen.tech_id == "bo"
    assert chosen.explanation == "next in rotation among the 2 free (last assigned 2026-11-02 13:00 UTC)"


def test_weights_share_hours() -> None:
    rule = AssignmentRule(AssignmentMode.WEIGHTED, {TechId("ana"): 2})
    # ana has 6 h at weight 2 (3 per weight), bo 4 h at weight 1.
    chosen = choose_tech(_service("ana", "bo"), [_c("ana", 6), _c("bo", 4)], {"ana", "bo"}, rule)
    assert chosen is not None and chosen.tech_id == "ana"
    assert (
        chosen.explanation == "6 h booked this week at weight 2, the lowest hours per weight among the 2 free"
    )


def test_weights_are_bounded() -> None:
    with pytest.raises(ValueError, match="weight"):
        AssignmentRule(AssignmentMode.WEIGHTED, {TechId("ana"): 0})


def test_hours_are_written_as_people_say_them() -> None:
    assert [hours_text(timedelta(minutes=m)) for m in (0, 90, 360, 20)] == ["0 h", "1.5 h", "6 h", "0.3 h"]


# --- properties ----------------------------------------------------------------------------------

TECHS = [TechId(f"t{i}") for i in range(6)]
modes = st.sampled_from(list(AssignmentMode))


@st.composite
def situations(draw: st.DrawFn) -> tuple[ServiceType, list[Candidate], set[TechId], AssignmentRule]:
    techs = draw(st.lists(st.sampled_from(TECHS), min_size=1, max_size=6, unique=True))
    candidates = [
        Candidate(
            t,
            draw(st.sampled_from(["Ana", "Bo", "ana", "Cy"])),  # same names on purpose: ids break ties
            timedelta(minutes=30 * draw(st.integers(0, 80))),
            draw(st.none() | st.integers(0, 50).map(lambda h: MON + timedelta(hours=h))),
        )
        for t in techs
    ]
    qualified = draw(st.sets(st.sampled_from(TECHS)))
    free = draw(st.sets(st.sampled_from(TECHS)))
    weights = {t: draw(st.integers(1, 3)) for t in techs}
    rule = AssignmentRule(draw(modes), weights)
    service = ServiceType(ServiceTypeId("s"), "Job", timedelta(hours=1), qualified=frozenset(qualified))
    return service, candidates, free, rule


@given(situations())
def test_the_chosen_tech_is_qualified_and_free(
    case: tuple[ServiceType, list[Candidate], set[TechId], AssignmentRule],
) -> None:
    service, candidates, free, rule = case
    chosen = choose_tech(service, candidates, free, rule)
    possible = {c.tech_id for c in candidates} & service.qualified & free
    if not possible:
        assert chosen is None
    else:
        assert chosen is not None and chosen.tech_id in possible


@given(situations(), st.randoms(use_true_random=False))
def test_the_choice_never_depends_on_the_order_techs_were_added(
    case: tuple[ServiceType, list[Candidate], set[TechId], AssignmentRule], rnd: random.Random
) -> None:
    service, candidates, free, rule = case
    shuffled = list(candidates)
    rnd.shuffle(shuffled)
    assert choose_tech(service, shuffled, free, rule) == choose_tech(service, candidates, free, rule)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(1, 3), min_size=2, max_size=5),
    st.lists(st.integers(1, 8), min_size=200, max_size=400),  # job lengths in half hours
    st.sampled_from([AssignmentMode.FEWEST_HOURS, AssignmentMode.WEIGHTED]),
)
def test_over_a_long_run_each_share_of_hours_stays_within_the_bound(
    weights: list[int], jobs: list[int], mode: AssignmentMode
) -> None:
    """Each tech's hours stay within (n - 1) x the longest job of their weighted share, at every step."""
    techs = [TechId(f"t{i}") for i in range(len(weights))]
    rule = AssignmentRule(mode, dict(zip(techs, weights, strict=True)))
    service = ServiceType(ServiceTypeId("s"), "Job", timedelta(hours=1), qualified=frozenset(techs))
    booked = dict.fromkeys(techs, timedelta(0))
    last: dict[TechId, datetime | None] = dict.fromkeys(techs)
    longest = timedelta(minutes=30 * max(jobs))
    for step, halves in enumerate(jobs):
        candidates = [Candidate(t, t, booked[t], last[t]) for t in techs]
        chosen = choose_tech(service, candidates, set(techs), rule)
        assert chosen is not None
        booked[chosen.tech_id] += timedelta(minutes=30 * halves)
        last[chosen.tech_id] = MON + timedelta(minutes=step)
        total = sum(booked.values(), timedelta(0))
        weight_sum = sum(rule.weight_of(t) for t in techs)
        for t in techs:
            share = total * rule.weight_of(t) / weight_sum
            assert abs(booked[t] - share) <= (len(techs) - 1) * longest


@given(st.integers(2, 6), st.integers(10, 60))
def test_strict_rotation_gives_everyone_a_turn(count: int, jobs: int) -> None:
    techs = [TechId(f"t{i}") for i in range(count)]
    rule = AssignmentRule(AssignmentMode.ROTATION)
    service = ServiceType(ServiceTypeId("s"), "Job", timedelta(hours=1), qualified=frozenset(techs))
    last: dict[TechId, datetime | None] = dict.fromkeys(techs)
    turns: Counter[TechId] = Counter()
    for step in range(jobs):
        chosen = choose_tech(
            service, [Candidate(t, t, last_assigned=last[t]) for t in techs], set(techs), rule
        )
        assert chosen is not None
        turns[chosen.tech_id] += 1
        last[chosen.tech_id] = MON + timedelta(minutes=step)
        assert max(turns[t] for t in techs) - min(turns[t] for t in techs) <= 1
