"""Graph change notifications: subscriptions, the validation handshake, and delivery.

`POST /subscriptions` validates the notification URL before answering, as Graph does: it POSTs
`?validationToken=...` and needs the URL-decoded token back as text/plain within 10 s (the
lifecycle URL, when given, is validated the same way). Changes to events are delivered through the
shared `PushSender`, one notification per POST, in Graph's shape.

Lifecycle notices go to the subscription's `lifecycleNotificationUrl` in the documented shape
(`{"value": [{subscriptionId, subscriptionExpirationDateTime, tenantId, clientState,
lifecycleEvent}]}`, no resource), through the same sender:
- `reauthorizationRequired` once a subscription is within `REAUTHORIZE_BEFORE` of its expiry, again
  every `CHALLENGE_EVERY` until it is renewed (PATCH) or reauthorized (`POST .../reauthorize`),
  and on demand (control API).
- `subscriptionRemoved` when the sandbox drops a subscription (control API); the subscription is
  gone at once, as after Graph's own removals.
- `missed` on demand, and when a change notice did not get through (unreachable, still 5xx after
  the retries, or dropped while held: `POST /push/drop`): one at a time per subscription, the next
  only after that one is finished.
A subscription that simply reaches its expiry is deleted without a notice: Graph documents
`subscriptionRemoved` for removals it decides (conditions of access changed), and the
`reauthorizationRequired` challenges before expiry are the warning.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import json
import secrets
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from sync.sandbox import graph_zones
from sync.sandbox.push import RETRY_STATUSES, Notification, PushSender

MAX_MINUTES = 4230  # Outlook event subscriptions; "10,080" is reported for newer docs but unverified
MAX_PER_MAILBOX = 1000
VALIDATION_TIMEOUT = 10.0
CHANGE_TYPES = ("created", "updated", "deleted")
APPLICATION_ID = "00000000-0000-0000-0000-0000c0ffee00"
REAUTHORIZED = "reauthorizationRequired"
REMOVED = "subscriptionRemoved"
MISSED = "missed"
LIFECYCLE_EVENTS = (REAUTHORIZED, REMOVED, MISSED)
# When the challenges before expiry start and how often they repeat: Graph says only that their
# frequency "is subject to change"; its illustration sends one every 15 minutes in the last hour.
REAUTHORIZE_BEFORE = dt.timedelta(hours=1)
CHALLENGE_EVERY = dt.timedelta(minutes=15)


class SubscriptionError(ValueError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass
class Subscription:
    id: str
    email: str
    resource: str
    calendar_id: str
    change_types: list[str]
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expires: dt.datetime
    immutable_ids: bool
    creator_id: str
    last_challenge: dt.datetime | None = None  # the last reauthorizationRequired sent, or a reauthorize

    def render(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "resource": self.resource,
            "applicationId": APPLICATION_ID,
            "changeType": ",".join(self.change_types),
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "notificationQueryOptions": None,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": graph_zones.format_instant(self.expires),
            "creatorId": self.creator_id,
            "includeResourceData": False,
            "latestSupportedTlsVersion": "v1_2",
            "encryptionCertificate": None,
            "encryptionCertificateId": None,
            "notificationUrlAppId": None,
        }

    def to_json(self) -> dict[str, Any]:
        data = dict(vars(self))
        data["expires"] = self.expires.isoformat()
        data["last_challenge"] = self.last_challenge.isoformat() if self.last_challenge else None
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Subscription:
        values = dict(data)
        values["expires"] = dt.datetime.fromisoformat(values["expires"])
        challenged = values.get("last_challenge")
        values["last_challenge"] = dt.datetime.fromisoformat(challenged) if challenged else None
        return cls(**values)


def check_url(url: Any, name: str) -> str:
    if not isinstance(url, str) or not url:
        raise SubscriptionError(400, "InvalidRequest", f"{name} is required.")
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    # Graph requires HTTPS. The sandbox reaches loopback receivers only, and those cannot hold a
    # publicly trusted certificate, so plain http is accepted there and nowhere else.
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise SubscriptionError(400, "InvalidRequest", f"The {name} must be an https URL.")
    return url


def parse_expiration(raw: Any, now: dt.datetime) -> dt.datetime:
    if not isinstance(raw, str):
        raise SubscriptionError(400, "InvalidRequest", "expirationDateTime is required.")
    try:
        when = graph_zones.parse_instant(raw)
    except graph_zones.DateFormatError:
        raise SubscriptionError(400, "InvalidRequest", f"Invalid expirationDateTime: '{raw}'.") from None
    if when <= now:
        raise SubscriptionError(400, "InvalidRequest", "Subscription expiration must be in the future.")
    if when > now + dt.timedelta(minutes=MAX_MINUTES):
        raise SubscriptionError(
            400, "InvalidRequest", f"Subscription expiration can only be {MAX_MINUTES} minutes in the future."
        )
    return when


def validate_endpoint(url: str, verify: Any) -> None:
    """Graph's handshake: POST ?validationToken=..., expect the decoded token back as text/plain."""
    token = f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"
    target = url + ("&" if urlsplit(url).query else "?") + urlencode({"validationToken": token})
    failure = (
        "Subscription validation request failed. Notification endpoint must respond with 200 OK to "
        "validation request."
    )
    try:
        with httpx.Client(timeout=VALIDATION_TIMEOUT, verify=verify, trust_env=False) as client:
            response = client.post(target, headers={"Content-Type": "text/plain; charset=utf-8"}, content=b"")
    except httpx.HTTPError as exc:
        raise SubscriptionError(
            400, "ValidationError", f"Subscription validation request failed. {type(exc).__name__}: {exc}"
        ) from None
    content_type = response.headers.get("content-type", "")
    if response.status_code != 200:
        raise SubscriptionError(
            400, "ValidationError", f"{failure} Response status code: {response.status_code}."
        )
    if not content_type.lower().startswith("text/plain"):
        raise SubscriptionError(
            400,
            "ValidationError",
            "Subscription validation request failed. Response must be of Content-Type 'text/plain'.",
        )
    if response.text != token:
        raise SubscriptionError(
            400,
            "ValidationError",
            "Subscription validation request failed. "
            "Response must exactly match validationToken query parameter.",
        )


