"""Which address a request comes from, for the login lockout and the API's throttles.

The peer's address, unless the peer is a proxy the operator trusts (FORWARDED_ALLOW_IPS, the
same list gunicorn reads): then the address that proxy saw, the last one in X-Forwarded-For.
Any other X-Forwarded-For is ignored, so a client cannot pick its own address to dodge a
lockout or a throttle."""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(request: HttpRequest) -> str:
    """The address of the client that sent `request` (see the module's docstring)."""
    peer = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and is_trusted_proxy(peer):
        return forwarded.rsplit(",", 1)[-1].strip() or peer
    return peer


def is_trusted_proxy(address: str) -> bool:
    """Whether `address` is in FORWARDED_ALLOW_IPS (addresses or networks; "*" for any)."""
    allowed = tuple(settings.FORWARDED_ALLOW_IPS)
    if "*" in allowed:
        return True
    try:
        peer = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(peer in network for network in _networks(allowed))


@lru_cache(maxsize=8)
def _networks(allowed: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in allowed if item)
