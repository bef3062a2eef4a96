"""Where each provider's sign-in lives: client ids and endpoints, from settings and environment.

Real accounts need client ids that the business registers itself (see "How to register Google and
Microsoft client ids for real accounts" in README.md). They come from environment variables or from
`settings.toml` in the user's config folder; the environment wins. An account kept on a compatible
server instead (sync.providers.endpoints) needs none of that: the server names its endpoints.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from app.errors import CrewboardError

README_SECTION = "How to register Google and Microsoft client ids for real accounts"

GOOGLE_AUTH_URI = "https://accounts.google.com/o/oauth2/auth"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
GOOGLE_REVOKE_URI = "https://oauth2.googleapis.com/revoke"
GOOGLE_API_ENDPOINT = "https://www.googleapis.com/calendar/v3/"
MICROSOFT_LOGIN = "https://login.microsoftonline.com"
GRAPH_BASE = "https://graph.microsoft.com/v1.0"


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
    endpoint: str | None = None  # the compatible server's directory (None: the public service)


@dataclass(frozen=True, slots=True)
class MicrosoftSettings:
    """A Microsoft Entra "Mobile and desktop" public client and the endpoints it talks to."""

    client_id: str
    tenant: str = "common"
    login_base: str = MICROSOFT_LOGIN
    graph_base: str = GRAPH_BASE
    ca_file: str | None = None  # a private CA to trust (a compatible server's own certificate)
    instance_discovery: bool = True  # False for an authority Microsoft does not know
    endpoint: str | None = None  # the compatible server's directory (None: the public service)

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
