"""The calendar-account commands: connect, disconnect, accounts, calendars.

`connect` runs the provider's real sign-in: the system browser and a loopback redirect, or for
Outlook a device code. Against the sandbox, `--approve-as EMAIL` plays the person at the consent
page (it fetches the page, picks the account and allows), so the whole exchange still happens.
Tokens go to the OS keyring only; nothing here prints or logs one.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import webbrowser
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.cli.output import emit_json, emit_table
from app.domain.model import CalendarAccount, Provider
from app.errors import InvalidInput
from app.services.accounts import AccountService, AccountView, provider_label
from app.services.container import Services
from app.services.outlook_colour import CONSENT_REASON, OutlookColourService
from app.services.ports import CalendarConnector

if TYPE_CHECKING:
    from sync.providers.secrets import TokenStore
    from sync.token_handover import HandoverTokenStore


def register(sub: Any) -> None:
    """Add the account commands to the main parser's subcommands."""
    providers = [p.value for p in Provider]

    cn = sub.add_parser("connect", help="connect a technician's Google, Outlook or CalDAV (iCloud) calendar")
    cn.add_argument("tech", help="technician name")
    cn.add_argument("--provider", required=True, choices=providers)
    cn.add_argument(
        "--sandbox", metavar="CONTROL_URL", help="sign in to the local sandbox at this control URL"
    )
    cn.add_argument(
        "--approve-as",
        metavar="EMAIL",
        help="with --sandbox: complete the sandbox consent page as this account instead of opening a browser",
    )
    cn.add_argument("--device-code", action="store_true", help="Outlook: sign in with a code on any device")
    cn.add_argument("--url", metavar="URL", help="CalDAV: the server, e.g. https://caldav.icloud.com")
    cn.add_argument("--username", metavar="NAME", help="CalDAV: the user name (iCloud: the Apple ID)")
    cn.add_argument(
        "--password-stdin",
        action="store_true",
        help="CalDAV: read the app-specific password from standard input (it is kept in the keyring only)",
    )
    cn.add_argument("--json", action="store_true")
    cn.set_defaults(run=connect)

    dc = sub.add_parser(
        "disconnect", help="disconnect a calendar (revokes access; keeps bookings and events)"
    )
    dc.add_argument("tech")
    dc.add_argument("--provider", required=True, choices=providers)
    dc.add_argument(
        "--account", metavar="EMAIL", help="which account, if the tech has several at the provider"
    )
    dc.set_defaults(run=disconnect)

    ac = sub.add_parser("accounts", help="list connected calendar accounts")
    ac.add_argument(
        "--check", action="store_true", help="ask each provider now whether the sign-in still works"
    )
    ac.add_argument("--json", action="store_true")
    ac.set_defaults(run=accounts)

    cl = sub.add_parser("calendars", help="list a technician's calendars, or choose which block their time")
    cl.add_argument("tech")
    cl.add_argument(
        "--set", dest="calendar", metavar="CALENDAR_ID", help="calendar id (first 8 characters do)"
    )
    cl.add_argument("--blocks", choices=["yes", "no"], help="with --set: whether its events block time")
    cl.add_argument("--json", action="store_true")
    cl.set_defaults(run=calendars)


def _service(s: Services) -> AccountService:
    return AccountService(s.uow, s.clock, s.bus)


