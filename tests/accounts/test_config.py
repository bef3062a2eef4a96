"""Client ids and endpoints: environment over settings.toml, a clear sentence when one is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.providers.config import (
    README_SECTION,
    ConfigurationError,
    google_settings,
    microsoft_settings,
    settings_path,
)
from sync.providers.endpoints import read_endpoints
from sync.sandbox.server import Sandbox


def test_settings_file_lives_in_the_user_config_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert settings_path() == tmp_path / "crewboard" / "settings.toml"


def test_environment_wins_over_the_settings_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(
        '[google]\nclient_id = "file-id"\nclient_secret = "file-secret"\n'
        '[microsoft]\nclient_id = "ms-file-id"\ntenant = "organizations"\n'
    )
    assert google_settings({}, path).client_id == "file-id"
    assert google_settings({"CREWBOARD_GOOGLE_CLIENT_ID": "env-id"}, path).client_id == "env-id"
    assert google_settings({}, path).token_uri == "https://oauth2.googleapis.com/token"
    ms = microsoft_settings({"CREWBOARD_MICROSOFT_TENANT": "contoso.onmicrosoft.com"}, path)
    assert (ms.client_id, ms.authority) == (
        "ms-file-id",
        "https://login.microsoftonline.com/contoso.onmicrosoft.com",
    )
    assert (
        microsoft_settings({"CREWBOARD_MICROSOFT_CLIENT_ID": "x"}, tmp_path / "none.toml").tenant == "common"
    )


def test_a_missing_client_id_says_how_to_register_one(tmp_path: Path) -> None:
    missing = tmp_path / "none.toml"
    with pytest.raises(ConfigurationError) as google:
        google_settings({}, missing)
    assert README_SECTION in str(google.value) and "CREWBOARD_GOOGLE_CLIENT_ID" in str(google.value)
    with pytest.raises(ConfigurationError) as microsoft:
        microsoft_settings({}, missing)
    assert README_SECTION in str(microsoft.value) and "CREWBOARD_MICROSOFT_CLIENT_ID" in str(microsoft.value)
    readme = (Path(__file__).parents[2] / "README.md").read_text("utf-8")
    assert f"## {README_SECTION}" in readme


def test_an_unreadable_settings_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("[google\n")
    with pytest.raises(ConfigurationError, match="Cannot read the settings file"):
        google_settings({}, path)


def test_sandbox_endpoints_come_from_its_control_api(sandbox: Sandbox) -> None:
    endpoints = read_endpoints(sandbox.urls.control)
    google = endpoints.google_settings()
    assert google.token_uri == f"{sandbox.urls.google}/token"
    assert google.api_endpoint == f"{sandbox.urls.google}/calendar/v3/"
    microsoft = endpoints.microsoft_settings()
    assert microsoft.authority == f"{sandbox.urls.microsoft}/common"
    assert microsoft.ca_file == sandbox.urls.ca and microsoft.instance_discovery is False
    assert microsoft.graph_base == sandbox.urls.graph


def test_an_unreachable_sandbox_is_one_sentence(sandbox: Sandbox) -> None:
    with pytest.raises(ConfigurationError, match="Cannot reach the calendar server"):
        read_endpoints("http://127.0.0.1:9")
