"""`python -m app.cli` runs the same entry point as the `crewboard` console script."""

from __future__ import annotations

import sys

from app.cli.main import main

sys.exit(main())
