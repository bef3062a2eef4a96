"""One program's writers to a SQLite file queue for their turn instead of racing SQLite's lock.

SQLite's busy handler polls; with many of one program's threads writing at once, the unlucky ones
ran out their busy timeout and failed ("the database is locked") although every writer was making
progress. The busy timeout here is made short so that racing fails at once; queued writers all
get through, each seeing the one before it.
"""

from __future__ import annotations

import threading
from pathlib import Path

from storage import open_database

WRITERS = 16
ROWS_EACH = 30  # enough work inside each transaction that writers overlap


def test_many_writers_of_one_program_all_get_through_in_turn(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'crewboard.db'}", busy_timeout_ms=20)
    start = threading.Barrier(WRITERS)
    failures: list[BaseException] = []

    def write(index: int) -> None:
        start.wait()
        try:
            with database() as uow:
                count = int(uow.settings.get("test.count") or "0")
                for row in range(ROWS_EACH):
                    uow.settings.put(f"test.writer{index}.{row}", str(row))
                uow.settings.put("test.count", str(count + 1))
                uow.commit()
        except BaseException as error:  # collected and asserted below
            failures.append(error)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        with database(read_only=True) as uow:
            assert uow.settings.get("test.count") == str(WRITERS)  # nobody's update lost
    finally:
        database.dispose()
