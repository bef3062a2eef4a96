"""One desk of the office soak, in a process of its own: random dispatch on the office store.

    python -m tests.soak.office_desk URL SEED SECONDS OUT TECH...

Writes what it did to OUT as JSON: the ids of the bookings the store confirmed, and counts of
operations (refusals included: busy time, a stale version, the store gone during a restart).
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path
from typing import cast

from app.domain.model import Provider
from app.errors import CrewboardError
from app.services.container import Services
from storage.database import open_database
from tests.soak.phones import Phone
from tests.soak.runner import Dispatcher, SoakResult, Tech


def main(argv: list[str]) -> int:
    url, seed, seconds, out, *names = argv
    rng = random.Random(int(seed))
    database = open_database(url, desk=f"soak-desk-{int(seed) % 1000}")
    result = SoakResult(seed=int(seed))
    techs = [
        Tech(name, "", Provider.GOOGLE, cast(Phone, None)) for name in names
    ]  # the dispatcher uses names
    dispatcher = Dispatcher(Services.build(database.unit_of_work), techs, rng, result)
    end = time.monotonic() + float(seconds)
    try:
        while time.monotonic() < end:
            try:
                dispatcher.act()
            except CrewboardError as error:  # the store gone while listing: refused, nothing half-done
                result.operations[f"desk refused ({type(error).__name__})"] += 1
            time.sleep(rng.uniform(0.05, 0.3))
    finally:
        Path(out).write_text(
            json.dumps({"created": dispatcher.created, "operations": dict(result.operations)}), "utf-8"
        )
        database.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
