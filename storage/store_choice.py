"""The desk's saved choice of store: `url` under `[store]` in settings.toml.

A desk in an office opens the office's PostgreSQL store on every start without anyone typing
`--db`: the first-run window's "Connect to an office store" saves the address here, and
`storage.database.database_url` reads it after `--db` and CREWBOARD_DB, before the default file.

The address must carry no password: settings.toml is a plain file, and libpq reads the password
from ~/.pgpass (or PGPASSWORD) by itself, so it never needs to be written here.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs

from app.errors import InvalidInput

SECTION = "store"
KEY = "url"
SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
EXAMPLE = "postgresql://dispatch@office-server/crewboard"
_HEADER = re.compile(r"^\s*\[\s*store\s*\]\s*(#.*)?$")
_ANY_HEADER = re.compile(r"^\s*\[")
_KEY_LINE = re.compile(r"^\s*url\s*=")


def settings_file() -> Path:
    """settings.toml in the user's config folder: the file sync.providers.config reads too."""
    return Path(platformdirs.user_config_dir("crewboard")) / "settings.toml"


def saved_setting(path: Path, section: str, key: str) -> object:
    """`key` under `[section]` in the settings file at `path`, as TOML gave it; None when the file,
    the section or the key is missing. A file that cannot be read is InvalidInput naming it."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise InvalidInput(f"Cannot read the settings file {path} ({error}); fix or remove it.") from None
    table = data.get(section, {})
    return table.get(key) if isinstance(table, dict) else None


def saved_store_url(path: Path | None = None) -> str | None:
    """The store address saved for this desk, or None when there is none."""
    path = path or settings_file()
    value = saved_setting(path, SECTION, KEY)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"url under [store] in {path} must be a database address; fix or remove it.")
    return value.strip()


def is_office_url(url: str) -> bool:
    """Whether `url` names an office store (PostgreSQL), where the office service owns sync."""
    return urlsplit(url.strip()).scheme.lower() in SCHEMES


def check_office_url(text: str) -> str:
    """`text` as an office store address, or InvalidInput saying what to change."""
    url = text.strip()
    if not url:
        raise InvalidInput(f"Enter the office store's address, like {EXAMPLE}.")
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        raise InvalidInput(f"An office store is a PostgreSQL address starting postgresql://, like {EXAMPLE}.")
    try:
        port = parts.port
    except ValueError:
        raise InvalidInput("The port after the server's name must be a number, like :5432.") from None
    if not parts.hostname:
        raise InvalidInput(f"Name the server after postgresql://, like {EXAMPLE}.")
    if parts.password is not None:
        raise InvalidInput(
            "Leave the password out of the address: it would be saved in a plain file. "
            "Put it in ~/.pgpass (or PGPASSWORD) on this computer instead."
        )
    if not parts.path.strip("/"):
        raise InvalidInput(f"Name the database after the server, like {EXAMPLE}.")
    del port  # read only to check it
    return url


def save_store_url(text: str, path: Path | None = None) -> Path:
    """Save `text` (checked) as this desk's store; the rest of settings.toml stays as written."""
    url = check_office_url(text)
    path = path or settings_file()
    try:
        current = path.read_text("utf-8")
    except FileNotFoundError:
        current = ""
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(f"Cannot read the settings file {path} ({error}); fix or remove it.") from None
    updated = with_store_url(current, url)
    try:
        read_back = tomllib.loads(updated).get(SECTION, {}).get(KEY)
    except tomllib.TOMLDecodeError:
        read_back = None
    if read_back != url:
        raise InvalidInput(
            f"The settings file {path} could not be updated as written; fix it, then try again."
        )
    _write_private(path, updated)
    return path


def with_store_url(text: str, url: str) -> str:
    """settings.toml text with `url = "<url>"` under [store], replacing an earlier one."""
    line = f"{KEY} = {json.dumps(url)}"  # a JSON string is a valid TOML basic string
    lines = text.splitlines()
    header = next((i for i, item in enumerate(lines) if _HEADER.match(item)), None)
    if header is None:
        tail = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        return f"{text}{tail}[{SECTION}]\n{line}\n"
    end = next((i for i in range(header + 1, len(lines)) if _ANY_HEADER.match(lines[i])), len(lines))
    existing = next((i for i in range(header + 1, end) if _KEY_LINE.match(lines[i])), None)
    if existing is None:
        lines.insert(header + 1, line)
    else:
        lines[existing] = line
    return "\n".join(lines) + "\n"


def _write_private(path: Path, text: str) -> None:
    """Write all of `text` or nothing: a temporary file beside `path`, readable by this user only."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".settings-", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            Path(temporary).replace(path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise InvalidInput(
            f"Cannot save the settings file {path} ({error.strerror or error}); check that folder."
        ) from None
