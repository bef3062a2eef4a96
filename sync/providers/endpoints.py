"""Accounts kept on a compatible server rather than at Google or Microsoft: where its hosts listen.

A compatible server (the provider sandbox of `crewboard sandbox` and the demo, or any double of the
Google Calendar and Microsoft Graph APIs with their sign-in servers) lists its hosts and its
certificate authority as JSON at one address, its directory. An account's `endpoint` is that
address; None means the public service. Such a server accepts the client ids below, so none has
to be registered.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from app.errors import InvalidInput
from sync.providers.config import ConfigurationError, GoogleSettings, MicrosoftSettings

COMPATIBLE_GOOGLE_CLIENT_ID = "crewboard-sandbox.apps.googleusercontent.com"
COMPATIBLE_GOOGLE_CLIENT_SECRET = "crewboard-sandbox-secret"
COMPATIBLE_MICROSOFT_CLIENT_ID = "00000000-0000-4000-8000-00000000c7eb"
COMPATIBLE_MICROSOFT_TENANT = "common"


@dataclass(frozen=True, slots=True)
class ServerEndpoints:
    """What a compatible server answers at its directory, `GET {directory}/`."""

    directory: str
    google: str
    microsoft: str
    graph: str
    ca: str

    def google_settings(self) -> GoogleSettings:
        return GoogleSettings(
            client_id=COMPATIBLE_GOOGLE_CLIENT_ID,
            client_secret=COMPATIBLE_GOOGLE_CLIENT_SECRET,
            auth_uri=f"{self.google}/o/oauth2/auth",
            token_uri=f"{self.google}/token",
            revoke_uri=f"{self.google}/revoke",
            api_endpoint=f"{self.google}/calendar/v3/",
            endpoint=self.directory,
        )

    def microsoft_settings(self) -> MicrosoftSettings:
        return MicrosoftSettings(
            client_id=COMPATIBLE_MICROSOFT_CLIENT_ID,
            tenant=COMPATIBLE_MICROSOFT_TENANT,
            login_base=self.microsoft,
            graph_base=_graph_base(self.graph),
            ca_file=self.ca,
            instance_discovery=False,
            endpoint=self.directory,
        )


def _graph_base(graph: str) -> str:
    graph = graph.rstrip("/")
    return graph if graph.endswith("/v1.0") else f"{graph}/v1.0"


def read_endpoints(directory_url: str, timeout: float = 10.0) -> ServerEndpoints:
    """Ask a compatible server where its Google and Microsoft hosts listen."""
    directory = directory_url.rstrip("/")
    if not directory.startswith(("http://", "https://")):
        raise InvalidInput(
            f"'{directory_url}' is not a server directory URL; give one like http://127.0.0.1:8765."
        )
    try:
        response = httpx.get(f"{directory}/", timeout=timeout)
        response.raise_for_status()
        data = response.json()
    except httpx.HTTPError as error:
        raise ConfigurationError(
            f"Cannot reach the calendar server at {directory} ({type(error).__name__}); check that it is running."
        ) from None
    except ValueError:
        raise ConfigurationError(f"{directory} did not answer like a server directory.") from None
    try:
        return ServerEndpoints(
            directory=str(data.get("control") or directory).rstrip("/"),
            google=str(data["google"]).rstrip("/"),
            microsoft=str(data["microsoft"]).rstrip("/"),
            graph=str(data["graph"]).rstrip("/"),
            ca=str(data["ca"]),
        )
    except (KeyError, TypeError, AttributeError):
        raise ConfigurationError(f"{directory} did not answer like a server directory.") from None
