"""Who is calling, by network address: one rule for every service (pure, no I/O).

Behind an ingress and the gateway, the peer a service sees is a proxy; the caller's own
address is what the proxies say. Only proxies we trust may say it: their ranges are
``MOTCUA_TRUSTED_PROXIES`` (comma-separated CIDRs, e.g. the ingress controller's and the
gateway's pod networks). The rule is the usual one for ``X-Forwarded-For``: start with the
direct peer; while the hop at hand is trusted, step one entry to the left; the first
untrusted hop is the caller. A peer we do not trust is the caller, whatever its headers
say, so nobody can make their failures count against someone else's address.

The gateway resolves the address once (``ClientAddressMiddleware``) and passes it on to
the gRPC services as the ``x-motcua-client-address`` metadata and to identity's HTTP
endpoints as the only X-Forwarded-For entry; the services apply the same rule to it
(trusting it only from a trusted peer: the gateway) and expose the outcome as
``current_client_address()``.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# The gRPC metadata in which the gateway names the caller's address.
CLIENT_ADDRESS_METADATA = "x-motcua-client-address"

# An IPv6 subscriber gets a whole /64: throttling single addresses in it would be no throttle.
IPV6_THROTTLE_PREFIX = 64


def parse_address(raw: str) -> IPAddress | None:
    """An address as a header or a peer writes it ("203.0.113.7", "203.0.113.7:443",
    "[2001:db8::1]:443", "2001:db8::1"); None when it is not one (e.g. "unknown")."""
    text = raw.strip().strip('"')
    if text.startswith("["):  # [v6] or [v6]:port
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    text = text.split("%", 1)[0]  # a zone index (fe80::1%eth0) names no other host
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:203.0.113.7 is 203.0.113.7
    return address


def grpc_peer_host(peer: str) -> str:
    """The host of a gRPC peer string ("ipv4:127.0.0.1:5000", "ipv6:[::1]:5000", the brackets
    sometimes percent-encoded); other kinds (unix sockets) as they are."""
    kind, _, rest = unquote(peer or "").partition(":")
    if kind not in ("ipv4", "ipv6"):
        return peer or ""
    address = parse_address(rest)
    return str(address) if address is not None else rest


def throttle_bucket(address: str) -> str:
    """What a throttle counts an address under: itself (IPv4), its /64 (IPv6)."""
    parsed = parse_address(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, IPV6_THROTTLE_PREFIX), strict=False))
    return str(parsed) if parsed is not None else address


@dataclass(frozen=True)
class TrustedProxies:
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, raw: str, setting: str = "MOTCUA_TRUSTED_PROXIES") -> TrustedProxies:
        """Comma-separated CIDRs (a bare address is a /32 or /128); ValueError naming the bad
        one."""
        networks = []
        for item in filter(None, (part.strip() for part in raw.split(","))):
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"{setting} must be comma-separated CIDR ranges, got {item!r}") from None
        return cls(tuple(networks))

    def trusts(self, address: IPAddress | None) -> bool:
        return address is not None and any(address in network for network in self.networks)

    def client_address(self, peer: str, forwarded_for: Iterable[str] = ()) -> str:
        """The caller's address, given the direct peer and the X-Forwarded-For values (each
        header line a comma-separated list, oldest hop first) the request arrived with."""
        current = parse_address(peer)
        if current is None:
            return peer.strip()  # not an IP peer (a unix socket): nothing to resolve
        if not self.trusts(current):
            return str(current)
        chain = [entry for value in forwarded_for for entry in value.split(",") if entry.strip()]
        for entry in reversed(chain):
            hop = parse_address(entry)
            if hop is None:
                break  # garbage to the left of a trusted hop: the last hop we can vouch for
            current = hop
            if not self.trusts(hop):
                break
        return str(current)


_client_address: ContextVar[str] = ContextVar("motcua_client_address", default="")


def current_client_address() -> str:
    """The caller's address in the current request ("" outside one)."""
    return _client_address.get()


@contextlib.contextmanager
def calling_from(address: str) -> Iterator[str]:
    token = _client_address.set(address)
    try:
        yield address
    finally:
        _client_address.reset(token)


def grpc_client_address(peer: str, metadata: Iterable[tuple[str, str | bytes]], trusted: TrustedProxies) -> str:
    """The caller of a gRPC call: its peer, or the address a trusted peer (the gateway) names
    in ``x-motcua-client-address``."""
    named = [v for k, v in metadata if k == CLIENT_ADDRESS_METADATA and isinstance(v, str)]
    return trusted.client_address(grpc_peer_host(peer), named[-1:])


class ClientAddressMiddleware:
    """ASGI middleware: runs each HTTP request with its caller's address as
    current_client_address(). The peer is the TCP peer: uvicorn's own X-Forwarded-For
    handling must be off (proxy_headers=False), or it would apply a second rule first."""

    def __init__(self, app: Callable[..., Awaitable[None]], trusted_proxies: TrustedProxies) -> None:
        self.app = app
        self.trusted = trusted_proxies

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        peer = scope["client"][0] if scope.get("client") else ""
        forwarded = [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
        with calling_from(self.trusted.client_address(peer, forwarded)):
            await self.app(scope, receive, send)
