"""The desktop app: the dispatch board and its dialogs (PySide6)."""
