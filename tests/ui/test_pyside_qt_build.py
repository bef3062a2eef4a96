"""The installed PySide6 keeps None's reference count: pyproject excludes the build that did not.

PySide6 6.12.0 gave back a borrowed `None` from every wrapped method that returns nothing; on
Python 3.11 None's count then reaches zero after a few minutes of painting and the interpreter
aborts. pyproject's `PySide6!=6.12.0` keeps that build out; this fails if another one has the fault.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject


def test_void_qt_calls_leave_none_alone() -> None:
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(10_000):
        probe.setObjectName("probe")
    assert sys.getrefcount(None) >= before - 1000, "this PySide6 build drops references to None"
