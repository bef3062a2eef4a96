"""Where each provider's sign-in lives: client ids and endpoints, from settings and environment.

Real accounts need client ids that the business registers itself (see "How to register Google and
Microsoft client ids for real accounts" in README.md). They come from environment variables or from
`settings.toml` in the user's config folder; the environment wins. The sandbox needs none of that:
its control API names every endpoint, and its sign-in pages accept any client id.
"""

from __future__ import annotations

import os
import re
import ssl
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import platformdirs

from app.errors import CrewboardError, InvalidInput

README_SECTION = "How to register Google and Microsoft client ids for real accounts"

GOOGLE_AUTH_URI = "https://accounts.google.com/o/oauth2/auth"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
GOOGLE_REVOKE_URI = "https://oauth2.googleapis.com/revoke"
GOOGLE_API_ENDPOINT = "https://www.googleapis.com/calendar/v3/"
MICROSOFT_LOGIN = "https://login.microsoftonline.com"
GRAPH_BASE = "https://graph.microsoft.com/v1.0"

SANDBOX_GOOGLE_CLIENT_ID = "crewboard-sandbox.apps.googleusercontent.com"
SANDBOX_GOOGLE_CLIENT_SECRET = "crewboard-sandbox-secret"
SANDBOX_MICROSOFT_CLIENT_ID = "00000000-0000-4000-8000-00000000c7eb"
SANDBOX_MICROSOFT_TENANT = "common"


class ConfigurationError(CrewboardError):
    """Crewboard lacks a setting it needs (a client id) or a setting is unreadable."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class GoogleSettings:
    """A Google "Desktop app" OAuth client and the endpoints it talks to.

    Google calls the desktop client's second value a secret, but it ships inside every copy of an
    installed app and protects nothing; PKCE is what protects the sign-in.
    """

    client_id: str
    client_secret: str
    auth_uri: str = GOOGLE_AUTH_URI
    token_uri: str = GOOGLE_TOKEN_URI
    revoke_uri: str = GOOGLE_REVOKE_URI
    api_endpoint: str = GOOGLE_API_ENDPOINT  # must end with the service path "calendar/v3/"
    sandbox_url: str | None = None


@dataclass(frozen=True, slots=True)
class MicrosoftSettings:
    """A Microsoft Entra "Mobile and desktop" public client and the endpoints it talks to."""

    client_id: str
    tenant: str = "common"
    login_base: str = MICROSOFT_LOGIN
    graph_base: str = GRAPH_BASE
    ca_file: str | None = None  # a private CA to trust (the sandbox's self-signed certificate)
    instance_discovery: bool = True  # False for an authority Microsoft does not know (the sandbox)
    sandbox_url: str | None = None

    @property
    def authority(self) -> str:
        return f"{self.login_base.rstrip('/')}/{self.tenant}"


def settings_path() -> Path:
    """settings.toml in the user's config folder (e.g. ~/.config/crewboard/settings.toml)."""
    return Path(platformdirs.user_config_dir("crewboard")) / "settings.toml"


def read_settings_file(path: Path | None = None) -> dict[str, Any]:
    """The parsed settings file, or {} if there is none."""
    path = path or settings_path()
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigurationError(
            f"Cannot read the settings file {path} ({error}); fix or remove it."
        ) from None


def _section(data: Mapping[str, Any], name: str, path: Path) -> Mapping[str, Any]:
    section = data.get(name, {})
    if not isinstance(section, Mapping):
        raise ConfigurationError(f"[{name}] in {path} must be a table of settings; fix the file.")
    return section


def _value(env: Mapping[str, str], variable: str, section: Mapping[str, Any], key: str) -> str | None:
    value = env.get(variable) or section.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigurationError(f"The setting {key} must be text; fix it (or set {variable}).")
    return value.strip() or None


