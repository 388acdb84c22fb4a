"""Where a webhook may point (SSRF): http or https, no credentials, and a host whose every address is a
public one. Checked when a webhook is made or changed, and again before every attempt, whose connection
goes to the very address checked (a name that resolves elsewhere by then, DNS rebinding, changes nothing).

WEBHOOK_ALLOW_PRIVATE_TARGETS lets loopback and private addresses through (a receiver on the same machine
in development and in the tests); never on in production."""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

SCHEMES = {"http": 80, "https": 443}
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# Addresses that hold another IPv4 address inside an IPv6 one, checked as that IPv4 address.
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Refused(ValueError):
    """A target a webhook may not have; the message says why, for the caller."""


@dataclass(frozen=True)
class Target:
    url: SplitResult
    host: str  # as written, without brackets: the Host header and the TLS name
    port: int

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == SCHEMES[self.url.scheme] else f"{host}:{self.port}"

    def url_at(self, address: Address) -> str:
        """The URL with its host replaced by `address`, to connect to the address that was checked."""
        host = f"[{address}]" if address.version == 6 else str(address)
        path = self.url.path or "/"
        query = f"?{self.url.query}" if self.url.query else ""
        return f"{self.url.scheme}://{host}:{self.port}{path}{query}"


def parse(url: str) -> Target:
    """The URL's parts, or Refused for one a webhook cannot have whatever it resolves to."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise Refused(f"Not a valid URL: {error}.") from None
    if parts.scheme.lower() not in SCHEMES:
        raise Refused("Only http and https URLs can receive webhooks.")
    if parts.username is not None or parts.password is not None:
        raise Refused("The URL may not hold credentials; verify the signature instead.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise Refused("The URL has no host.")
    if "%" in host:
        raise Refused("IPv6 zone ids are not allowed.")
    scheme = parts.scheme.lower()
    return Target(parts._replace(scheme=scheme), host, port or SCHEMES[scheme])


def resolve(target: Target) -> Address:
    """The address to connect to: the first of the host's, when every one of them is allowed."""
    try:
        found = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise Refused(f"The host {target.host!r} does not resolve.") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
    if not addresses:
        raise Refused(f"The host {target.host!r} does not resolve.")
    if not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        for address in addresses:
            if reason := forbidden(address):
                raise Refused(f"The host {target.host!r} resolves to {address}, {reason}.")
    return addresses[0]


def check(url: str) -> Address:
    return resolve(parse(url))


def forbidden(address: Address) -> str | None:
    """Why a webhook may not reach the address (None: a public address)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is None and address in NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return forbidden(embedded)
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified or address.is_reserved:
        return "a reserved address"
    if address.is_private or not address.is_global:
        return "a private address"
    return None
