"""Logging setup: one rotating log file per user, with secrets redacted before anything is written.

Tokens, authorization codes and Authorization headers never reach a log line: the filter below
rewrites every record, whoever logged it (our code or a client library).

The log names customers and technicians, so on a shared computer it is this user's alone: the log
folder is made 0700 and every log file (rotated ones too) 0600; an older, wider folder or file is
tightened at start, with one log line saying which.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import stat
import sys
import traceback
from pathlib import Path
from typing import Any

import platformdirs

_SECRET_PATTERNS = [
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?(?:bearer|basic)\s+)[^\s'\",}]+"),
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(
        r"(?i)(['\"]?(?:access_token|refresh_token|id_token|client_secret|code|code_verifier|"
        r"device_code|token|assertion|password|clientState|validationToken)['\"]?\s*[:=]\s*['\"]?)"
        r"[^\s'\"&,}]+"
    ),
]


def redact(text: str) -> str:
    """`text` with every credential-looking value replaced by [redacted]."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: f"{m.group(1)}[redacted]", text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


def log_dir() -> Path:
    configured = os.environ.get("CREWBOARD_LOG_DIR")
    return Path(configured) if configured else Path(platformdirs.user_log_dir("crewboard"))


def log_file() -> Path:
    return log_dir() / "crewboard.log"


LOG_FOLDER_MODE = 0o700
LOG_FILE_MODE = 0o600
_ROTATED = 3


def _private_opener(path: str, flags: int) -> int:
    """os.open for log files: created readable by this user only."""
    return os.open(path, flags, LOG_FILE_MODE)


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A RotatingFileHandler whose files (the new one after each rotation too) are 0600."""

    def _open(self) -> Any:
        return open(
            self.baseFilename, self.mode, encoding=self.encoding, errors=self.errors, opener=_private_opener
        )


def _make_log_private() -> list[str]:
    """Create the log folder 0700; tighten it and existing log files other users can read."""
    folder = log_dir()
    folder.mkdir(mode=LOG_FOLDER_MODE, parents=True, exist_ok=True)
    if os.name != "posix":
        return []
    tightened = []
    main = log_file()
    for path, mode in [
        (folder, LOG_FOLDER_MODE),
        (main, LOG_FILE_MODE),
        *((main.with_name(f"{main.name}.{n}"), LOG_FILE_MODE) for n in range(1, _ROTATED + 1)),
    ]:
        try:
            current = stat.S_IMODE(path.stat().st_mode)
            if current & 0o077:
                path.chmod((current & ~0o077) | mode)
                tightened.append(str(path))
        except FileNotFoundError:
            continue
        except OSError:
            continue  # not ours to change (a folder someone else set up); the log still works
    return tightened


_configured = False


def configure_logging(level: int = logging.INFO) -> None:
    """Send our log records (and client libraries' warnings) to the log file, redacted."""
    global _configured
    if _configured:
        return
    root = logging.getLogger()
    tightened: list[str] = []
    try:
        tightened = _make_log_private()
        handler: logging.Handler = PrivateRotatingFileHandler(
            log_file(), maxBytes=5_000_000, backupCount=_ROTATED, encoding="utf-8"
        )
    except OSError:
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("urllib3", "httpx", "httpcore", "googleapiclient.discovery_cache", "msal"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Warnings go to the log, never to the user's terminal: a client library may start warning on
    # a date (google-api-core's end-of-life notice for the running Python, from 2027-07-26 on 3.11),
    # and "one sentence on stderr" must hold whatever the date. Python's default filters already
    # show each warning once per place it is raised, so the log gets it once per run.
    logging.captureWarnings(True)
    _configured = True
    if tightened:
        logging.getLogger(__name__).warning(
            "Made private to this user (other accounts on this computer could read them): %s",
            ", ".join(tightened),
        )


def crash_report() -> Path:
    """Write the current exception's traceback to the log file and return its path."""
    text = redact(traceback.format_exc())
    path = log_file()
    try:
        path.parent.mkdir(mode=LOG_FOLDER_MODE, parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8", opener=_private_opener) as handle:
            handle.write(f"CRASH\n{text}\n")
    except OSError:
        sys.stderr.write(text)
    return path
