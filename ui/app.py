"""Starting the desktop app: the QApplication, the qasync event loop and the main window.

This is the one ui module that imports qasync: the sync engine's coroutines will share this loop.
"""

from __future__ import annotations

import asyncio
import sys

from PySide6.QtWidgets import QApplication

from app.services.container import Services
from ui.main_window import MainWindow
from ui.style import apply_style
from ui.worker import set_log_path


def run_app(
    services: Services,
    title_suffix: str = "",
    office_zone: str | None = None,
    log_path: str | None = None,
) -> int:
    """Show the dispatch board over `services` and run the event loop until the window closes."""
    import qasync

    set_log_path(log_path)
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("Crewboard")
    app.setOrganizationName("Crewboard")
    apply_style(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    closed = asyncio.Event()
    window = MainWindow(services, office_zone=office_zone, title_suffix=title_suffix)
    window.closed.connect(closed.set)
    window.resize(1440, 860)
    window.show()
    try:
        with loop:
            loop.run_until_complete(closed.wait())
    finally:
        asyncio.set_event_loop(None)
    return 0
