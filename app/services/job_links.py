"""Job links: the page a tech opens from a job's calendar event, and what the event says without one.

A job link is `<public URL>/job/<token>`. The token is signed (app.services.signed_tokens) with a
key only the store holds (setting `job.link_key`, made on first use) and names one booking, the
tech it was made for and when it stops working: a day after the job ends. It grants reading that
one job and nothing else; the customer's details are shown only through a token that verifies.
When the job moves to another tech, that tech's event gets a token naming them, and the old link
only says the job was reassigned.

Where no office service has a public address (setting `office.public_url`, written by
`crewboard serve --public-url`), there is no page a phone could open, so the event says "Call the
office at <number>" (setting `office.phone`) instead of a link that opens nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import Enum

from app.domain.ids import BookingId, TechId
from app.domain.model import REWRITE_BOOKING_VERSION, Booking, BookingStatus, Customer, Technician
from app.domain.time import Clock
from app.errors import InvalidInput
from app.services import signed_tokens
from app.services.ports import UnitOfWork, UnitOfWorkFactory
from app.services.service_types import Settings, store_settings
from app.services.sync_queue import changed_row

KEY_SETTING = "job.link_key"
PUBLIC_URL_SETTING = "office.public_url"
PHONE_SETTING = "office.phone"
_PURPOSE = "crewboard-job-page:"
# A link works until a day after its job ends: long enough to look up the address again or call
# the customer back about the visit, short enough that an old link does not keep a home address.
VALID_AFTER_END = timedelta(days=1)
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class JobLinkSetup:
    """What a job event needs to point somewhere: the public address (None: no page), the office's
    number, and the key job tokens are signed with. Never logged (the key)."""

    public_url: str | None
    office_phone: str
    key: bytes

    def url_for(self, booking: Booking, tech: Technician) -> str | None:
        """The job page of `booking` for `tech`, or None without a public address or a time."""
        if self.public_url is None or booking.end is None:
            return None
        return f"{self.public_url.rstrip('/')}/job/{job_token(self.key, booking, tech.id)}"


def job_token(key: bytes, booking: Booking, tech_id: TechId) -> str:
    """The token of `booking`'s page for `tech_id`, good until a day after the job ends."""
    assert booking.end is not None, "a job without a time has no calendar event, so no link"
    expires = int((booking.end + VALID_AFTER_END).timestamp())
    return signed_tokens.sign(key, _PURPOSE, f"{booking.id}.{tech_id}.{expires}")


@dataclass(frozen=True, slots=True)
class TokenClaim:
    booking_id: BookingId
    tech_id: TechId
    expires: datetime


def read_token(key: bytes, token: str) -> TokenClaim | None:
    """What a job token names, when it verifies under `key`; None for anything forged or altered."""
    payload = signed_tokens.verified(key, _PURPOSE, token)
    if payload is None:
        return None
    parts = payload.split(".")
    if len(parts) != 3:
        return None
    booking, tech, expires = parts
    if not (_is_id(booking) and _is_id(tech) and expires.isdigit() and len(expires) <= 12):
        return None
    return TokenClaim(BookingId(booking), TechId(tech), datetime.fromtimestamp(int(expires), UTC))


def _is_id(text: str) -> bool:
    return len(text) == 32 and set(text) <= _HEX


# --- the settings ---------------------------------------------------------------------------


def _key(settings: Settings) -> bytes | None:
    stored = settings.get(KEY_SETTING)
    return bytes.fromhex(stored) if stored else None


def link_setup(uow: UnitOfWork) -> JobLinkSetup:
    """The store's job link settings, making the signing key once (commits with `uow`)."""
    settings = store_settings(uow)
    key = _key(settings)
    if key is None:
        key = signed_tokens.new_key()
        settings.put(KEY_SETTING, key.hex())
    url = (settings.get(PUBLIC_URL_SETTING) or "").strip() or None
    return JobLinkSetup(url, (settings.get(PHONE_SETTING) or "").strip(), key)


def needs_setup(uow: UnitOfWork) -> bool:
    """Whether `link_setup` would write (the key is not made yet): a read-only look first."""
    return _key(store_settings(uow)) is None


def publish_address(uow: UnitOfWork, public_url: str | None, now: datetime) -> bool:
    """Record where the office service can be reached from a phone (None: nowhere).

    When that changes, every upcoming job's event is written again, so its link opens the page
    where it is served now (or says "Call the office" instead). True when it changed.
    """
    settings = store_settings(uow)
    before = (settings.get(PUBLIC_URL_SETTING) or "").strip() or None
    after = public_url.strip().rstrip("/") if public_url else None
    if before == after:
        return False
    settings.put(PUBLIC_URL_SETTING, after or "")
    rewrite_upcoming_events(uow, now)
    return True


