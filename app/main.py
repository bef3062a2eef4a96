"""The desktop composition root: open the store, build the use cases, start the window.

Imports of Qt and the store happen inside `open_app`, so the command line stays fast when it
only prints help or runs a headless command.
"""

from __future__ import annotations


def open_app(db_url: str | None) -> int:
    """Open the database named by `db_url` (or the default) and run the dispatch board until it closes."""
    from app.composition import open_services
    from app.logs import configure_logging, log_file

    configure_logging()
    from ui.app import run_app  # after logging is set up: importing ui may log a warning

    with open_services(db_url) as services:
        return run_app(services, log_path=str(log_file()))
