"""The bundle's entry point: the `crewboard` command, the desktop app when given no command.

One option exists only here: `--check-webengine` (see webengine_check.py), a bundle's own check
that its QtWebEngine renders, for `make package-test` and for support.
"""

from __future__ import annotations

import sys

from app.cli.main import main

if __name__ == "__main__":
    if sys.argv[1:] == ["--check-webengine"]:
        from webengine_check import check_webengine

        sys.exit(check_webengine())
    sys.exit(main())
