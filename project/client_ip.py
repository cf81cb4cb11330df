"""One notion of the client's IP address, from the ``TRUSTED_PROXY_COUNT`` setting.

``X-Forwarded-For`` is written by whoever sent the request, so only its rightmost entries, the ones
added by proxies this deployment runs, can be trusted. With ``TRUSTED_PROXY_COUNT = 0`` (no proxy,
``make run``) the client is the TCP peer (``REMOTE_ADDR``) and the header is ignored. With ``n``
proxies in front, the client is the ``n``-th address from the right: the one the outermost trusted
proxy saw. The bundled nginx sets the header to its peer instead of appending (compose sets 1).
DRF's throttles, the log-in limits, /metrics, /readyz and the logs all ask ``client_ip``.
"""

from __future__ import annotations

import ipaddress
import logging

from django.conf import settings
from django.http import HttpRequest

logger = logging.getLogger(__name__)

# Where the answer is kept on the request, so every caller in one request agrees and pays once.
_META_KEY = "project.client_ip"


def client_ip(request: HttpRequest) -> str:
    """Return the client's address as a normalised string ("" only if the peer itself is unknown)."""
    cached = request.META.get(_META_KEY)
    if cached is not None:
        return str(cached)
    peer = _normalise(request.META.get("REMOTE_ADDR", "")) or ""
    address = peer
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        forwarded = [item.strip() for item in request.headers.get("x-forwarded-for", "").split(",")]
        forwarded = [item for item in forwarded if item]
        if len(forwarded) >= count:
            address = _normalise(forwarded[-count]) or peer
        else:
            # A proxy we were told about did not add its entry: trust nothing the client wrote.
            logger.warning(
                "X-Forwarded-For has %d entries, TRUSTED_PROXY_COUNT is %d: using the peer address",
                len(forwarded),
                count,
            )
    request.META[_META_KEY] = address
    return address


def _normalise(raw: str) -> str | None:
    """Return ``raw`` as a canonical IP address string, or None when it is not one."""
    raw = raw.strip()
    if raw.startswith("[") and "]" in raw:  # "[::1]:1234" as some proxies write it
        raw = raw[1 : raw.index("]")]
    elif raw.count(":") == 1:  # "203.0.113.7:1234"
        raw = raw.partition(":")[0]
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


def in_networks(request: HttpRequest, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    """Say whether the client's address lies inside one of ``networks``."""
    address = client_ip(request)
    if not address:
        return False
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in networks)