def _say(text: str) -> None:
    """Progress for people, on stderr, so --json output stays clean."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _open_browser(url: str) -> bool:
    _say(f"Opening your browser to sign in. If it does not open, visit:\n  {url}")
    return webbrowser.open(url)


def build_connector(
    provider: Provider,
    sandbox: str | None = None,
    approve_as: str | None = None,
    device_code: bool = False,
    caldav: CaldavSignIn | None = None,
    extra_scopes: tuple[str, ...] = (),
    store: TokenStore | None = None,
) -> CalendarConnector:
    """The sign-in for `provider`: real client ids from settings, or the sandbox's endpoints."""
    from sync.providers import config
    from sync.providers.caldav_auth import CaldavConnector
    from sync.providers.endpoints import read_endpoints
    from sync.providers.google_auth import GoogleConnector
    from sync.providers.microsoft_auth import MicrosoftConnector
    from sync.sandbox.approver import SandboxApprover  # --approve-as: the sandbox's sign-in wiring

    if provider is Provider.CALDAV:
        if sandbox or approve_as or device_code:
            raise InvalidInput("CalDAV connects with --url, --username and --password-stdin only.")
        if caldav is None:
            return CaldavConnector(store=store)
        return CaldavConnector(caldav.url, caldav.username, caldav.password, store)
    if caldav is not None:
        raise InvalidInput("--url, --username and --password-stdin are for --provider caldav.")
    if approve_as and not sandbox:
        raise InvalidInput("--approve-as only works with --sandbox; real accounts sign in in the browser.")
    if device_code and provider is Provider.GOOGLE:
        raise InvalidInput(
            "Google does not allow calendar access through a device code; connect without --device-code."
        )
    endpoints = read_endpoints(sandbox) if sandbox else None
    approver = SandboxApprover(approve_as, endpoints.ca if endpoints else None) if approve_as else None
    browser = approver or _open_browser

    def show_device_code(flow: Mapping[str, Any]) -> None:
        _say(
            str(
                flow.get("message")
                or f"Open {flow.get('verification_uri')} and enter {flow.get('user_code')}"
            )
        )
        if approver is not None:
            approver.device(str(flow["verification_uri"]), str(flow["user_code"]))

    if provider is Provider.GOOGLE:
        google = endpoints.google_settings() if endpoints else config.google_settings()
        return GoogleConnector(google, store, browser=browser, login_hint=approve_as)
    microsoft = endpoints.microsoft_settings() if endpoints else config.microsoft_settings()
    return MicrosoftConnector(
        microsoft,
        store,
        browser=browser,
        use_device_code=device_code,
        show_device_code=show_device_code,
        login_hint=approve_as,
        extra_scopes=extra_scopes,
    )


def _colour_scopes(provider: Provider, wanted: bool) -> tuple[str, ...]:
    """The extra permission colour on Outlook needs, said why before the sign-in asks for it."""
    if provider is not Provider.MICROSOFT or not wanted:
        return ()
    from sync.providers.microsoft_auth import COLOUR_SCOPE

    _say(CONSENT_REASON)
    return (COLOUR_SCOPE,)


def _granted_colour(connector: CalendarConnector, account: CalendarAccount) -> bool:
    from sync.providers.microsoft_auth import COLOUR_SCOPE, MicrosoftConnector

    return isinstance(connector, MicrosoftConnector) and connector.has_scope(account, COLOUR_SCOPE)


def connector_for(account: CalendarAccount) -> CalendarConnector:
    """The sign-in an existing account was made with (the sandbox's, if it lives there)."""
    return build_connector(account.provider, sandbox=account.endpoint)


def view_json(view: AccountView) -> dict[str, Any]:
    return {
        "tech": view.tech.name,
        "provider": view.account.provider.value,
        "account": view.account.email,
        "status": view.account.status.value,
        "last_error": view.health.last_error if view.health else None,
        "calendars": [
            {"id": c.id, "remote_id": c.remote_id, "name": c.name, "primary": c.primary, "blocks": c.blocks}
            for c in view.calendars
        ],
    }


@dataclass(frozen=True, slots=True)
class CaldavSignIn:
    """What `connect --provider caldav` was given: server, user name and app-specific password."""

    url: str
    username: str
    password: str = field(repr=False)