def rewrite_upcoming_events(uow: UnitOfWork, now: datetime, techs: Iterable[TechId] | None = None) -> int:
    """Have the events of every job not yet over (of `techs`, or of everyone) written again.

    What an event says beyond the booking itself (its link, the office's number, its Outlook
    category) is not part of the booking's version, so the link is marked for a rewrite and a
    sync row queued, as deciding a conflict does. Returns how many events will be rewritten.
    """
    wanted = set(techs) if techs is not None else None
    count = 0
    for booking in uow.bookings.list(live_only=True):
        if booking.tech_id is None or booking.end is None or booking.end <= now:
            continue
        if wanted is not None and booking.tech_id not in wanted:
            continue
        link = uow.links.for_booking(booking.id)
        if link is None:
            continue  # no event yet: the one written will say the new thing anyway
        uow.links.put(replace(link, booking_version=REWRITE_BOOKING_VERSION))
        if not uow.outbox.for_booking(booking.id):
            uow.outbox.add(changed_row(booking.id, booking.tech_id, now))
        count += 1
    return count


# --- the page -------------------------------------------------------------------------------


class Refusal(Enum):
    """Why a job link shows no job."""

    INVALID = "invalid"  # forged, altered, cut short, or its job is gone
    EXPIRED = "expired"
    REASSIGNED = "reassigned"
    CANCELLED = "cancelled"


class JobLinkRefused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal


@dataclass(frozen=True, slots=True)
class JobView:
    """What the job page shows: only ever built from a token that verified."""

    booking: Booking
    customer: Customer
    tech: Technician
    office_phone: str


class JobPageService:
    """Reads one job through its link, for the page a tech opens on the phone."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def office_phone(self) -> str:
        with self._uow(read_only=True) as uow:
            return (store_settings(uow).get(PHONE_SETTING) or "").strip()

    def job(self, token: str) -> JobView:
        """The job `token` names, or JobLinkRefused saying why not (and nothing about the job)."""
        with self._uow(read_only=True) as uow:
            key = _key(store_settings(uow))
            claim = read_token(key, token) if key is not None else None
            if claim is None:
                raise JobLinkRefused(Refusal.INVALID)
            booking = uow.bookings.get(claim.booking_id)
            if booking is None:
                raise JobLinkRefused(Refusal.INVALID)
            now = self._clock.now()
            ends = booking.end + VALID_AFTER_END if booking.end is not None else claim.expires
            if now >= min(claim.expires, ends):
                raise JobLinkRefused(Refusal.EXPIRED)
            if booking.tech_id != claim.tech_id:
                raise JobLinkRefused(Refusal.REASSIGNED)
            if booking.status is BookingStatus.CANCELLED:
                raise JobLinkRefused(Refusal.CANCELLED)  # a completed job still shows, until it expires
            customer = uow.customers.get(booking.customer_id)
            tech = uow.techs.get(claim.tech_id)
            if customer is None or tech is None:
                raise JobLinkRefused(Refusal.INVALID)
            phone = (store_settings(uow).get(PHONE_SETTING) or "").strip()
            return JobView(booking, customer, tech, phone)


# --- office settings --------------------------------------------------------------------------

_PHONE_CHARS = frozenset("0123456789+().- ")


class OfficeSettingsService:
    """The office's number, shown to techs on their jobs (and on events without a job page)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def phone(self) -> str:
        with self._uow(read_only=True) as uow:
            return (store_settings(uow).get(PHONE_SETTING) or "").strip()

    def public_url(self) -> str | None:
        """Where `crewboard serve` last said job pages are served (None: nowhere)."""
        with self._uow(read_only=True) as uow:
            return (store_settings(uow).get(PUBLIC_URL_SETTING) or "").strip() or None

    def set_phone(self, number: str) -> None:
        text = " ".join(number.split())
        if text and (not set(text) <= _PHONE_CHARS or sum(c.isdigit() for c in text) < 3 or len(text) > 40):
            raise InvalidInput(f"'{number}' is not a phone number; write digits, spaces, + ( ) - or . only.")
        with self._uow() as uow:
            settings = store_settings(uow)
            if (settings.get(PHONE_SETTING) or "") != text:
                settings.put(PHONE_SETTING, text)
                rewrite_upcoming_events(uow, self._clock.now())
            uow.commit()
