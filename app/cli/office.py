"""`crewboard office`: the office's settings techs see on their jobs, and colour on Outlook.

    crewboard office [--phone NUMBER] [--outlook-colour on|off] [--json]

Without options it shows them. The number is what job pages show and what a job event says to
call when there is no job page (no `crewboard serve --public-url`); changing it rewrites upcoming
job events. Colour on Outlook is off until turned on here and for each tech
(`crewboard tech edit NAME --outlook-colour on`), because it asks those techs for one more
Microsoft permission at their next sign-in.
"""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.output import emit_json
from app.services.container import Services
from app.services.job_links import OfficeSettingsService
from app.services.outlook_colour import OutlookColourService


def register(sub: Any) -> None:
    """Add `office` to the main parser's subcommands."""
    of = sub.add_parser("office", help="the office's phone number for techs, and colour on Outlook")
    of.add_argument("--phone", metavar="NUMBER", help="the number techs call (empty to remove it)")
    of.add_argument(
        "--outlook-colour",
        choices=["on", "off"],
        help="colour Outlook techs' jobs (each tech opts in with tech edit --outlook-colour)",
    )
    of.add_argument("--json", action="store_true")
    of.set_defaults(run=office)


def office(s: Services, a: argparse.Namespace) -> int:
    settings = OfficeSettingsService(s.uow, s.clock)
    colour = OutlookColourService(s.uow, s.clock)
    if a.phone is not None:
        settings.set_phone(a.phone)
    if a.outlook_colour is not None:
        colour.set_office(a.outlook_colour == "on")
    phone, public_url, on = settings.phone(), settings.public_url(), colour.office_enabled()
    if a.json:
        emit_json({"phone": phone or None, "public_url": public_url, "outlook_colour": on})
        return 0
    print(f"Office number: {phone or 'none (set one with --phone)'}")
    print(
        f"Job pages: {public_url}/job/…"
        if public_url
        else "Job pages: none (crewboard serve --public-url serves them); job events say to call the office"
    )
    print(f"Colour on Outlook: {'on for techs who opted in' if on else 'off'}")
    return 0
