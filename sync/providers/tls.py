"""The TLS settings every HTTPS client of the process shares.

Each httpx client made with `verify=True` builds an SSL context and loads the whole CA bundle
into it: about 50 ms of CPU and 120 KB per client, measured at 1,000 techs (one client per
Microsoft or CalDAV account). An SSL context is meant to be shared by many connections, so one is
made per trust setting and every client uses it.
"""

from __future__ import annotations

import functools
import os
import ssl
from pathlib import Path

import httpx


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """The context that trusts the system's authorities (honouring SSL_CERT_FILE and SSL_CERT_DIR,
    as httpx does), or only a private CA's certificate file when one is given."""
    if ca_file is None:
        return _public(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    try:
        changed = Path(ca_file).stat().st_mtime_ns
    except OSError:
        changed = 0  # let ssl say what is wrong with the file
    return _private(ca_file, changed)


@functools.lru_cache(maxsize=4)
def _public(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    # The environment is part of the key: a process that changes it gets a context that follows.
    return httpx.create_ssl_context(verify=True, trust_env=True)


@functools.lru_cache(maxsize=16)
def _private(ca_file: str, changed: int) -> ssl.SSLContext:
    # The file's change time is part of the key: a CA file written anew is read anew.
    return ssl.create_default_context(cafile=ca_file)