def google_settings(env: Mapping[str, str] | None = None, path: Path | None = None) -> GoogleSettings:
    """The Google client for real accounts, from CREWBOARD_GOOGLE_* or [google] in settings.toml."""
    env = os.environ if env is None else env
    path = path or settings_path()
    section = _section(read_settings_file(path), "google", path)
    client_id = _value(env, "CREWBOARD_GOOGLE_CLIENT_ID", section, "client_id")
    client_secret = _value(env, "CREWBOARD_GOOGLE_CLIENT_SECRET", section, "client_secret")
    if not client_id or not client_secret:
        raise ConfigurationError(
            "No Google client id is configured: register a Desktop app OAuth client in the Google Cloud "
            f"console (README.md, '{README_SECTION}') and set CREWBOARD_GOOGLE_CLIENT_ID and "
            f"CREWBOARD_GOOGLE_CLIENT_SECRET, or client_id and client_secret under [google] in {path}."
        )
    return GoogleSettings(client_id=client_id, client_secret=client_secret)


def microsoft_settings(env: Mapping[str, str] | None = None, path: Path | None = None) -> MicrosoftSettings:
    """The Microsoft client for real accounts, from CREWBOARD_MICROSOFT_* or [microsoft] in settings.toml."""
    env = os.environ if env is None else env
    path = path or settings_path()
    section = _section(read_settings_file(path), "microsoft", path)
    client_id = _value(env, "CREWBOARD_MICROSOFT_CLIENT_ID", section, "client_id")
    tenant = _value(env, "CREWBOARD_MICROSOFT_TENANT", section, "tenant") or "common"
    if not client_id:
        raise ConfigurationError(
            "No Microsoft client id is configured: register a Mobile and desktop application in "
            f"Microsoft Entra (README.md, '{README_SECTION}') and set CREWBOARD_MICROSOFT_CLIENT_ID "
            f"(and CREWBOARD_MICROSOFT_TENANT if not 'common'), or client_id under [microsoft] in {path}."
        )
    return MicrosoftSettings(client_id=client_id, tenant=tenant)


@dataclass(frozen=True, slots=True)
class SandboxEndpoints:
    """What the sandbox's control API reports at `GET {control}/`."""

    control: str
    google: str
    microsoft: str
    graph: str
    ca: str

    def google_settings(self) -> GoogleSettings:
        return GoogleSettings(
            client_id=SANDBOX_GOOGLE_CLIENT_ID,
            client_secret=SANDBOX_GOOGLE_CLIENT_SECRET,
            auth_uri=f"{self.google}/o/oauth2/auth",
            token_uri=f"{self.google}/token",
            revoke_uri=f"{self.google}/revoke",
            api_endpoint=f"{self.google}/calendar/v3/",
            sandbox_url=self.control,
        )

    def microsoft_settings(self) -> MicrosoftSettings:
        return MicrosoftSettings(
            client_id=SANDBOX_MICROSOFT_CLIENT_ID,
            tenant=SANDBOX_MICROSOFT_TENANT,
            login_base=self.microsoft,
            graph_base=_graph_base(self.graph),
            ca_file=self.ca,
            instance_discovery=False,
            sandbox_url=self.control,
        )


def _graph_base(graph: str) -> str:
    graph = graph.rstrip("/")
    return graph if graph.endswith("/v1.0") else f"{graph}/v1.0"


def sandbox_endpoints(control_url: str, timeout: float = 10.0) -> SandboxEndpoints:
    """Ask a running sandbox where its emulated hosts listen."""
    control = control_url.rstrip("/")
    if not control.startswith(("http://", "https://")):
        raise InvalidInput(
            f"'{control_url}' is not a sandbox control URL; give one like http://127.0.0.1:8765."
        )
    try:
        response = httpx.get(f"{control}/", timeout=timeout)
        response.raise_for_status()
        data = response.json()
    except httpx.HTTPError as error:
        raise ConfigurationError(
            f"Cannot reach the sandbox at {control} ({type(error).__name__}); start it with 'crewboard sandbox'."
        ) from None
    except ValueError:
        raise ConfigurationError(f"{control} did not answer like a Crewboard sandbox control API.") from None
    try:
        return SandboxEndpoints(
            control=str(data.get("control") or control).rstrip("/"),
            google=str(data["google"]).rstrip("/"),
            microsoft=str(data["microsoft"]).rstrip("/"),
            graph=str(data["graph"]).rstrip("/"),
            ca=str(data["ca"]),
        )
    except (KeyError, TypeError, AttributeError):
        raise ConfigurationError(f"{control} did not answer like a Crewboard sandbox control API.") from None


