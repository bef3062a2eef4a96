"""The interpreter survives PySide6 builds that drop a reference to None on every void call."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject

from ui._pyside_guard import calls_drop_none, guard_none_refcount


def test_many_void_calls_cannot_use_up_none() -> None:
    guard_none_refcount()
    probe = QObject()
    start = sys.getrefcount(None)
    for _ in range(200_000):  # about what a few minutes of painting a busy board costs
        probe.setObjectName("probe")
    if calls_drop_none():
        assert sys.version_info < (3, 12)
        assert sys.getrefcount(None) > 1 << 59  # pinned: nothing can bring it to zero
    else:
        assert sys.getrefcount(None) >= start - 1000
