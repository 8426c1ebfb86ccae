"""The real client address, for both edges (HTTP and Socket.IO).

The peer, or, when the peer is one of TRUSTED_PROXIES, the nearest address in
X-Forwarded-For that is not itself a trusted proxy. Without this, behind a TLS proxy
every client shares one address: one sign-in limit, one connection cap, one audit IP.
From an untrusted peer the header is ignored (anyone can write it).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping


def client_address(peer: str | None, headers: Mapping[str, str], trusted: tuple[str, ...]) -> str:
    peer = peer or "unknown"
    if not trusted or not _in(peer, trusted):
        return peer
    hops = [h.strip() for h in headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _in(hop, trusted):
            return hop if _valid(hop) else peer
    return peer


def _valid(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def _in(address: str, cidrs: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(c, strict=False) for c in cidrs)
