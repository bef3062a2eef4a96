"""The health and notification commands: health, notifications, smtp-password; and the options
`crewboard sync` takes for alert thresholds and push notices.

`health` shows how each calendar account is syncing and how far an outage has escalated;
`notifications` lists the inbox (what was sent, or is waiting for an address or a mail server).
The SMTP password is typed once into `smtp-password` and kept in the system keyring only.
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import sys
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from app.cli.output import emit_json, emit_table
from app.domain.escalation import Thresholds, format_duration, parse_duration
from app.domain.model import Notification
from app.errors import InvalidInput
from app.office import office_zone
from app.services.accounts import AccountService, AccountView, provider_label
from app.services.container import Services
from app.services.read_pacing import current_pacing
from app.services.sync_owner import SyncOwnerService


def register(sub: Any) -> None:
    """Add the health commands to the main parser's subcommands."""
    hl = sub.add_parser("health", help="how each calendar account is syncing, and any outage's alert level")
    hl.add_argument("--json", action="store_true")
    hl.set_defaults(run=health)

    nt = sub.add_parser("notifications", help="list alerts and messages (the inbox), newest first")
    nt.add_argument("--undelivered", action="store_true", help="only those not sent by e-mail yet")
    nt.add_argument(
        "--deliver", action="store_true", help="send what is waiting by e-mail now (needs SMTP settings)"
    )
    nt.add_argument("--json", action="store_true")
    nt.set_defaults(run=notifications)

    pw = sub.add_parser(
        "smtp-password", help="keep the password of the mail server in settings.toml in the system keyring"
    )
    pw.add_argument("--stdin", action="store_true", help="read the password from standard input")
    pw.set_defaults(run=smtp_password)


def add_threshold_arguments(parser: argparse.ArgumentParser) -> None:
    """The alert-threshold options of `crewboard sync` and `crewboard serve` (both build their
    health monitor through sync.wiring, which falls back to settings.toml)."""
    defaults = Thresholds()
    for flag, name, default in (
        ("--warn-after", "warn", defaults.warn),
        ("--dispatcher-after", "dispatcher", defaults.dispatcher),
        ("--owner-after", "owner", defaults.owner),
    ):
        parser.add_argument(
            flag,
            dest=f"{name}_after",
            type=duration_argument,
            metavar="D",
            help=f"alert threshold, like 90s, 5m or 2h (default {format_duration(default)}, "
            f"or {name}_after under [sync] in settings.toml)",
        )


def add_health_arguments(parser: argparse.ArgumentParser) -> None:
    """The alert-threshold and push-notice options of `crewboard sync`."""
    add_threshold_arguments(parser)
    parser.add_argument(
        "--listen",
        metavar="HOST:PORT",
        type=listen_argument,
        help="receive push notices from Google and Microsoft on this address (needs --public-url)",
    )
    parser.add_argument(
        "--public-url",
        metavar="URL",
        help="the public https address that forwards to --listen (a relay or tunnel)",
    )


# The longest alert threshold accepted: past this an outage would never be reported at all.
LONGEST_THRESHOLD = timedelta(days=365)


def duration_argument(text: str) -> Any:
    try:
        span = parse_duration(text)
    except InvalidInput as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    except OverflowError:
        span = None
    if span is None or span > LONGEST_THRESHOLD:
        raise argparse.ArgumentTypeError(f"'{text}' is longer than a year; write at most 365d")
    return span


def listen_argument(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"'{text}' is not HOST:PORT, e.g. 127.0.0.1:8788")
    return host, int(port)


def check_push_arguments(listen: tuple[str, int] | None, public_url: str | None) -> None:
    """--listen and --public-url come together, and the public address is https (or plain http on
    this computer's loopback, for a test or a tunnel's local end)."""
    if (listen is None) != (public_url is None):
        raise InvalidInput(
            "Give --listen and --public-url together: where to listen, and how providers reach it."
        )
    if public_url is not None:
        check_public_url(public_url)


