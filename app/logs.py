"""Logging setup: one rotating log file per user, with secrets redacted before anything is written.

Tokens, authorization codes and Authorization headers never reach a log line: the filter below
rewrites every record, whoever logged it (our code or a client library).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
import traceback
from pathlib import Path

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


_configured = False


def configure_logging(level: int = logging.INFO) -> None:
    """Send our log records (and client libraries' warnings) to the log file, redacted."""
    global _configured
    if _configured:
        return
    root = logging.getLogger()
    try:
        log_dir().mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            log_file(), maxBytes=5_000_000, backupCount=3, encoding="utf-8"
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
    _configured = True


def crash_report() -> Path:
    """Write the current exception's traceback to the log file and return its path."""
    text = redact(traceback.format_exc())
    path = log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(f"CRASH\n{text}\n")
    except OSError:
        sys.stderr.write(text)
    return path
