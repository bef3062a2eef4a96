"""The first run: what a new user sees on an empty board, and the dialogs its three paths open."""

from __future__ import annotations

from ui.first_run.entry import FirstRun, FirstRunActions, attach_first_run
from ui.first_run.office_dialog import OfficeStoreDialog
from ui.first_run.panel import FirstRunPanel
from ui.first_run.techs_dialog import AddTechniciansDialog

__all__ = [
    "AddTechniciansDialog",
    "FirstRun",
    "FirstRunActions",
    "FirstRunPanel",
    "OfficeStoreDialog",
    "attach_first_run",
]
