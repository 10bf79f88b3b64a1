"""The client's address: what rate limits, the login lockout and the logs key on.

``X-Forwarded-For`` is a header anyone can send. It says something only when a proxy we
run wrote it, so it is ignored unless the operator says which proxies to trust, in one
of two ways (settings, from the environment):

``TRUSTED_PROXY_COUNT`` (``N``, default 0)
    exactly ``N`` proxies of ours stand in front of the application, each appending the
    address it received the request from (nginx's ``$proxy_add_x_forwarded_for``, a cloud
    load balancer). The client is then the ``N``-th address from the right; whatever a
    client wrote further left is ignored.
``TRUSTED_PROXY_CIDRS`` (default empty)
    the networks our proxies are in. When the direct peer (``REMOTE_ADDR``) is in one of
    them, the header is read from the right, skipping addresses in these networks; the
    first other address is the client.

With neither set (the default) the client is ``REMOTE_ADDR``: rotating
``X-Forwarded-For`` changes nothing. A header that is malformed, or shorter than the
configured proxy count, is not trusted either: the direct peer is used instead.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings

_MAX_HEADER_ADDRESSES = 32  # a limit on everything: a longer header is not ours


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip())


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:51000"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address, networks) -> bool:
    return any(address in network for network in networks)


def client_ip(request) -> str:
    """The client's address as a string (see the module docstring); ``""`` if unknown."""
    meta = getattr(request, "META", {})
    peer = _address(meta.get("REMOTE_ADDR", "") or "")
    peer_text = str(peer) if peer is not None else ""
    count = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    networks = _networks(tuple(getattr(settings, "TRUSTED_PROXY_CIDRS", ()) or ()))
    if count <= 0 and not networks:
        return peer_text
    header = meta.get("HTTP_X_FORWARDED_FOR", "") or ""
    parts = [p for p in header.split(",") if p.strip()]
    if not parts or len(parts) > _MAX_HEADER_ADDRESSES:
        return peer_text
    chain = [_address(p) for p in parts]
    if networks:
        if peer is None or not _trusted(peer, networks):
            return peer_text  # the request did not come through one of our proxies
        for address in reversed(chain):
            if address is None:
                return peer_text
            if not _trusted(address, networks):
                return str(address)
        return str(chain[0])  # every hop is ours: the leftmost is as close as it gets
    if len(chain) < count:
        return peer_text
    address = chain[-count]
    return str(address) if address is not None else peer_text
