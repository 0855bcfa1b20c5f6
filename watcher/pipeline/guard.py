"""The SSRF guard: which addresses a fetch may reach, checked by name and at the socket.

Owns the address policy (private, loopback, link-local, multicast, reserved, unspecified
and other non-global addresses are refused), the check of a hop's host name before
connecting (`vet_hop`, including the rule that a feed's first hop on a private address is
the user's choice and turns the guard off for that fetch), and the checked connections:
urllib3 connections and a requests adapter (`VettedAdapter`) that look at the socket's
actual peer right after the TCP connect, before any byte is written (not even a TLS
ClientHello), and again when a kept-alive connection is reused. The second check is what
defeats DNS rebinding, where a name answers a public address to the check and 127.0.0.1 to
the connection. Through a proxy only the name check applies: the socket goes to the proxy
(its own address is not checked) and the proxy resolves the name itself, so it must
enforce its own policy against rebinding.

Does not own: whether a fetch is guarded at all (`fetch.allow_private_networks`, read by
`pipeline.fetch`), following redirects, the wording of a refusal as users read it (the
fetcher names the URL and the hop), or any other HTTP concern (`pipeline.fetch`).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal
from urllib.parse import urlsplit

import requests.adapters
import urllib3
import urllib3.connection

Guard = Literal["feed", "page"]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(Exception):
    """A guarded hop would reach a non-public address: by name (`at_peer` False, raised
    before connecting) or at the socket (`at_peer` True: the name said otherwise, DNS
    rebinding). Not an OSError, so urllib3 neither retries nor wraps it."""

    def __init__(self, address: Address, *, at_peer: bool):
        super().__init__(str(address))
        self.address, self.at_peer = address, at_peer


# -- the policy ---------------------------------------------------------------------------
def _ip(text: str) -> Address:
    """An address from getaddrinfo/getpeername: scope id dropped, IPv4-mapped IPv6 unwrapped."""
    address = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _is_public(address: Address) -> bool:
    return not (address.is_private or address.is_loopback or address.is_link_local
                or address.is_multicast or address.is_reserved or address.is_unspecified
                or not address.is_global)


def address_kind(address: Address) -> str:
    """Why an address is not public, in a word or two ("loopback", "link-local"…)."""
    kinds = [("unspecified", address.is_unspecified), ("loopback", address.is_loopback),
             ("link-local", address.is_link_local), ("multicast", address.is_multicast),
             ("private", address.is_private), ("reserved", address.is_reserved)]
    return next((name for name, applies in kinds if applies), "not globally routable")


# -- by name, before connecting -----------------------------------------------------------
def _addresses(url: str) -> list[Address]:
    """Every address the URL's host resolves to (none when it does not resolve)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError, UnicodeError):
        return []  # the request itself will fail with a clear connection error
    return [_ip(str(info[4][0])) for info in infos]


def vet_hop(url: str, guard: Guard, first_hop: bool) -> bool:
    """Whether to keep guarding after resolving this hop's host; `Refused` when it resolves
    to a non-public address.

    A feed's first hop that resolves to a non-public address (or does not resolve) is not
    refused: it returns False, turning the guard off for the whole fetch, since the user
    configured that feed."""
    addresses = _addresses(url)
    refused = next((a for a in addresses if not _is_public(a)), None)
    if guard == "feed" and first_hop:
        return bool(addresses) and refused is None
    if refused is not None:
        raise Refused(refused, at_peer=False)
    return True


# -- at the socket ----------------------------------------------------------------------
# Whether the request being sent on this thread is guarded; set by `guarding` around the
# requests call, read by the connections below while requests connects.
_GUARDED: ContextVar[bool] = ContextVar("watcher_fetch_guarded", default=False)


@contextmanager
def guarding(on: bool) -> Iterator[None]:
    """Connections made (or reused) on this thread inside the block check their peer when `on`."""
    token = _GUARDED.set(on)
    try:
        yield
    finally:
        _GUARDED.reset(token)


def _vet_peer(conn: urllib3.connection.HTTPConnection, sock: socket.socket) -> None:
    """Close and refuse a guarded direct connection whose peer is not public.

    The peer is where the request's bytes would go, whatever a second DNS answer said.
    A proxy's own address is not checked (the proxy connects onwards, not us)."""
    if not _GUARDED.get() or conn.proxy is not None:
        return
    address = _ip(str(sock.getpeername()[0]))
    if not _is_public(address):
        sock.close()
        raise Refused(address, at_peer=True)


class _VettedHTTPConnection(urllib3.connection.HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # connected, nothing sent yet
        _vet_peer(self, sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is not None:  # kept alive from an earlier, maybe unguarded, request
            _vet_peer(self, self.sock)
        super().request(*args, **kwargs)


class _VettedHTTPSConnection(urllib3.connection.HTTPSConnection):
    """As above; certificate checks and SNI still use the URL's host name."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # before the TLS handshake
        _vet_peer(self, sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is not None:
            _vet_peer(self, self.sock)
        super().request(*args, **kwargs)


class _VettedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _VettedHTTPConnection


class _VettedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _VettedHTTPSConnection


class VettedAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter with vetted direct connections (proxied ones keep urllib3's own)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _VettedHTTPPool,
                                                   "https": _VettedHTTPSPool}
