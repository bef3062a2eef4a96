"""Settings and the sync engine's single-row lock."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from storage import Database
from storage.repositories import SyncLockRecord
from tests.storage.conftest import T0

MINUTE = timedelta(minutes=1)


def test_settings_put_get_remove(db: Database) -> None:
    with db.unit_of_work() as uow:
        uow.settings.put("health.warning_minutes", "5")
        uow.settings.put("company", "Gulf Air")
        uow.commit()
    with db.unit_of_work() as uow:
        uow.settings.put("health.warning_minutes", "10")
        uow.settings.remove("company")
        uow.settings.remove("company")
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.settings.get("health.warning_minutes") == "10"
        assert uow.settings.get("company") is None
        assert uow.settings.all() == {"health.warning_minutes": "10"}


def _claimant(host: str, pid: int, at_minutes: int) -> SyncLockRecord:
    at = T0 + at_minutes * MINUTE
    return SyncLockRecord(f"sync engine on {host}", pid, host, at, at)


def test_the_sync_lock_has_one_holder_until_it_goes_stale(db: Database) -> None:
    desk, laptop = _claimant("desk", 100, 0), _claimant("laptop", 200, 1)
    with db.unit_of_work() as uow:
        assert uow.sync_lock.current() is None
        assert uow.sync_lock.claim(desk, stale_before=T0 - 5 * MINUTE)
        uow.commit()
    with db.unit_of_work() as uow:
        assert not uow.sync_lock.claim(laptop, stale_before=T0 - 4 * MINUTE)
        assert uow.sync_lock.heartbeat("desk", 100, T0 + 2 * MINUTE)
        assert not uow.sync_lock.heartbeat("laptop", 200, T0 + 2 * MINUTE)
        uow.commit()
    with db.unit_of_work() as uow:
        current = uow.sync_lock.current()
        assert current is not None and current.host == "desk" and current.heartbeat_at == T0 + 2 * MINUTE
        assert uow.sync_lock.claim(desk, stale_before=T0)  # our own lock: renewed
        assert uow.sync_lock.claim(laptop, stale_before=T0 + 10 * MINUTE)  # desk went quiet
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.sync_lock.current() == laptop
        uow.sync_lock.release("desk", 100)  # not ours any more: no effect
        assert uow.sync_lock.current() == laptop
        uow.sync_lock.release("laptop", 200)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.sync_lock.current() is None


def test_a_claim_waits_for_a_claim_in_flight_and_then_loses(db: Database) -> None:
    desk, laptop = _claimant("desk", 100, 0), _claimant("laptop", 200, 0)
    desk_claimed = threading.Event()

    def desk_engine() -> None:
        with db.unit_of_work() as uow:
            assert uow.sync_lock.claim(desk, stale_before=T0 - MINUTE)
            desk_claimed.set()
            time.sleep(0.2)
            uow.commit()

    worker = threading.Thread(target=desk_engine)
    worker.start()
    assert desk_claimed.wait(5)
    with db.unit_of_work() as uow:
        assert not uow.sync_lock.claim(laptop, stale_before=T0 - MINUTE)
    worker.join(5)
    with db.unit_of_work() as uow:
        assert uow.sync_lock.current() == desk
