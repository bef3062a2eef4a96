"""`crewboard --check-webengine`, in the bundle only: load a page in QtWebEngine and read it back.

The Outlook sign-in runs in a QtWebEngine view, whose Chromium half (QtWebEngineProcess, its
resources and locale pack) must travel inside the bundle. This check starts that machinery the way
the sign-in does and reports in one line whether a page rendered, so `make package-test` (and a
support call) can tell a working bundle from one that would fail only when someone signs in.
"""

from __future__ import annotations

import sys

PAGE = "<html><head><title>crewboard-webengine-ok</title></head><body>ok</body></html>"
TIMEOUT_MS = 60_000


def check_webengine() -> int:
    import shiboken6
    from PySide6.QtCore import QTimer, QUrl, qVersion
    from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    profile = QWebEngineProfile(app)  # off the record, as the sign-in's: nothing kept on disk
    page = QWebEnginePage(profile)
    outcome: dict[str, str] = {}

    def on_title(title: object) -> None:
        outcome["title"] = str(title)
        app.quit()

    def on_loaded(ok: bool) -> None:
        if not ok:
            outcome["error"] = "the page did not load"
            app.quit()
            return
        page.runJavaScript("document.title", 0, on_title)

    def on_timeout() -> None:
        outcome["error"] = f"no page within {TIMEOUT_MS // 1000} s"
        app.quit()

    page.loadFinished.connect(on_loaded)
    QTimer.singleShot(TIMEOUT_MS, on_timeout)
    page.setHtml(PAGE, QUrl("about:blank"))
    app.exec()
    title = outcome.get("title")
    shiboken6.delete(page)  # before the profile goes, as QtWebEngine asks
    if title == "crewboard-webengine-ok":
        print(f"QtWebEngine works: a page rendered (Qt {qVersion()}).")
        return 0
    problem = outcome.get("error") or f"the page read back as {title!r}"
    sys.stderr.write(f"crewboard: QtWebEngine does not work in this bundle: {problem}.\n")
    return 1
