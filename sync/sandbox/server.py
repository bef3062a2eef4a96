"""`Sandbox`: the Google and Microsoft emulators, the control API and persistence, in one object.

Runs in-process on background threads (tests and `crewboard demo`) or from `crewboard sandbox`.
Each site gets its own ephemeral port; the Microsoft sites speak HTTPS with a throwaway CA.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from sync.sandbox.base import ProviderSandbox
from sync.sandbox.control import ControlSite
from sync.sandbox.google import GoogleSandbox
from sync.sandbox.push import PushSender
from sync.sandbox.tls import TlsMaterial, create_tls
from sync.sandbox.web import DEFAULT_TIMEOUT_HOLD, FaultInjector, ServerContext, SiteServer, stop_all

log = logging.getLogger(__name__)

STATE_VERSION = 1
SAVE_DEBOUNCE = 0.25
TICK_SECONDS = 1.0  # how often providers with a `tick()` see the time pass (Graph's lifecycle notices)
TLS_SITES = frozenset({"microsoft", "graph"})


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class SandboxUrls:
    google: str
    microsoft: str | None
    graph: str | None
    control: str
    ca: str

    def as_json(self) -> dict[str, str | None]:
        return {
            "google": self.google,
            "microsoft": self.microsoft,
            "graph": self.graph,
            "control": self.control,
            "ca": self.ca,
        }


def _load_microsoft(clock: Callable[[], dt.datetime], push: PushSender) -> ProviderSandbox | None:
    """The Microsoft emulator, or None while `sync.sandbox.microsoft` does not exist yet."""
    try:
        module = importlib.import_module("sync.sandbox.microsoft")
    except ModuleNotFoundError as exc:
        if exc.name == "sync.sandbox.microsoft":
            return None
        raise
    provider: ProviderSandbox = module.MicrosoftSandbox(clock, push)
    return provider


class Sandbox:
    """The whole sandbox. `start()` serves it; `stop()` (or leaving the `with` block) ends it."""

    def __init__(
        self,
        clock: Callable[[], dt.datetime] = utc_now,
        timeout_hold: float = DEFAULT_TIMEOUT_HOLD,
    ) -> None:
        self.clock = clock
        self.push = PushSender()
        self.context = ServerContext(clock=clock, faults=FaultInjector(timeout_hold))
        self.google = GoogleSandbox(clock, self.push)
        self.microsoft = _load_microsoft(clock, self.push)
        self.providers: dict[str, ProviderSandbox] = {"google": self.google}
        if self.microsoft is not None:
            self.providers["microsoft"] = self.microsoft
        self._servers: list[SiteServer] = []
        self._tls: TlsMaterial | None = None
        self._urls: SandboxUrls | None = None
        self._state_file: Path | None = None
        self._dirty = threading.Event()
        self._save_lock = threading.Lock()
        self._saver: threading.Thread | None = None
        self._saver_stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._ticker_stop = threading.Event()

    # -- lifecycle -----------------------------------------------------------------------------------

    @property
    def urls(self) -> SandboxUrls:
        if self._urls is None:
            raise RuntimeError("The sandbox is not running.")
        return self._urls

    @property
    def running(self) -> bool:
        return self._urls is not None

    def start(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: str = "empty",
        state_file: str | os.PathLike[str] | None = None,
    ) -> SandboxUrls:
        if self._urls is not None:
            raise RuntimeError("The sandbox is already running.")
        if seed not in ("empty", "demo"):
            raise ValueError("seed must be 'empty' or 'demo'.")
        loaded = False
        if state_file is not None:
            self._state_file = Path(state_file)
            loaded = self._load()
        try:
            self._tls = create_tls()
            sites: dict[str, str] = {}
            for provider in self.providers.values():
                for site in provider.sites():
                    ssl_context = self._tls.context if site.name in TLS_SITES else None
                    server = SiteServer(site, self.context, host, 0, ssl_context)
                    self._servers.append(server)
                    # A site may live under a path (Graph's base URL ends in /v1.0).
                    sites[site.name] = server.url + str(getattr(site, "base_path", ""))
            # The control API answers loopback Host names only, plus the address listened on when it
            # is not loopback (crewboard sandbox --allow-remote).
            control = SiteServer(ControlSite(self, listen_host=host), self.context, host, port)
            self._servers.append(control)
            self._urls = SandboxUrls(
                google=sites["google"],
                microsoft=sites.get("microsoft"),
                graph=sites.get("graph"),
                control=control.url,
                ca=str(self._tls.ca_path),
            )
            for provider in self.providers.values():
                set_urls = getattr(provider, "set_urls", None)
                if set_urls is not None:
                    set_urls(self._urls.as_json())
            if seed == "demo" and not loaded:
                from sync.sandbox.seed import seed_demo

                seed_demo(self.providers, self.clock())
            self.push.start()
            for server in self._servers:
                server.start()
            self._ticker_stop.clear()
            self._ticker = threading.Thread(target=self._tick_loop, name="sandbox-clock", daemon=True)
            self._ticker.start()
            if self._state_file is not None:
                self.context.on_change = self._dirty.set
                self._saver_stop.clear()
                self._saver = threading.Thread(target=self._save_loop, name="sandbox-state", daemon=True)
                self._saver.start()
                self._save()
        except BaseException:
            self.stop()
            raise
        log.info("sandbox serving: %s", self._urls.as_json())
        return self._urls

    def stop(self) -> None:
        self.context.stopping.set()
        if self._ticker is not None:
            self._ticker_stop.set()
            self._ticker.join()
            self._ticker = None
        stop_all(self._servers)
        self._servers.clear()
        if self._saver is not None:
            self._saver_stop.set()
            self._saver.join()
            self._saver = None
        if self._state_file is not None and self._urls is not None:
            self._save()
        self.push.stop()
        if self._tls is not None:
            self._tls.cleanup()
            self._tls = None
        self._urls = None
        self.context.on_change = None

    def __enter__(self) -> Sandbox:
        if self._urls is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- control hooks -----------------------------------------------------------------------------

    def provider_for(self, email: str) -> ProviderSandbox | None:
        wanted = email.strip().lower()
        for provider in self.providers.values():
            if any(str(a.get("email", "")).lower() == wanted for a in provider.accounts()):
                return provider
        return None

    def set_push_paused(self, paused: bool) -> None:
        for provider in self.providers.values():
            provider.set_push_paused(paused)
        self.push.set_paused(paused)

    def drop_held_push(self) -> int:
        """Lose the held notifications (Graph then sends `missed` for its subscriptions)."""
        return self.push.drop_held()

    # -- persistence -------------------------------------------------------------------------------

    def _load(self) -> bool:
        path = self._state_file
        if path is None or not path.exists():
            return False
        data = json.loads(path.read_text("utf-8"))
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"{path} was written by another sandbox version.")
        for name, state in data.get("providers", {}).items():
            if name in self.providers:
                self.providers[name].load_state(state)
        return True

    def state(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "saved_at": self.clock().isoformat(),
            "providers": {name: provider.to_state() for name, provider in self.providers.items()},
        }

    def _save(self) -> None:
        path = self._state_file
        if path is None:
            return
        with self._save_lock:
            payload = json.dumps(self.state(), indent=1, default=str)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(payload)
                    handle.flush()
                    os.fsync(handle.fileno())
                Path(temp).replace(path)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise

    def _tick_loop(self) -> None:
        while not self._ticker_stop.wait(TICK_SECONDS):
            for provider in self.providers.values():
                tick = getattr(provider, "tick", None)
                if tick is None:
                    continue
                try:
                    tick()
                except Exception:  # one bad round must not stop the clock
                    log.exception("the %s sandbox's tick failed", provider.provider)

    def _save_loop(self) -> None:
        while not self._saver_stop.is_set():
            if not self._dirty.wait(0.1):
                continue
            if self._saver_stop.wait(SAVE_DEBOUNCE):
                return
            self._dirty.clear()
            try:
                self._save()
            except OSError:
                log.exception("could not save the sandbox state to %s", self._state_file)