def _caldav_sign_in(a: argparse.Namespace) -> CaldavSignIn | None:
    """The CalDAV options, checked; the password comes from stdin, never from the command line."""
    given = a.url is not None or a.username is not None or a.password_stdin
    if Provider(a.provider) is not Provider.CALDAV:
        return CaldavSignIn("", "", "") if given else None
    if not a.url or not a.username or not a.password_stdin:
        raise InvalidInput(
            "Connecting a CalDAV calendar needs --url, --username and --password-stdin "
            "(pipe in the app-specific password)."
        )
    if sys.stdin.isatty():
        password = getpass.getpass("App-specific password: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise InvalidInput("No password arrived on standard input; pipe in the app-specific password.")
    return CaldavSignIn(a.url, a.username, password)


def connect(s: Services, a: argparse.Namespace) -> int:
    provider = Provider(a.provider)
    service = _service(s)
    tech = s.techs.find(a.tech)
    colour = OutlookColourService(s.uow, s.clock)
    extra = _colour_scopes(provider, colour.wanted_for(tech.id))
    handover = _office_handover(s, a)
    connector = build_connector(
        provider,
        a.sandbox,
        a.approve_as,
        a.device_code,
        _caldav_sign_in(a),
        extra_scopes=extra,
        store=handover,
    )
    try:
        view = service.connect(tech.name, provider, connector)
        coloured = bool(extra) and _granted_colour(connector, view.account)
    finally:
        connector.close()
    if coloured:
        colour.consented(tech.id)
        _say(f"Outlook colour: {view.tech.name}'s jobs will show in their colour.")
    elif extra:
        _say(
            f"Outlook colour: not allowed at this sign-in, so {view.tech.name}'s jobs keep the calendar's colour."
        )
    if handover is not None:
        for key in handover.sealed_to:
            _say(
                f"Handed the sign-in to the office service, sealed to its key {key.fingerprint} "
                f"({key.holder}); it takes it into its keyring within seconds."
            )
    if a.json:
        emit_json(view_json(view))
        return 0
    blocking = ", ".join(c.name for c in view.calendars if c.blocks) or "none"
    print(
        f"Connected {view.tech.name}'s {provider_label(provider)} calendar {view.account.email} "
        f"({len(view.calendars)} calendar(s); blocking time: {blocking})."
    )
    return 0


def _office_handover(s: Services, a: argparse.Namespace) -> HandoverTokenStore | None:
    """On an office store the token goes to the service, sealed; elsewhere to this machine's keyring."""
    from app.composition import is_office_store
    from sync.token_handover import HandoverTokenStore

    if not is_office_store(getattr(a, "db", None)):
        return None
    return HandoverTokenStore(s.uow, s.clock)


def disconnect(s: Services, a: argparse.Namespace) -> int:
    provider = Provider(a.provider)
    service = _service(s)
    account = service.find(a.tech, provider, a.account)
    connector = connector_for(account)
    try:
        done = service.disconnect(a.tech, provider, connector, a.account)
    finally:
        connector.close()
    print(
        f"Disconnected {provider_label(provider)} calendar {done.email}; its bookings and events stay on the board."
    )
    return 0


def accounts(s: Services, a: argparse.Namespace) -> int:
    service = _service(s)
    views = service.list()
    if a.check:
        from app.domain.model import AccountStatus

        checked = []
        for view in views:
            if view.account.status is not AccountStatus.DISCONNECTED:
                connector = connector_for(view.account)
                try:
                    view = service.check(view.account.id, connector)
                finally:
                    connector.close()
            checked.append(view)
        views = checked
    if a.json:
        emit_json([view_json(v) for v in views])
    elif not views:
        print("No calendars connected yet; connect one with 'crewboard connect TECH --provider google'.")
    else:
        emit_table(
            [
                [
                    v.tech.name,
                    provider_label(v.account.provider),
                    v.account.email,
                    v.account.status.value,
                    str(len(v.calendars)),
                ]
                for v in views
            ],
            ["TECH", "PROVIDER", "ACCOUNT", "STATUS", "CALENDARS"],
        )
    return 0


def calendars(s: Services, a: argparse.Namespace) -> int:
    service = _service(s)
    if a.calendar is not None or a.blocks is not None:
        if a.calendar is None or a.blocks is None:
            raise InvalidInput("Give both --set CALENDAR_ID and --blocks yes|no.")
        calendar = service.find_calendar(a.tech, a.calendar)
        service.set_calendar_blocks(calendar.id, a.blocks == "yes")
    views = service.for_tech(a.tech)
    payload = [
        {**c, "account": v.account.email, "provider": v.account.provider.value}
        for v in views
        for c in view_json(v)["calendars"]
    ]
    if a.json:
        emit_json(payload)
    elif not payload:
        print("No calendars connected yet; connect one with 'crewboard connect'.")
    else:
        emit_table(
            [
                [
                    p["id"][:8],
                    p["name"],
                    p["account"],
                    "primary" if p["primary"] else "",
                    "yes" if p["blocks"] else "no",
                ]
                for p in payload
            ],
            ["ID", "NAME", "ACCOUNT", "", "BLOCKS"],
        )
    return 0
