"""The desktop app: the dispatch board and its dialogs (PySide6).

Importing the package first protects the interpreter from a PySide6 reference-counting fault
(see `ui._pyside_guard`), so every screen, test and tool that uses Qt through `ui` is covered.
"""

from __future__ import annotations

from ui._pyside_guard import guard_none_refcount

guard_none_refcount()
