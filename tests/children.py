"""The PYTHONPATH for Crewboard child processes that tests and the soak start.

The checkout comes first, and whatever the run itself was given stays after it: `make test-dates`
passes a folder there whose sitecustomize keeps time.sleep working under libfaketime, and a child
that lost it would fail its first sleep.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the checkout


def child_python_path() -> str:
    inherited = os.environ.get("PYTHONPATH", "")
    return os.pathsep.join(part for part in (str(ROOT), inherited) if part)