class SubscriptionBook:
    """Active subscriptions and delivery of their notifications. Callers hold the state lock
    (`lock`, which the sender's thread also takes before it sends a `missed` notice)."""

    def __init__(
        self, push: PushSender, tenant_id: Callable[[], str], lock: threading.RLock | None = None
    ) -> None:
        self.push = push
        self.tenant_id = tenant_id
        self.lock = lock or threading.RLock()
        self.subscriptions: dict[str, Subscription] = {}
        self._missed_pending: set[str] = set()

    def live(self, now: dt.datetime) -> list[Subscription]:
        """The subscriptions still alive; on the way, the expired ones go and those about to
        expire are challenged to reauthorize."""
        for sub_id, sub in list(self.subscriptions.items()):
            if sub.expires <= now:  # a missed renewal means Graph deletes the subscription
                del self.subscriptions[sub_id]
            elif sub.expires - now <= REAUTHORIZE_BEFORE and (
                sub.last_challenge is None or now - sub.last_challenge >= CHALLENGE_EVERY
            ):
                sub.last_challenge = now
                self.lifecycle(sub, REAUTHORIZED)
        return list(self.subscriptions.values())

    def renewed(self, sub: Subscription) -> None:
        """A PATCH moved the expiry: challenges start over near the new one."""
        sub.last_challenge = None

    def reauthorized(self, sub: Subscription, now: dt.datetime) -> None:
        """`POST .../reauthorize` answers the challenge without moving the expiry."""
        sub.last_challenge = now

    def remove(self, sub: Subscription) -> bool:
        """Drop the subscription as Graph does on its own; True if a notice went out."""
        self.subscriptions.pop(sub.id, None)
        return self.lifecycle(sub, REMOVED)

    def lifecycle(self, sub: Subscription, event: str) -> bool:
        """Send `event` to the subscription's lifecycle URL; False when it has none."""
        if event not in LIFECYCLE_EVENTS:
            raise ValueError(f"lifecycle event must be one of: {', '.join(LIFECYCLE_EVENTS)}.")
        if sub.lifecycle_url is None:
            return False
        item = {
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": graph_zones.format_instant(sub.expires),
            "tenantId": self.tenant_id(),
            "clientState": sub.client_state,
            "lifecycleEvent": event,
        }
        done: Callable[[int | None], None] | None = None
        if event == MISSED:
            self._missed_pending.add(sub.id)
            done = functools.partial(self._missed_done, sub.id)
        self.push.send(self._post(sub.lifecycle_url, item, done))
        return True

    def _post(
        self, url: str, item: Mapping[str, Any], on_done: Callable[[int | None], None] | None = None
    ) -> Notification:
        return Notification(
            url,
            {"Content-Type": "application/json; charset=utf-8", "client-request-id": secrets.token_hex(16)},
            json.dumps({"value": [item]}).encode("utf-8"),
            "microsoft",
            on_done,
        )

    def _undelivered(self, sub_id: str, status: int | None) -> None:
        """On the sender's thread: a change notice is finished; if it did not get through, say so."""
        if status is not None and status not in RETRY_STATUSES:
            return  # delivered, or refused by the receiver (which a `missed` would not change)
        with self.lock:
            sub = self.subscriptions.get(sub_id)
            if sub is not None and sub_id not in self._missed_pending:
                self.lifecycle(sub, MISSED)

    def _missed_done(self, sub_id: str, _status: int | None) -> None:
        with self.lock:
            self._missed_pending.discard(sub_id)

    def count_for(self, email: str, now: dt.datetime) -> int:
        return sum(1 for s in self.live(now) if s.email == email)

    def new_id(self) -> str:
        return str(uuid.uuid4())

    def notify(
        self,
        email: str,
        oid: str,
        calendar_id: str,
        change_type: str,
        ids: tuple[str, str],
        etag: str | None,
        now: dt.datetime,
    ) -> None:
        for sub in self.live(now):
            if sub.email != email or sub.calendar_id != calendar_id or change_type not in sub.change_types:
                continue
            event_id = ids[0] if sub.immutable_ids else ids[1]
            resource = f"Users/{oid}/Events/{event_id}"
            resource_data: dict[str, Any] = {
                "@odata.type": "#Microsoft.Graph.Event",
                "@odata.id": resource,
                "id": event_id,
            }
            if etag is not None:
                resource_data["@odata.etag"] = etag
            item = {
                "subscriptionId": sub.id,
                "subscriptionExpirationDateTime": graph_zones.format_instant(sub.expires),
                "changeType": change_type,
                "resource": resource,
                "resourceData": resource_data,
                "clientState": sub.client_state,
                "tenantId": self.tenant_id(),
            }
            self.push.send(
                self._post(sub.notification_url, item, functools.partial(self._undelivered, sub.id))
            )

    def to_json(self) -> list[dict[str, Any]]:
        return [s.to_json() for s in self.subscriptions.values()]

    def load_json(self, data: list[Mapping[str, Any]]) -> None:
        self.subscriptions = {}
        for raw in data:
            sub = Subscription.from_json(raw)
            self.subscriptions[sub.id] = sub
