"""Graph change notifications: subscriptions, the validation handshake, and delivery.

`POST /subscriptions` validates the notification URL before answering, as Graph does: it POSTs
`?validationToken=...` and needs the URL-decoded token back as text/plain within 10 s. Changes to
events are delivered through the shared `PushSender`, one notification per POST, in Graph's shape.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from sync.sandbox import graph_zones
from sync.sandbox.push import Notification, PushSender

MAX_MINUTES = 4230  # Outlook event subscriptions; "10,080" is reported for newer docs but unverified
MAX_PER_MAILBOX = 1000
VALIDATION_TIMEOUT = 10.0
CHANGE_TYPES = ("created", "updated", "deleted")
APPLICATION_ID = "00000000-0000-0000-0000-0000c0ffee00"


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
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Subscription:
        values = dict(data)
        values["expires"] = dt.datetime.fromisoformat(values["expires"])
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
        raise SubscriptionError(400, "ValidationError", f"{failure} Response status code: {response.status_code}.")
    if not content_type.lower().startswith("text/plain"):
        raise SubscriptionError(400, "ValidationError", "Subscription validation request failed. "
                                "Response must be of Content-Type 'text/plain'.")
    if response.text != token:
        raise SubscriptionError(400, "ValidationError", "Subscription validation request failed. "
                                "Response must exactly match validationToken query parameter.")


class SubscriptionBook:
    """Active subscriptions and delivery of their notifications. Callers hold the state lock."""

    def __init__(self, push: PushSender, tenant_id: Callable[[], str]) -> None:
        self.push = push
        self.tenant_id = tenant_id
        self.subscriptions: dict[str, Subscription] = {}

    def live(self, now: dt.datetime) -> list[Subscription]:
        # A missed renewal means Graph deletes the subscription.
        for sub_id, sub in list(self.subscriptions.items()):
            if sub.expires <= now:
                del self.subscriptions[sub_id]
        return list(self.subscriptions.values())

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
            body = json.dumps({"value": [item]}).encode("utf-8")
            self.push.send(
                Notification(
                    sub.notification_url,
                    {"Content-Type": "application/json; charset=utf-8",
                     "client-request-id": secrets.token_hex(16)},
                    body,
                    "microsoft",
                )
            )

    def to_json(self) -> list[dict[str, Any]]:
        return [s.to_json() for s in self.subscriptions.values()]

    def load_json(self, data: list[Mapping[str, Any]]) -> None:
        self.subscriptions = {}
        for raw in data:
            sub = Subscription.from_json(raw)
            self.subscriptions[sub.id] = sub

