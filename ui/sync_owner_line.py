"""One line in the health window naming who owns calendar sync for this store.

In an office the desks run no sync of their own: the `crewboard serve` holding the store's sync
lock does. The owner writes its name, host, process id and the time it took over into the store
(app.services.sync_owner); this line reads that on the database worker and says it, so a dispatcher
who wonders why a booking has not reached a calendar sees at once whether a service is running.
"""

from __future__ import annotations

from datetime import tzinfo

from PySide6.QtWidgets import QWidget

from app.services.container import Services
from app.services.sync_owner import SyncOwner, SyncOwnerService
from ui.loading import LatestLoader
from ui.plain import PlainLabel
from ui.worker import DatabaseWorker

NOBODY = (
    "No Crewboard service owns calendar sync right now: bookings are saved, and go to the "
    "calendars once the office service (crewboard serve) runs again."
)


def owner_text(owner: SyncOwner | None, tz: tzinfo, now_text: str) -> str:
    """The line for `owner` with times in `tz`; `now_text` is how "just now" is shown."""
    if owner is None:
        return NOBODY
    since = owner.since.astimezone(tz)
    last_seen = owner.last_seen.astimezone(tz)
    shown = f"{since:%a %d %b %H:%M}"
    return owner.sentence(shown, f"{last_seen:%H:%M}" if owner.quiet else now_text)


class SyncOwnerLineWidget(PlainLabel):
    """The owner's name, host, process id and since when; `refresh()` reads the store again."""

    def __init__(self, services: Services, worker: DatabaseWorker, tz: tzinfo, parent: QWidget) -> None:
        super().__init__("", parent)
        self.setObjectName("syncOwnerLine")
        self.setWordWrap(True)
        self._tz = tz
        self.owner: SyncOwner | None = None
        owners = SyncOwnerService(services.uow, services.clock)
        self._loader = LatestLoader(worker, owners.current, self._on_owner_loaded, 0, self)
        self.refresh()

    def refresh(self) -> None:
        self._loader.load()

    def stop(self) -> None:
        self._loader.stop()

    def _on_owner_loaded(self, owner: SyncOwner | None) -> None:
        self.owner = owner
        self.setText(owner_text(owner, self._tz, "just now"))
        quiet = owner is None or owner.quiet
        self.setProperty("alarm", quiet)
        self.style().unpolish(self)
        self.style().polish(self)