# --- completing the sandbox's sign-in pages without a person ------------------------------------


class _FormParser(HTMLParser):
    """The first <form> of a page: its action, method, and fields (hidden, text, radio, buttons)."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.method = "GET"
        self.fields: list[dict[str, str]] = []
        self._in_form = False
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form" and not self._done and not self._in_form:
            self._in_form = True
            self.action = values.get("action", "")
            self.method = (values.get("method") or "GET").upper()
        elif self._in_form and tag in ("input", "button"):
            default_type = "submit" if tag == "button" else "text"
            self.fields.append({**values, "type": (values.get("type") or default_type).lower()})

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._in_form:
            self._in_form = False
            self._done = True


_ALLOW = ("allow", "accept", "yes", "continue", "next")


class SandboxApprover:
    """Plays the person at the sandbox's sign-in pages: picks `email`, allows, follows the redirect.

    It really fetches the authorize URL, parses the HTML form, chooses the account and submits it,
    so the app's loopback receiver gets the code exactly as from a browser. Use it as the `browser`
    of a sign-in (`approver(url)`), or `approver.device(verification_uri, user_code)`.
    """

    def __init__(self, email: str, ca_file: str | None = None, timeout: float = 30.0) -> None:
        self.email = email.strip().lower()
        self._verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
        self._timeout = timeout
        self.pages: list[str] = []  # the URLs visited, for diagnostics

    def __call__(self, url: str) -> bool:
        self._walk(url, {})
        return True

    def device(self, verification_uri: str, user_code: str) -> None:
        self._walk(verification_uri, {"otc": user_code, "user_code": user_code})

    def _walk(self, url: str, typed: Mapping[str, str]) -> None:
        with httpx.Client(verify=self._verify, timeout=self._timeout, follow_redirects=False) as client:
            response = client.get(url)
            for _step in range(12):
                self.pages.append(str(response.url).split("?", 1)[0])
                if response.is_redirect:
                    response = client.get(urljoin(str(response.url), response.headers["location"]))
                    continue
                if response.status_code >= 400:
                    raise SandboxSignInError(
                        f"The sandbox sign-in page answered HTTP {response.status_code}: {_text_of(response.text)}"
                    )
                form = _FormParser()
                form.feed(response.text)
                if form.action is None:
                    return  # a page without a form: the loopback's "you can close this window"
                data = self._fill(form, typed)
                target = urljoin(str(response.url), form.action)
                if form.method == "POST":
                    response = client.post(target, data=data)
                else:
                    response = client.get(target, params=data)
        raise SandboxSignInError("The sandbox sign-in did not finish within 12 pages.")

    def _fill(self, form: _FormParser, typed: Mapping[str, str]) -> dict[str, str]:
        data: dict[str, str] = {}
        radios: dict[str, list[str]] = {}
        submit: tuple[str, str] | None = None
        for field in form.fields:
            name, kind, value = field.get("name", ""), field["type"], field.get("value", "")
            if kind == "radio" and name:
                radios.setdefault(name, []).append(value)
            elif kind == "submit":
                if name and value.lower() in _ALLOW and submit is None:
                    submit = (name, value)
            elif kind in ("text", "email") and name:
                data[name] = typed.get(name, self.email if kind == "email" or "login" in name else value)
            elif name:
                data[name] = value
        for name, options in radios.items():
            chosen = next((o for o in options if o.lower() == self.email), None)
            if chosen is None:
                raise SandboxSignInError(
                    f"The sandbox offers no account {self.email} to sign in with (it has: "
                    f"{', '.join(options) or 'none'}); create it first."
                )
            data[name] = chosen
        if submit is not None:
            data[submit[0]] = submit[1]
        return data


class SandboxSignInError(ConfigurationError):
    """The sandbox's sign-in pages could not be completed for the requested account."""


def _text_of(page: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())[:300]
