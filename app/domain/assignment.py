"""Round-robin assignment: which qualified, free tech gets a job booked for "any qualified tech".

A pure function over what the caller already knows (who is qualified, who is free for the whole
job, each tech's booked hours in the job's week, when each last got an automatic job), so the
booking page, the desktop's "Assign automatically" and `crewboard book --tech auto` decide alike.

Modes:
- fewest hours (the default): the tech with the fewest booked hours in the job's ISO week; ties go
  to whoever was assigned least recently (never assigned counts as longest ago).
- rotation: strict turns; the free tech assigned least recently, whatever their hours.
- weighted: booked hours divided by the tech's weight, lowest first: at weights 2 and 1 the senior
  tech gets two hours of every three.

Every remaining tie is broken by name and then id, never by the order techs were added or listed.

Fairness bound (checked by a Hypothesis property): when every tech is free for every job and the
caller feeds back the hours it assigned, greedy "lowest hours per weight" keeps each tech's hours
within (n - 1) x the longest job of its share w_i / W of all hours. The chosen tech always had a
ratio at most the weighted average, so it ends at most one job above its share; the deviations sum
to zero, so no tech falls more than the others' excess below it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from fractions import Fraction

from app.domain.ids import TechId
from app.domain.service_types import ServiceType

MOST_WEIGHT = 10


class AssignmentMode(Enum):
    FEWEST_HOURS = "fewest_hours"
    ROTATION = "rotation"
    WEIGHTED = "weighted"


@dataclass(frozen=True, slots=True)
class AssignmentRule:
    """How an office assigns automatically. Weights apply in weighted mode; a tech not named has 1."""

    mode: AssignmentMode = AssignmentMode.FEWEST_HOURS
    weights: Mapping[TechId, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for tech_id, weight in self.weights.items():
            if not 1 <= weight <= MOST_WEIGHT:
                raise ValueError(f"weight of {tech_id} must be 1 to {MOST_WEIGHT}, not {weight}")

    def weight_of(self, tech_id: TechId) -> int:
        return self.weights.get(tech_id, 1) if self.mode is AssignmentMode.WEIGHTED else 1


@dataclass(frozen=True, slots=True)
class Candidate:
    """A tech as assignment sees them: hours booked in the job's week, and their last automatic job."""

    tech_id: TechId
    name: str
    booked: timedelta = timedelta(0)
    last_assigned: datetime | None = None


@dataclass(frozen=True, slots=True)
class Assignment:
    """The chosen tech, and why, in words a dispatcher or the CLI shows as they are."""

    tech_id: TechId
    name: str
    explanation: str


def choose_tech(
    service: ServiceType,
    candidates: Iterable[Candidate],
    free: Collection[TechId],
    rule: AssignmentRule = AssignmentRule(),
) -> Assignment | None:
    """The tech to book for `service` among `candidates` qualified for it and `free` for the job;
    None when nobody is both."""
    pool = {c.tech_id: c for c in candidates if c.tech_id in service.qualified and c.tech_id in free}
    if not pool:
        return None
    eligible = sorted(pool.values(), key=_identity)

    def key(c: Candidate) -> tuple[object, ...]:
        if rule.mode is AssignmentMode.ROTATION:
            return (_recency(c), *_identity(c))
        share = Fraction(int(c.booked.total_seconds()), rule.weight_of(c.tech_id))
        return (share, _recency(c), *_identity(c))

    ordered = sorted(eligible, key=key)
    chosen = ordered[0]
    return Assignment(chosen.tech_id, chosen.name, _explain(chosen, ordered, rule))


def _identity(c: Candidate) -> tuple[str, str]:
    return (c.name.casefold(), c.tech_id)


def _recency(c: Candidate) -> tuple[int, datetime | None]:
    """Never assigned sorts before any time; otherwise the earlier time first."""
    return (0, None) if c.last_assigned is None else (1, c.last_assigned)


def _explain(chosen: Candidate, ordered: list[Candidate], rule: AssignmentRule) -> str:
    count = len(ordered)
    among = "the only qualified tech free" if count == 1 else f"among the {count} free"
    if rule.mode is AssignmentMode.ROTATION:
        when = (
            "never assigned automatically yet"
            if chosen.last_assigned is None
            else f"last assigned {chosen.last_assigned:%Y-%m-%d %H:%M} UTC"
        )
        return f"next in rotation {among} ({when})"
    hours = f"{hours_text(chosen.booked)} booked this week"
    if rule.mode is AssignmentMode.WEIGHTED:
        hours += f" at weight {rule.weight_of(chosen.tech_id)}"
        best = "the lowest hours per weight"
    else:
        best = "fewest"
    if count == 1:
        return f"{hours}, {among}"
    runner_up = ordered[1]
    tied = Fraction(int(runner_up.booked.total_seconds()), rule.weight_of(runner_up.tech_id)) == Fraction(
        int(chosen.booked.total_seconds()), rule.weight_of(chosen.tech_id)
    )
    tail = ""
    if tied:
        longer_ago = _recency(chosen) < _recency(runner_up)
        tail = "; tied, and assigned least recently" if longer_ago else "; tied, and first by name"
    return f"{hours}, {best} {among}{tail}"


def hours_text(span: timedelta) -> str:
    """Hours as people say them: "6 h", "1.5 h", "0 h"."""
    hours = round(span.total_seconds() / 3600, 1)
    return f"{hours:g} h"
