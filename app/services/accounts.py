"""Connecting technicians' calendar accounts, and noticing when a connection stops working.

The sign-in itself (browser, tokens, keyring) belongs to a `CalendarConnector` from sync.providers;
this use case only records what it produced: the account, its calendars (the primary blocks
availability, others are off until the tech turns them on), and its health. Reconnecting the same
account reuses its records, so calendars, links and busy blocks never double up. A dead sign-in
marks the account "needs reconnect", stops its sync and tells the dispatcher once; bookings and
calendar data stay as they are.
"""

from __future__ import annotations

import builtins
import logging
from dataclasses import dataclass, replace

from app.bus import AccountsChanged, Bus, BusyChanged, HealthChanged, NotificationAdded
from app.domain.ids import AccountId, CalendarId, NotificationId, TechId, new_id
from app.domain.model import (
    AccountStatus,
    Audience,
    AuditEntry,
    Calendar,
    CalendarAccount,
    HealthLevel,
    Notification,
    Provider,
    SyncHealth,
    Technician,
)
from app.domain.time import Clock
from app.errors import InvalidInput, NotFound, Refused
from app.services.ports import CalendarConnector, Grant, ReconnectRequired, UnitOfWork, UnitOfWorkFactory
from app.services.techs import find_tech
from app.services.text import one_line

log = logging.getLogger(__name__)

DISPATCHER = "dispatcher"  # the notification recipient standing for whoever runs the board


def provider_label(provider: Provider) -> str:
    """What people call the calendar: "Google", "Outlook" or "CalDAV"."""
    return {Provider.GOOGLE: "Google", Provider.MICROSOFT: "Outlook", Provider.CALDAV: "CalDAV"}[provider]


@dataclass(frozen=True, slots=True)
class AccountView:
    """One connected (or once connected) account with its tech, calendars and health."""

    tech: Technician
    account: CalendarAccount
    calendars: tuple[Calendar, ...]
    health: SyncHealth | None


