"""Push channels without HTTP: which channel or subscription id stands for which calendar, and its token.

Google watch channels and Graph subscriptions carry an id and a token we chose; `CalendarChannels`
maps them back to the calendar to read (the push routes in sync.push_routes ask it), and gives the
channel keeper (sync.channels) the token to register. Nothing here parses a request.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from app.domain.ids import CalendarId
from app.domain.model import Calendar
from app.services.ports import UnitOfWorkFactory
from sync.store_settings import store_settings

Trigger = Callable[[CalendarId], None]


class LifecycleEvent(StrEnum):
    """Graph's `lifecycleEvent` values."""

    REAUTHORIZATION_REQUIRED = "reauthorizationRequired"  # renew or reauthorize, or notices stop
    SUBSCRIPTION_REMOVED = "subscriptionRemoved"  # subscribe anew, then read: changes were missed
    MISSED = "missed"  # some change notices were lost: read


# (calendar, subscription id, event): called on the receiver's loop after the 202 went out; it
# must not block (the channel keeper starts a task).
LifecycleHandler = Callable[[CalendarId, str, LifecycleEvent], None]


@dataclass(frozen=True, slots=True)
class ChannelEntry:
    """What a channel or subscription id stands for: the calendar to read and the token it carries."""

    calendar_id: CalendarId
    token: str
    resource_id: str | None = None  # Google's X-Goog-Resource-ID, when known
    pending: bool = False  # a channel still being made: known by its token, its id not stored yet


class ChannelRegistry(Protocol):
    def resolve(self, channel_id: str, token: str) -> ChannelEntry | None:
        """What a notice's channel (Google) or subscription (Graph) id stands for, or None: not ours.

        A stored channel's entry whatever `token` is (the receiver compares them); for an id not
        stored, the calendar whose channel is being made right now with `token`, as a `pending`
        entry. Decided on one state of the registry, so a channel that is stored and stops being
        made meanwhile is found one way or the other, never neither.
        """
        ...

    def resolve_many(self, pairs: Sequence[tuple[str, str]]) -> list[ChannelEntry | None]:
        """`resolve` for each (id, token) pair, in one step (one lock, at most one table read)."""
        ...


def push_address(public_url: str, provider: str) -> str:
    """The notification URL to register with `provider` ("google" or "microsoft")."""
    if provider not in ("google", "microsoft"):
        raise ValueError(f"unknown provider {provider!r}")
    return f"{public_url.rstrip('/')}/{provider}"


# --- the registry over the calendars table ---------------------------------------------------------


class CalendarChannels:
    """ChannelRegistry over Calendar.channel_id / channel_resource_id, with derived tokens.

    A channel's token (Google's X-Goog-Channel-Token, Graph's clientState) is an HMAC of the
    calendar id under one random key per database, so no token is stored per channel and none can
    be guessed. The key lives in the database's settings table, not in the keyring: it is no
    credential to any provider (its only power is to make us read a calendar one extra time, which
    polling does anyway), and an office database moves between machines when another one takes
    over syncing, where a keyring entry would stay behind and make every channel's notices fail.
    DESIGN's "tokens never in the database" is about sign-in tokens, which stay in the keyring.

    Google sends its `sync` notice as soon as `events.watch` has made the channel, often before
    its answer reaches us and so before the channel is stored (Graph, likewise, may post changes
    before the new subscription's id is stored): so from before the request is sent until the
    channel is stored (`with channels.creating(calendar_id):` around both), a notice carrying that
    calendar's token is taken as that calendar's. `resolve` decides on one state, under the lock
    `creating`'s end takes to re-read the table and only then to stop accepting by token, so a
    notice checked while the creation ends is not lost between "not stored yet" and "no longer
    being made". After storing or clearing a channel otherwise, call `refresh()`; `forget()`
    refuses a stopped channel at once. Unknown ids read the table at most once a second, so a flood
    of forged ids costs little.
    """

    KEY_SETTING = "push.channel_key"
    REFRESH_EVERY = 1.0  # at most one table read per second for unknown ids

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow = uow_factory
        self._lock = threading.Lock()
        self._key: bytes | None = None
        self._known: dict[str, ChannelEntry] = {}
        self._creating: dict[CalendarId, tuple[str, int]] = {}  # calendar -> (its token, how many)
        self._refreshed = float("-inf")

    def token_for(self, calendar_id: CalendarId) -> str:
        """The token to give the provider when watching `calendar_id` (43 characters)."""
        digest = hmac.new(self._secret(), f"crewboard-push:{calendar_id}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    @contextlib.contextmanager
    def creating(self, calendar_id: CalendarId) -> Iterator[None]:
        """A channel for `calendar_id` is being made: enter before asking the provider for it, store
        it inside; until the end, notices with the calendar's token are accepted (see the class)."""
        token = self.token_for(calendar_id)
        with self._lock:
            depth = self._creating.get(calendar_id, (token, 0))[1]
            self._creating[calendar_id] = (token, depth + 1)
        try:
            yield
        finally:
            with self._lock:  # one step for `resolve`: the stored channel is known, then not pending
                try:
                    self._refresh()
                finally:
                    depth = self._creating[calendar_id][1]
                    if depth > 1:
                        self._creating[calendar_id] = (token, depth - 1)
                    else:
                        del self._creating[calendar_id]

    def resolve(self, channel_id: str, token: str) -> ChannelEntry | None:
        return self.resolve_many([(channel_id, token)])[0]

    def resolve_many(self, pairs: Sequence[tuple[str, str]]) -> list[ChannelEntry | None]:
        with self._lock:
            return [self._resolve(channel_id, token) for channel_id, token in pairs]

    def _resolve(self, channel_id: str, token: str) -> ChannelEntry | None:
        entry = self._stored(channel_id)
        if entry is not None:
            return entry
        for calendar_id, (expected, _depth) in self._creating.items():
            if same_token(token, expected):
                return ChannelEntry(calendar_id, expected, pending=True)
        return None

    def forget(self, channel_id: str) -> None:
        """The channel is stopped (or its creation failed): refuse its notices from now on."""
        with self._lock:
            self._known.pop(channel_id, None)

    def refresh(self) -> None:
        """Read the calendars' channels now (call after storing or clearing one)."""
        with self._lock:
            self._refresh()

    def lookup(self, channel_id: str) -> ChannelEntry | None:
        """The stored channel or subscription `channel_id`, or None."""
        with self._lock:
            return self._stored(channel_id)

    def _stored(self, channel_id: str) -> ChannelEntry | None:
        entry = self._known.get(channel_id)
        if entry is None and time.monotonic() - self._refreshed >= self.REFRESH_EVERY:
            self._refresh()
            entry = self._known.get(channel_id)
        return entry

    def _refresh(self) -> None:
        with self._uow() as uow:
            calendars = uow.calendars.list()
        self._known = {c.channel_id: self._entry(c) for c in calendars if c.channel_id}
        self._refreshed = time.monotonic()

    def _entry(self, calendar: Calendar) -> ChannelEntry:
        return ChannelEntry(calendar.id, self.token_for(calendar.id), calendar.channel_resource_id)

    def _secret(self) -> bytes:
        if self._key is None:
            with self._uow() as uow:
                settings = store_settings(uow, "push channels")
                stored = settings.get(self.KEY_SETTING)
                if stored is None:
                    stored = secrets.token_urlsafe(32)
                    settings.put(self.KEY_SETTING, stored)
                    uow.commit()
            self._key = stored.encode("ascii")
        return self._key


def same_token(given: str, expected: str) -> bool:
    """Constant-time comparison of a token a notice carries with ours (any string, surrogates too)."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )
