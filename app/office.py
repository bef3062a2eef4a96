"""The office's time zone: the one answer the CLI and the desktop both give.

Reading CREWBOARD_TIMEZONE and the machine's zone is environment access, so it lives here at the
composition level rather than in the pure domain; the desktop passes the name into the UI.
"""

from __future__ import annotations

import os
from datetime import tzinfo

from app.domain.time import zone


def office_zone_name() -> str:
    """The zone of this desk: CREWBOARD_TIMEZONE if set, else the machine's own zone, else UTC."""
    name = os.environ.get("CREWBOARD_TIMEZONE")
    if name:
        zone(name)  # an unknown name is refused with a sentence that says what to write
        return name
    try:
        from tzlocal import get_localzone_name

        local = get_localzone_name()
    except Exception:  # a machine with no zone configured still works, in UTC
        local = None
    return local or "UTC"


def office_zone() -> tzinfo:
    return zone(office_zone_name())