class AccountService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, bus: Bus) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._bus = bus

    # -- reading ------------------------------------------------------------------------------------

    def list(self) -> list[AccountView]:
        with self._uow() as uow:
            techs = {t.id: t for t in uow.techs.list(include_inactive=True)}
            return [self._view(uow, techs[a.tech_id], a) for a in uow.accounts.list() if a.tech_id in techs]

    def for_tech(self, tech: str) -> builtins.list[AccountView]:
        with self._uow() as uow:
            found = find_tech(uow, tech)
            return [self._view(uow, found, a) for a in uow.accounts.for_tech(found.id)]

    def get(self, account_id: AccountId) -> AccountView:
        with self._uow() as uow:
            account = self._account(uow, account_id)
            tech = uow.techs.get(account.tech_id)
            assert tech is not None  # accounts cascade with their tech
            return self._view(uow, tech, account)

    def syncable(self) -> builtins.list[CalendarAccount]:
        """Accounts the sync engine may work on: connected ones only."""
        with self._uow() as uow:
            return [a for a in uow.accounts.list() if a.status is AccountStatus.CONNECTED]

    def find(self, tech: str, provider: Provider, email: str | None = None) -> CalendarAccount:
        """The tech's live account at `provider` (the one with `email` if they have several)."""
        with self._uow() as uow:
            return self._find(uow, find_tech(uow, tech), provider, email)

    def find_calendar(self, tech: str, key: str) -> Calendar:
        """One of the tech's calendars by id, unique id prefix, remote id or exact name."""
        wanted = key.strip()
        with self._uow() as uow:
            found = find_tech(uow, tech)
            calendars = [c for a in uow.accounts.for_tech(found.id) for c in uow.calendars.for_account(a.id)]
        for match in (
            [c for c in calendars if c.id == wanted or c.remote_id == wanted],
            [c for c in calendars if wanted and c.id.startswith(wanted)],
            [c for c in calendars if c.name.casefold() == wanted.casefold()],
        ):
            if len(match) == 1:
                return match[0]
            if len(match) > 1:
                raise InvalidInput(
                    f"'{key}' matches several of {found.name}'s calendars; give more of the id."
                )
        known = ", ".join(f"{c.id[:8]} ({c.name})" for c in calendars) or "none connected yet"
        raise NotFound(f"{found.name} has no calendar '{key}' (known: {known}).")

    # -- connecting ---------------------------------------------------------------------------------

    def connect(self, tech: str, provider: Provider, connector: CalendarConnector) -> AccountView:
        """Sign the tech in through `connector` and record the account and its calendars."""
        if connector.provider is not provider:
            raise InvalidInput(
                f"A {provider_label(connector.provider)} sign-in cannot connect a {provider_label(provider)} calendar."
            )
        with self._uow() as uow:
            found = find_tech(uow, tech)  # fail before a browser opens for a misspelt name
        grant = connector.authorize()
        return self._record(found.id, provider, grant, connector.endpoint)

    def _record(self, tech_id: TechId, provider: Provider, grant: Grant, endpoint: str | None) -> AccountView:
        now = self._clock.now()
        email = grant.email.strip().lower()
        with self._uow() as uow:
            tech = uow.techs.get(tech_id)
            if tech is None:
                raise NotFound("The technician was removed while signing in; nothing was connected.")
            for other in uow.accounts.list():
                if (
                    other.tech_id != tech.id
                    and other.provider is provider
                    and other.email.lower() == email
                    and other.status is not AccountStatus.DISCONNECTED
                ):
                    holder = uow.techs.get(other.tech_id)
                    raise Refused(
                        f"{email} is already connected for {holder.name if holder else 'another technician'}; "
                        "disconnect it there first."
                    )
            existing = next(
                (
                    a
                    for a in uow.accounts.for_tech(tech.id)
                    if a.provider is provider and a.email.lower() == email
                ),
                None,
            )
            if existing is None:
                account = CalendarAccount(
                    id=AccountId(new_id()),
                    tech_id=tech.id,
                    provider=provider,
                    email=email,
                    token_ref=grant.token_ref,
                    status=AccountStatus.CONNECTED,
                    endpoint=endpoint,
                )
                uow.accounts.add(account)
            else:
                account = replace(
                    existing,
                    token_ref=grant.token_ref,
                    status=AccountStatus.CONNECTED,
                    endpoint=endpoint,
                )
                uow.accounts.update(account)
            self._merge_calendars(uow, account, grant)
            health = uow.health.get(account.id) or SyncHealth(account.id)
            uow.health.put(
                replace(health, failing_since=None, last_error=None, level=HealthLevel.OK, last_success=now)
            )
            verb = "connected" if existing is None else "reconnected"
            uow.audit.record(
                AuditEntry(
                    now,
                    f"account.{verb}",
                    f"{tech.name}: {provider_label(provider)} {email}",
                    account_id=account.id,
                )
            )
            view = self._view(uow, tech, account)
            uow.commit()
        log.info("%s %s calendar %s for %s", verb, provider.value, email, tech.name)
        self._bus.publish(AccountsChanged(tech.id))
        self._bus.publish(HealthChanged(account.id))
        return view

    def _merge_calendars(self, uow: UnitOfWork, account: CalendarAccount, grant: Grant) -> None:
        for remote in grant.calendars:
            # The provider's name for the calendar is remote text: collapsed to one line, not refused.
            remote = replace(remote, name=one_line(remote.name))
            calendar = uow.calendars.by_remote_id(account.id, remote.remote_id)
            if calendar is None:
                uow.calendars.add(
                    Calendar(
                        id=CalendarId(new_id()),
                        account_id=account.id,
                        remote_id=remote.remote_id,
                        name=remote.name,
                        primary=remote.primary,
                        blocks=remote.primary,
                    )
                )
            elif (calendar.name, calendar.primary) != (remote.name, remote.primary):
                # The tech's own blocks choice stays; only what the provider says is refreshed.
                uow.calendars.update(replace(calendar, name=remote.name, primary=remote.primary))

    def check(self, account_id: AccountId, connector: CalendarConnector) -> AccountView:
        """List the account's calendars at the provider now (refreshing its token as needed).

        A dead sign-in marks the account "needs reconnect" instead of raising; a provider that cannot
        be reached raises ProviderUnavailable and changes nothing.
        """
        account = self.get(account_id).account
        if account.status is AccountStatus.DISCONNECTED:
            raise Refused(f"{account.email} is disconnected; connect it again first.")
        try:
            calendars = connector.list_calendars(account)
        except ReconnectRequired as error:
            self.mark_needs_reconnect(account_id, str(error))
            return self.get(account_id)
        grant = Grant(email=account.email, token_ref=account.token_ref, calendars=tuple(calendars))
        return self._record(account.tech_id, account.provider, grant, account.endpoint)

    def mark_needs_reconnect(self, account_id: AccountId, reason: str) -> CalendarAccount:
        """The provider no longer honours the sign-in: stop syncing it, keep its data, tell the dispatcher once."""
        now = self._clock.now()
        notified: NotificationId | None = None
        with self._uow() as uow:
            account = self._account(uow, account_id)
            tech = uow.techs.get(account.tech_id)
            assert tech is not None
            health = uow.health.get(account.id) or SyncHealth(account.id)
            uow.health.put(replace(health, last_error=reason, failing_since=health.failing_since or now))
            if account.status is AccountStatus.CONNECTED:
                account = replace(account, status=AccountStatus.NEEDS_RECONNECT)
                uow.accounts.update(account)
                label = provider_label(account.provider)
                # A subject is an e-mail header: one line, whatever a stored name holds.
                subject = one_line(f"{tech.name}'s {label} calendar needs to be reconnected")
                notification = Notification(
                    id=NotificationId(new_id()),
                    audience=Audience.DISPATCHER,
                    recipient=DISPATCHER,
                    subject=subject,
                    body=(
                        f"{subject}: {reason} Until then Crewboard does not read or write {account.email}; "
                        f"bookings stay on the board. Ask {tech.name} to connect the calendar again."
                    ),
                    created=now,
                    tech_id=tech.id,
                )
                uow.notifications.add(notification)
                notified = notification.id
                uow.audit.record(
                    AuditEntry(
                        now, "account.needs_reconnect", f"{tech.name}: {reason}", account_id=account.id
                    )
                )
            uow.commit()
        if notified is not None:
            log.warning("%s calendar account of %s needs reconnecting", account.provider.value, tech.name)
            self._bus.publish(AccountsChanged(tech.id))
            self._bus.publish(NotificationAdded(notified))
        self._bus.publish(HealthChanged(account.id))
        return account

    def disconnect(
        self, tech: str, provider: Provider, connector: CalendarConnector, email: str | None = None
    ) -> CalendarAccount:
        """Revoke at the provider, delete the tokens, and keep the account's bookings and events."""
        account = self.find(tech, provider, email)
        connector.disconnect(account)
        now = self._clock.now()
        with self._uow() as uow:
            account = replace(self._account(uow, account.id), status=AccountStatus.DISCONNECTED)
            uow.accounts.update(account)
            owner = uow.techs.get(account.tech_id)
            uow.audit.record(
                AuditEntry(
                    now,
                    "account.disconnected",
                    f"{owner.name if owner else account.tech_id}: {provider_label(provider)} {account.email}",
                    account_id=account.id,
                )
            )
            uow.commit()
        self._bus.publish(AccountsChanged(account.tech_id))
        self._bus.publish(BusyChanged((account.tech_id,)))
        return account

    def set_calendar_blocks(self, calendar_id: CalendarId, blocks: bool) -> Calendar:
        """Whether events on this calendar make the tech unavailable."""
        with self._uow() as uow:
            calendar = uow.calendars.get(calendar_id)
            if calendar is None:
                raise NotFound(f"There is no calendar {calendar_id}.")
            account = self._account(uow, calendar.account_id)
            calendar = replace(calendar, blocks=blocks)
            uow.calendars.update(calendar)
            uow.audit.record(
                AuditEntry(
                    self._clock.now(),
                    "calendar.blocks",
                    f"{calendar.name}: {'blocks' if blocks else 'does not block'}",
                    account_id=account.id,
                )
            )
            uow.commit()
        self._bus.publish(AccountsChanged(account.tech_id))
        self._bus.publish(BusyChanged((account.tech_id,)))
        return calendar

    # -- helpers ------------------------------------------------------------------------------------

    def _account(self, uow: UnitOfWork, account_id: AccountId) -> CalendarAccount:
        account = uow.accounts.get(account_id)
        if account is None:
            raise NotFound(f"There is no calendar account {account_id}.")
        return account

    def _find(
        self, uow: UnitOfWork, tech: Technician, provider: Provider, email: str | None
    ) -> CalendarAccount:
        live = [
            a
            for a in uow.accounts.for_tech(tech.id)
            if a.provider is provider
            and a.status is not AccountStatus.DISCONNECTED
            and (email is None or a.email.lower() == email.strip().lower())
        ]
        label = provider_label(provider)
        if not live:
            raise NotFound(f"{tech.name} has no connected {label} calendar.")
        if len(live) > 1:
            emails = ", ".join(a.email for a in live)
            raise InvalidInput(
                f"{tech.name} has several {label} accounts ({emails}); say which with --account."
            )
        return live[0]

    def _view(self, uow: UnitOfWork, tech: Technician, account: CalendarAccount) -> AccountView:
        calendars = sorted(
            uow.calendars.for_account(account.id), key=lambda c: (not c.primary, c.name.lower())
        )
        return AccountView(tech, account, tuple(calendars), uow.health.get(account.id))
