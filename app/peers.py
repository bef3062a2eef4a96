"""Who is asking: one grouping of a request's peer address, shared by the web server's per-source
limit (app.web.connections) and the push routes' log lines (sync.push_checks), so a refusal the
server logs and one the routes log name the same sender.

Standard library only: the web server may know nothing of Crewboard, and sync never imports it.
"""

from __future__ import annotations

import ipaddress
from typing import Any


def source_of(peer: Any) -> str:
    """The peer's address, or an IPv6 address's /64 (one host holds a whole /64, so counting its
    addresses one by one would let it open a connection from each)."""
    host = str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        if address.is_loopback:
            return str(address)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
