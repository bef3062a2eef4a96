"""Who owns calendar sync, as every desk reads it from the store (on SQLite and on PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from app.domain.time import FixedClock
from app.services.container import Services
from app.services.sync_owner import QUIET_AFTER, SyncOwner, SyncOwnerService
from sync.engine.lock import EngineLock


def test_the_owner_is_named_since_it_took_over_and_quiet_when_not_heard_from(
    services: Services, clock: FixedClock
) -> None:
    owners = SyncOwnerService(services.uow, clock)
    assert owners.current() is None
    lock = EngineLock(services.uow, clock, "crewboard serve", pid=4242, host="office-pc")
    lock.acquire()
    took_over = clock.now()
    assert owners.current() == SyncOwner(
        "crewboard serve (pid 4242 on host office-pc)", "office-pc", 4242, took_over, took_over, quiet=False
    )

    clock.current = took_over + QUIET_AFTER
    lock.beat()  # a heartbeat: heard from, still since the takeover
    heard = owners.current()
    assert (
        heard is not None and heard.since == took_over and heard.last_seen == clock.now() and not heard.quiet
    )

    clock.current += QUIET_AFTER + timedelta(seconds=1)
    quiet = owners.current()
    assert quiet is not None and quiet.quiet
    assert quiet.sentence("Mon 08:00", "Mon 08:01") == (
        "Calendar sync is owned by crewboard serve (pid 4242 on host office-pc) since Mon 08:00; "
        "not heard from since Mon 08:01, so it may be gone."
    )
    lock.release()
    assert owners.current() is None
