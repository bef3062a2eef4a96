"""Colour on Outlook: an office setting and a per-tech switch, both off until someone turns them on.

Outlook has no per-event colour; an event takes the colour of its category, and only a category in
the mailbox's master list has one. Adding one to that list needs `MailboxSettings.ReadWrite`, a
permission beyond what sync needs, so a tech's Outlook jobs are coloured only when the office turned
the feature on, the tech's switch is on, and the tech consented (asked at their next Microsoft
sign-in). Crewboard then makes ONE category, CATEGORY_NAME, and never touches the tech's own.
"""

from __future__ import annotations

import json

from app.domain.ids import TechId
from app.domain.time import Clock
from app.services.job_links import rewrite_upcoming_events
from app.services.ports import UnitOfWork, UnitOfWorkFactory
from app.services.service_types import store_settings
from app.services.techs import find_tech

OFFICE_SETTING = "outlook_colour.office"  # "on" / "off"
TECHS_SETTING = "outlook_colour.techs"  # JSON list of tech ids whose switch is on
# JSON list of tech ids whose switch went off: their events drop the category at the next write.
CLEARED_SETTING = "outlook_colour.cleared"
CATEGORY_NAME = "Crewboard jobs"
# Why the extra permission is asked for, in the words the sign-in shows the tech.
CONSENT_REASON = (
    f'Crewboard also asks to change your mailbox settings, only to add one category, "{CATEGORY_NAME}", '
    "to your Outlook categories, so your jobs show in your colour. It does not read or change anything else "
    "there, and never your own categories."
)


def _switched_on(uow: UnitOfWork, setting: str = TECHS_SETTING) -> set[TechId]:
    raw = store_settings(uow).get(setting)
    try:
        ids = json.loads(raw) if raw else []
    except ValueError:
        ids = []
    return {TechId(str(i)) for i in ids} if isinstance(ids, list) else set()


def office_on(uow: UnitOfWork) -> bool:
    return store_settings(uow).get(OFFICE_SETTING) == "on"


def coloured_techs(uow: UnitOfWork) -> frozenset[TechId]:
    """The techs whose Outlook jobs should carry the category (the office's and their switch on)."""
    return frozenset(_switched_on(uow)) if office_on(uow) else frozenset()


def uncoloured_techs(uow: UnitOfWork) -> frozenset[TechId]:
    """Techs who had colour and no longer have it: their job events are written without the
    category. Techs who never asked for colour are not among them, so their events never change."""
    had = _switched_on(uow, CLEARED_SETTING) | _switched_on(uow)
    return frozenset(had - coloured_techs(uow))


class OutlookColourService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def office_enabled(self) -> bool:
        with self._uow(read_only=True) as uow:
            return office_on(uow)

    def tech_enabled(self, name_or_id: str) -> bool:
        with self._uow(read_only=True) as uow:
            return find_tech(uow, name_or_id).id in _switched_on(uow)

    def wanted_for(self, tech_id: TechId) -> bool:
        """Whether `tech_id`'s Outlook jobs should be coloured (so their sign-in asks for consent)."""
        with self._uow(read_only=True) as uow:
            return tech_id in coloured_techs(uow)

    def set_office(self, on: bool) -> None:
        with self._uow() as uow:
            if office_on(uow) != on:
                store_settings(uow).put(OFFICE_SETTING, "on" if on else "off")
                rewrite_upcoming_events(uow, self._clock.now(), _switched_on(uow))
            uow.commit()

    def set_tech(self, name_or_id: str, on: bool) -> None:
        with self._uow() as uow:
            tech = find_tech(uow, name_or_id)
            ids = _switched_on(uow)
            if (tech.id in ids) != on:
                ids = ids | {tech.id} if on else ids - {tech.id}
                cleared = _switched_on(uow, CLEARED_SETTING)
                cleared = cleared - {tech.id} if on else cleared | {tech.id}
                store_settings(uow).put(TECHS_SETTING, json.dumps(sorted(ids)))
                store_settings(uow).put(CLEARED_SETTING, json.dumps(sorted(cleared)))
                rewrite_upcoming_events(uow, self._clock.now(), {tech.id})
            uow.commit()

    def consented(self, tech_id: TechId) -> None:
        """A tech just granted the permission: write their upcoming jobs again, now coloured."""
        with self._uow() as uow:
            rewrite_upcoming_events(uow, self._clock.now(), {tech_id})
            uow.commit()
