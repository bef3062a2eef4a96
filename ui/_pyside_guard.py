"""A guard against a reference-counting fault in some PySide6 builds on Python 3.11.

PySide6 6.12.0 gives back a borrowed `None` from every wrapped C++ method that returns nothing,
so each such call takes one reference from `None`. On Python 3.12 and later `None` is immortal and
nothing happens; on 3.11 its count reaches zero after some hundred thousand calls (a few minutes of
painting a busy board) and the interpreter aborts with "deallocating None". When, and only when,
the fault is measured here, `None` is given a reference count no program can use up, which is what
Python 3.12 does for every interpreter.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

_PINNED = 1 << 60
_guarded = False


def calls_drop_none() -> bool:
    """Measure the fault: do void Qt calls take references from None?"""
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(64):
        probe.setObjectName("probe")
    return sys.getrefcount(None) < before - 32


def guard_none_refcount() -> bool:
    """Pin None's reference count if this PySide6 build drops it; True when the guard was needed."""
    global _guarded
    if _guarded or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return _guarded
    if not calls_drop_none():
        return False
    # ob_refcnt is the first field of every CPython object (a Py_ssize_t).
    ctypes.c_ssize_t.from_address(id(None)).value += _PINNED
    _guarded = True
    import PySide6

    log.warning(
        "PySide6 %s drops a reference to None on calls that return nothing; None is pinned so the "
        "app cannot crash. Python 3.12 or a fixed PySide6 makes this unnecessary.",
        PySide6.__version__,
    )
    return True
