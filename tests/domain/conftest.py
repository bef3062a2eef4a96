"""Keep Hypothesis's example store out of the checkout while the domain tests run.

The project's pytest `norecursedirs` replaces pytest's default ignores, so a `.hypothesis` folder
at the top of the checkout makes the next collection warn, and warnings fail the run. Storing the
examples under the system temporary folder avoids that; `HYPOTHESIS_STORAGE_DIRECTORY` still wins.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis.configuration import set_hypothesis_home_dir

if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "crewboard-hypothesis")
