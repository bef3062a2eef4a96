"""The bundle's entry point: the `crewboard` command, the desktop app when given no command.

Two options exist only here: `--check-webengine` (see webengine_check.py), a bundle's own check
that its QtWebEngine renders, for `make package-test` and for support; and `--radicale ARGS`, the
demo's CalDAV server (sync.sandbox.radicale), which an installed Crewboard runs as
`python -m radicale` but a bundle, having no `-m`, runs through its own executable.
"""

from __future__ import annotations

import sys

from app.cli.main import main

if __name__ == "__main__":
    if sys.argv[1:] == ["--check-webengine"]:
        from webengine_check import check_webengine

        sys.exit(check_webengine())
    if sys.argv[1:2] == ["--radicale"]:
        from radicale.__main__ import run

        sys.argv = ["radicale", *sys.argv[2:]]
        run()
        sys.exit(0)
    sys.exit(main())