def check_public_url(public_url: str) -> None:
    """Parsed, never checked by prefix: `http://127.0.0.1.evil.example` starts like a loopback
    address and is not one, and `http://127.0.0.1@evil.example` is evil.example."""
    shown = public_url.encode("unicode_escape").decode("ascii")[:200]
    if any(ch.isspace() or not ch.isprintable() for ch in public_url):
        raise InvalidInput(
            f"--public-url '{shown}' has a space or a control character in it; give the bare address."
        )
    try:
        parts = urlsplit(public_url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise InvalidInput(
            f"--public-url '{shown}' is not a web address, e.g. https://relay.example.com/crewboard."
        ) from None
    scheme = parts.scheme.lower()
    if (
        scheme not in ("http", "https")
        or not host
        or parts.username is not None
        or parts.password is not None
    ):
        raise InvalidInput(
            f"--public-url '{shown}' is not a web address, e.g. https://relay.example.com/crewboard."
        )
    if parts.query or parts.fragment or public_url.endswith(("?", "#")):
        raise InvalidInput(
            f"--public-url '{shown}' has a query or a fragment; Crewboard adds /google and /microsoft to its path."
        )
    if scheme == "http" and not _loopback(host):
        raise InvalidInput(
            f"--public-url '{shown}' must be an https address; Google and Microsoft only send to https "
            "(plain http only on this computer: 127.0.0.1, ::1 or localhost)."
        )


def _loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost (urlsplit gives the host lower-cased, without brackets)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(office_zone()).isoformat(timespec="seconds")


def health_json(view: AccountView) -> dict[str, Any]:
    health = view.health
    return {
        "tech": view.tech.name,
        "provider": view.account.provider.value,
        "account": view.account.email,
        "status": view.account.status.value,
        "last_success": _when(health.last_success) if health else None,
        "failing_since": _when(health.failing_since) if health else None,
        "level": health.level.value if health else "ok",
    }


def health(s: Services, a: argparse.Namespace) -> int:
    views = sorted(
        AccountService(s.uow, s.clock, s.bus).list(),
        key=lambda v: (v.tech.name.lower(), v.account.provider.value, v.account.email),
    )
    rows = [health_json(v) for v in views]
    if a.json:
        emit_json(rows)
        return 0
    if not rows:
        print("No calendars connected yet; connect one with 'crewboard connect TECH --provider google'.")
        print(_owner_sentence(s))
        return 0
    emit_table(
        [
            [
                r["tech"],
                provider_label(v.account.provider),
                r["account"],
                r["status"],
                (r["last_success"] or "never")[:16].replace("T", " "),
                (r["failing_since"] or "")[:16].replace("T", " "),
                r["level"],
            ]
            for r, v in zip(rows, views, strict=True)
        ],
        ["TECH", "PROVIDER", "ACCOUNT", "STATUS", "LAST SYNC", "FAILING SINCE", "LEVEL"],
    )
    for view in views:
        if view.health and view.health.failing_since and view.health.last_error:
            print(f"{view.tech.name} ({view.account.email}): {view.health.last_error}")
    with s.uow() as uow:
        paced = current_pacing(uow, s.clock.now())
    if paced is not None:
        print(paced.sentence())
    print(_owner_sentence(s))
    for line in _handover_keys(s):
        print(line)
    return 0


def _handover_keys(s: Services) -> list[str]:
    """The office services' hand-over keys, so a desk's pinned fingerprint can be checked against them."""
    from sync.token_handover import published_keys

    with s.uow(read_only=True) as uow:
        keys = published_keys(uow)
    return [
        f"Sign-in hand-over key of {key.holder}: {key.fingerprint} (published {key.published_at:%Y-%m-%d %H:%M} UTC)."
        for key in keys
    ]


def _owner_sentence(s: Services) -> str:
    """Who syncs this store (the office service, or a desk's sync), as the store names it."""
    owner = SyncOwnerService(s.uow, s.clock).current()
    if owner is None:
        return "Nothing syncs the calendars now; start 'crewboard serve' (an office) or 'crewboard sync'."
    zone = office_zone()

    def shown(instant: datetime) -> str:
        return instant.astimezone(zone).strftime("%a %H:%M")

    return owner.sentence(shown(owner.since), shown(owner.last_seen))


def notification_json(item: Notification) -> dict[str, Any]:
    return {
        "id": item.id,
        "to": item.audience.value,
        "recipient": item.recipient,
        "subject": item.subject,
        "body": item.body,
        "created": _when(item.created),
        "delivered": _when(item.delivered),
    }


def notifications(s: Services, a: argparse.Namespace) -> int:
    if a.deliver:
        from sync.notify import Notifier, load_notification_settings

        settings = load_notification_settings()
        if settings.smtp is None:
            raise InvalidInput(
                "No mail server is configured; set smtp_host (and smtp_user) under [notifications] in "
                "settings.toml. Until then notifications stay in the inbox."
            )
        report = Notifier(s.uow, s.clock, settings).deliver_pending_blocking()
        sys.stderr.write(f"Sent {report.sent}, failed {report.failed}, waiting {report.waiting}.\n")
    with s.uow() as uow:
        items = uow.notifications.undelivered() if a.undelivered else uow.notifications.list()
    if a.json:
        emit_json([notification_json(n) for n in items])
    elif not items:
        print("No notifications." if not a.undelivered else "Every notification has been delivered.")
    else:
        emit_table(
            [
                [
                    (_when(n.created) or "")[:16].replace("T", " "),
                    n.audience.value,
                    n.recipient,
                    "sent" if n.delivered else (f"waiting ({n.last_error})" if n.last_error else "waiting"),
                    n.subject,
                ]
                for n in items
            ],
            ["CREATED", "TO", "RECIPIENT", "E-MAIL", "SUBJECT"],
        )
    return 0


def smtp_password(s: Services, a: argparse.Namespace) -> int:
    from sync.notify import load_notification_settings, save_smtp_password

    smtp = load_notification_settings().smtp
    if smtp is None or smtp.user is None:
        raise InvalidInput(
            "Set smtp_host and smtp_user under [notifications] in settings.toml first; the password "
            "is kept for that user and server."
        )
    if a.stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"Password for {smtp.user} at {smtp.host}: ")
    if not password:
        raise InvalidInput("The password is empty; nothing was saved.")
    save_smtp_password(smtp.user, smtp.host, password)
    print(f"Saved the password for {smtp.user} at {smtp.host} in the system keyring.")
    return 0
