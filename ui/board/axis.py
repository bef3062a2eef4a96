"""The board's time axis: office-local days side by side, each from a first to a last minute."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo

from app.domain.time import Interval, local_midnight

SNAP = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class TimeAxis:
    """Maps instants to x positions: `days` columns of office-local time, each from first to last minute."""

    first_day: date
    days: int
    office: tzinfo
    first_minute: int
    last_minute: int
    day_width: float
    # Local seconds at an instant are its UTC seconds plus one offset when the office's clock does
    # not change inside the shown days (DST never changes twice in a week): then x_for skips tzinfo.
    _offset: float | None = field(init=False, compare=False, repr=False, default=None)
    _origin: float = field(init=False, compare=False, repr=False, default=0.0)

    def __post_init__(self) -> None:
        start, end = self.window.start.astimezone(self.office), self.window.end.astimezone(self.office)
        first, last = start.utcoffset(), end.utcoffset()
        if first is not None and first == last:
            object.__setattr__(self, "_offset", first.total_seconds())
            midnight = datetime.combine(self.first_day, datetime.min.time(), UTC)
            object.__setattr__(self, "_origin", midnight.timestamp())

    @property
    def width(self) -> float:
        return self.days * self.day_width

    @property
    def minute_width(self) -> float:
        return self.day_width / (self.last_minute - self.first_minute)

    @property
    def window(self) -> Interval:
        return Interval(
            local_midnight(self.first_day, self.office),
            local_midnight(self.first_day + timedelta(days=self.days), self.office),
        )

    def day(self, index: int) -> date:
        return self.first_day + timedelta(days=index)

    @property
    def fixed_offset(self) -> float | None:
        """Seconds to add to an instant's UTC timestamp for its local seconds since the first shown
        day's midnight, when one offset holds all week (else None)."""
        return None if self._offset is None else self._offset - self._origin

    def local_day_minute(self, instant: datetime) -> tuple[int, float]:
        """The office-local day (0 = the first shown) and minute of the day at `instant`."""
        if self._offset is not None:
            seconds = instant.timestamp() + self._offset - self._origin
            index = math.floor(seconds / 86400)
            return index, (seconds - index * 86400) / 60
        local = instant.astimezone(self.office)
        return (local.date() - self.first_day).days, local.hour * 60 + local.minute + local.second / 60

    def x_for(self, instant: datetime) -> float:
        index, minute = self.local_day_minute(instant)
        if index < 0:
            return 0.0
        if index >= self.days:
            return self.width
        frac = (minute - self.first_minute) / (self.last_minute - self.first_minute)
        return index * self.day_width + min(1.0, max(0.0, frac)) * self.day_width

    def instant_at(self, x: float) -> datetime:
        """The UTC instant under x (clamped to the shown days and hours)."""
        x = min(max(x, 0.0), self.width - 0.001)
        index = int(x // self.day_width)
        frac = (x - index * self.day_width) / self.day_width
        minutes = self.first_minute + frac * (self.last_minute - self.first_minute)
        # Same-zone aware arithmetic is wall-clock arithmetic, so DST days land on the right offset.
        midnight = datetime.combine(self.day(index), datetime.min.time()).replace(tzinfo=self.office)
        return (midnight + timedelta(minutes=minutes)).astimezone(UTC)

    def snapped_at(self, x: float) -> datetime:
        return snap(self.instant_at(x))


def snap(instant: datetime, step: timedelta = SNAP) -> datetime:
    """Round to the nearest step (every zone offset in use is a multiple of 15 minutes)."""
    seconds = step.total_seconds()
    stamp = instant.timestamp()
    return datetime.fromtimestamp(round(stamp / seconds) * seconds, UTC)
