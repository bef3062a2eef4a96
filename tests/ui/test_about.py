"""Help ▸ About Crewboard shows the version, the store and the log, and copies them for support."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QPushButton

from app.about import AboutFacts
from tests.ui.test_screenshots import save, settle
from ui.about import AboutDialog, attach_about

FACTS = AboutFacts(
    version="1.2.3",
    store="/home/dispatch/.local/share/crewboard/crewboard.db",
    log="/home/dispatch/.local/state/crewboard/log/crewboard.log",
    python="CPython 3.11.7",
)


def test_help_menu_opens_about_with_the_three_facts(qtbot, styled_app: QApplication) -> None:  # type: ignore[no-untyped-def]
    window = QMainWindow()
    qtbot.addWidget(window)
    window.menuBar().addMenu("&File")
    action = attach_about(window, FACTS)
    assert [a.text() for a in window.menuBar().actions()] == ["&File", "&Help"]
    window.show()
    action.trigger()
    dialog = window.findChild(AboutDialog)
    assert dialog is not None and dialog.isVisible()
    texts = {label.objectName(): label.text() for label in dialog.findChildren(QLabel)}
    assert texts["aboutStore"] == FACTS.store
    assert texts["aboutLog"] == FACTS.log
    assert "Crewboard 1.2.3" in texts.values()
    settle(styled_app)
    save(dialog, "about.png")
    copy = dialog.findChild(QPushButton, "aboutCopy")
    assert copy is not None
    copy.click()
    assert QApplication.clipboard().text().splitlines() == FACTS.lines()
    dialog.close()


def test_a_second_attach_reuses_the_help_menu(qtbot) -> None:  # type: ignore[no-untyped-def]
    window = QMainWindow()
    qtbot.addWidget(window)
    window.menuBar().addMenu("&Help").addAction("Manual")
    attach_about(window, FACTS)
    menus = [a.menu() for a in window.menuBar().actions()]
    assert len(menus) == 1
    assert [a.text() for a in menus[0].actions()] == ["Manual", "&About Crewboard"]
