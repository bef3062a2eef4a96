"""The Qt message guard itself: warnings are recorded, known platform noise is not."""

from __future__ import annotations

from PySide6.QtCore import QtMsgType, qInstallMessageHandler, qWarning

from tests.ui.conftest import QtMessages


def test_qt_warnings_are_recorded_and_platform_noise_is_ignored() -> None:
    messages = QtMessages()
    previous = qInstallMessageHandler(messages)
    try:
        qWarning("QObject::connect: No such signal Foo::bar()")
        qWarning("This plugin does not support propagateSizeHints()")
    finally:
        qInstallMessageHandler(previous)
    assert messages.problems == [
        f"{QtMsgType.QtWarningMsg.name}: QObject::connect: No such signal Foo::bar()"
    ]
