"""Manual time off: a dispatcher blocks a tech for a whole day or a span, like a calendar event."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from app.bus import Bus, BusyChanged
from app.domain.ids import TimeOffId, new_id
from app.domain.model import AuditEntry, TimeOff
from app.domain.time import Clock, ensure_utc
from app.errors import InvalidInput, NotFound
from app.services.ports import UnitOfWorkFactory
from app.services.techs import find_tech
from app.services.text import typed_line


class TimeOffService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, bus: Bus) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._bus = bus

    def add_days(self, tech: str, first_day: date, days: int = 1, reason: str = "") -> TimeOff:
        """Block whole local days in the tech's own zone (`days` counted from `first_day`)."""
        if days < 1:
            raise InvalidInput("Time off needs at least one day.")
        return self._add(tech, reason, first_day=first_day, end_day=first_day + timedelta(days=days))

    def add_span(self, tech: str, start: datetime, end: datetime, reason: str = "") -> TimeOff:
        start, end = ensure_utc(start), ensure_utc(end)
        if end <= start:
            raise InvalidInput("Time off must end after it starts.")
        return self._add(tech, reason, start=start, end=end)

    def _add(self, tech_name: str, reason: str, **when: object) -> TimeOff:
        reason = typed_line(reason, "The reason for time off")  # shown as a title on the board
        with self._uow() as uow:
            tech = find_tech(uow, tech_name)
            item = TimeOff(id=TimeOffId(new_id()), tech_id=tech.id, reason=reason, **when)  # type: ignore[arg-type]
            uow.time_off.add(item)
            uow.audit.record(AuditEntry(self._clock.now(), "timeoff.added", f"{tech.name}: {reason}"))
            uow.commit()
        self._bus.publish(BusyChanged((tech.id,)))
        return item

    def list(self, tech: str | None = None) -> list[TimeOff]:
        """Time off of one tech, or of every tech on the board, earliest first."""
        with self._uow() as uow:
            techs = [find_tech(uow, tech)] if tech is not None else uow.techs.list()
            items = uow.time_off.for_techs([t.id for t in techs]) if techs else []
        return sorted(items, key=_starts)

    def find(self, id_or_prefix: str) -> TimeOff:
        """The time off whose id is `id_or_prefix` or starts with it (8 characters are enough)."""
        wanted = id_or_prefix.strip()
        with self._uow() as uow:
            everyone = uow.techs.list(include_inactive=True)
            items = uow.time_off.for_techs([t.id for t in everyone]) if everyone else []
        matches = [i for i in items if wanted and i.id.startswith(wanted)]
        exact = [i for i in matches if i.id == wanted]
        if exact or len(matches) == 1:
            return (exact or matches)[0]
        if matches:
            raise InvalidInput(f"'{id_or_prefix}' could mean several time off items; type more of the id.")
        raise NotFound(f"No time off with id '{id_or_prefix}'; see 'crewboard timeoff list'.")

    def remove(self, item: TimeOff) -> None:
        with self._uow() as uow:
            uow.time_off.remove(item.id)
            uow.audit.record(AuditEntry(self._clock.now(), "timeoff.removed", f"{item.id}: {item.reason}"))
            uow.commit()
        self._bus.publish(BusyChanged((item.tech_id,)))


def _starts(item: TimeOff) -> datetime:
    """When `item` begins, for ordering: a whole day counts from its midnight in UTC."""
    if item.start is not None:
        return item.start
    assert item.first_day is not None
    return datetime.combine(item.first_day, time(0), tzinfo=UTC)
