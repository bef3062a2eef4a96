"""Figures: the scale rows at 1,000 techs × 2 calendars (issue 17), as `scale` measures them at 200.

A group of its own because it takes about ten minutes: seeding 456,000 events, connecting 1,000
accounts through their sign-in pages, two initial syncs and five quiet rounds.
"""

from __future__ import annotations

import sys

from tests.bench.scale import run

TECHS = 1000

if __name__ == "__main__":
    run(sys.argv[1] if len(sys.argv) > 1 else None, TECHS)
    sys.exit(0)
