"""Outgoing webhook HTTP, guarded against server-side request forgery.

A webhook URL is chosen by a user, so it is hostile input: without a guard, Arbiter's workers would POST to
whatever the URL names, including the cloud metadata service (169.254.169.254), the database, Redis or an
admin panel on the internal network. The rules:

- only `http` and `https`;
- every address the host resolves to must be globally routable: loopback, private, link-local, multicast,
  reserved, unspecified and shared (CGNAT) addresses are refused;
- unless an administrator allows the host in `WEBHOOK_ALLOWED_HOSTS` (a host name, an IP address or a
  network in CIDR form);
- at send time the name is resolved once, the connection is made to a vetted address, and the address the
  socket actually connected to is checked again (so a DNS answer that changes between the check at save
  and the send, "DNS rebinding", does not get through); TLS still verifies the certificate for the host name
  (SNI and the Host header carry the name);
- redirects are never followed: a 3xx answer is a failed attempt.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeDestination(Exception):
    """A webhook URL that may not be called. `code` is machine-readable, the message says why."""

    def __init__(self, message: str, *, code: str = "webhook_url_refused"):
        super().__init__(message)
        self.message = message
        self.code = code


# --- The rules ----------------------------------------------------------------------------------------------


def _normalise_host(host: str) -> str:
    return host.strip().lower().rstrip(".")


def allowlist() -> tuple[frozenset[str], tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]]:
    """The administrator's exceptions: host names, and addresses or networks."""
    names, networks = set(), []
    for entry in settings.WEBHOOK_ALLOWED_HOSTS:
        entry = entry.strip().strip("[]")
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(_normalise_host(entry))
    return frozenset(names), tuple(networks)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses a tunnelling IPv6 address carries: 6to4 (2002::/16, which Python calls global
    whatever it embeds) and Teredo (2001::/32: its server and its client)."""
    embedded = []
    if address.sixtofour is not None:
        embedded.append(("6to4", address.sixtofour))
    if address.teredo is not None:
        embedded.extend(("Teredo", ipv4) for ipv4 in address.teredo)
    return embedded


def address_refusal(address: IPAddress) -> str | None:
    """Why an address is internal (and so refused unless allowed), or None for a public address. An IPv6
    address that embeds an IPv4 address is judged by that address too."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address_refusal(address.ipv4_mapped)
    if isinstance(address, ipaddress.IPv6Address):
        for kind, ipv4 in _embedded_ipv4(address):
            reason = address_refusal(ipv4)
            if reason:
                return f"{kind} (embedding a {reason} IPv4 address)"
    for attribute, label in (
        ("is_unspecified", "unspecified"),
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_private", "private"),
        ("is_reserved", "reserved"),
    ):
        if getattr(address, attribute):
            return label
    if not address.is_global:
        return "not publicly routable"
    return None


def _allowed(host: str, address: IPAddress) -> bool:
    names, networks = allowlist()
    if _normalise_host(host) in names:
        return True
    return any(address.version == network.version and address in network for network in networks)


def check_address(host: str, address: IPAddress) -> None:
    """Raise UnsafeDestination if `host`'s address `address` may not be called."""
    reason = address_refusal(address)
    if reason and not _allowed(host, address):
        raise UnsafeDestination(
            f"{host} resolves to {address}, a {reason} address. Webhooks may only call public addresses; an "
            "administrator can allow this host in WEBHOOK_ALLOWED_HOSTS.",
            code="webhook_url_private_address",
        )


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with the query string


def parse(url: str) -> Target:
    """Split a webhook URL, refusing anything but absolute http(s) URLs without credentials."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeDestination(f"Not a valid URL: {exc}.", code="webhook_url_invalid") from exc
    if parts.scheme not in {"http", "https"}:
        raise UnsafeDestination("Webhook URLs must start with http:// or https://.", code="webhook_url_scheme")
    if not parts.hostname:
        raise UnsafeDestination("The URL names no host.", code="webhook_url_invalid")
    if parts.username or parts.password:
        raise UnsafeDestination(
            "Put no credentials in the URL: receivers verify the signature instead.", code="webhook_url_invalid"
        )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path)


def resolve(host: str, port: int) -> list[tuple[int, tuple]]:
    """(family, sockaddr) for every address of `host`; an IP literal resolves to itself."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeDestination(f"{host} does not resolve to an address.", code="webhook_url_unresolvable") from exc
    return [(family, sockaddr) for family, _, _, _, sockaddr in infos]


def check_url(url: str) -> Target:
    """Validate a webhook URL as it is saved: scheme, and every address its host resolves to now."""
    target = parse(url)
    for _, sockaddr in resolve(target.host, target.port):
        check_address(target.host, ipaddress.ip_address(sockaddr[0]))
    return target


# --- The connection ---------------------------------------------------------------------------------------


class _GuardedConnectionMixin:
    """Resolve once, connect only to vetted addresses, and check the peer the socket really reached."""

    def _new_conn(self) -> socket.socket:
        host = self._dns_host.strip("[]")
        refusal: UnsafeDestination | None = None
        last_error: OSError | None = None
        for family, sockaddr in resolve(host, self.port):
            try:
                check_address(host, ipaddress.ip_address(sockaddr[0]))
            except UnsafeDestination as exc:
                refusal = exc
                continue
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(self.timeout if isinstance(self.timeout, int | float) else None)
                sock.connect(sockaddr)
                check_address(host, ipaddress.ip_address(sock.getpeername()[0]))
            except (OSError, UnsafeDestination) as exc:
                sock.close()
                if isinstance(exc, UnsafeDestination):
                    refusal = exc
                else:
                    last_error = exc
                continue
            return sock
        if refusal is not None and last_error is None:
            raise refusal
        raise urllib3.exceptions.NewConnectionError(self, f"could not connect to {host}: {last_error}")


class GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: a status code (None when no response came back) and an error text."""

    status: int | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> Outcome:
    """POST `body` to `url` through the guarded connection. Never follows redirects, never raises for
    network trouble: the outcome says what happened."""
    try:
        target = parse(url)
    except UnsafeDestination as exc:
        return Outcome(None, exc.message)
    pool_class = GuardedHTTPSConnectionPool if target.scheme == "https" else GuardedHTTPConnectionPool
    pool = pool_class(target.host, target.port, timeout=urllib3.Timeout(connect=timeout, read=timeout), maxsize=1)
    try:
        response = pool.urlopen(
            "POST", target.path, body=body, headers=headers, redirect=False, retries=False, preload_content=False
        )
        response.read(64 * 1024, decode_content=False)  # a little of the answer, so the receiver sees a clean close
        response.release_conn()
    except UnsafeDestination as exc:
        return Outcome(None, exc.message)
    except urllib3.exceptions.HTTPError as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:500])
    finally:
        pool.close()
    if 300 <= response.status < 400:
        location = response.headers.get("Location", "")
        return Outcome(response.status, f"Redirect to {location or '(no location)'} not followed.")
    if not 200 <= response.status < 300:
        return Outcome(response.status, f"The receiver answered HTTP {response.status}.")
    return Outcome(response.status)
