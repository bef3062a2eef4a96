"""Zone names as providers write them, mapped to IANA names, and back to Windows names for Graph.

Microsoft names zones the Windows way ("Pacific Standard Time"); Google uses IANA names but a
calendar imported from Outlook can carry Windows ones too. tzlocal ships the CLDR
windowsZones table both ways; the few names Exchange writes that the table lacks are listed here.
"""

from __future__ import annotations

import functools
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import tz_win, win_tz

# Names Exchange and Outlook write that the CLDR table does not carry.
_EXTRA_WINDOWS: dict[str, str] = {
    "Coordinated Universal Time": "UTC",
    "tzone://Microsoft/Utc": "UTC",
    "Etc/GMT": "UTC",
    "Z": "UTC",
}


# Names the zone database answers to that are not zones anyone's calendar lives in.
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})


def _is_iana(name: str) -> bool:
    if name in _NOT_ZONES:
        return False
    if not name or name != name.strip() or "\x00" in name or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError, OSError):
        return False
    return True


# Every event of an Outlook calendar names its zone, mostly by its Windows name, which ZoneInfo
# first fails to find on disk: remembering the answers took this from 7 % of an initial sync to
# nothing. Bounded, since the names come from the provider.
@functools.lru_cache(maxsize=1024)
def iana_zone(name: str) -> str | None:
    """The IANA name for an IANA or Windows zone name, or None when neither table knows it."""
    if name.upper() == "UTC":
        return "UTC"
    if _is_iana(name):
        return name
    mapped = win_tz.get(name) or _EXTRA_WINDOWS.get(name)
    if mapped is None:
        return None
    mapped = str(mapped)
    if mapped == "Etc/UTC":
        return "UTC"
    return mapped if _is_iana(mapped) else None


def windows_zone(iana: str) -> str | None:
    """The Windows name Graph prefers for an IANA zone, or None when Exchange has no equivalent."""
    if iana.upper() == "UTC" or iana == "Etc/UTC":
        return "UTC"
    found = tz_win.get(iana)
    return str(found) if found else None
