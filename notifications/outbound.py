"""Requests Peerly makes to addresses its customers give (Slack's incoming webhooks, later outgoing
webhooks): only to the public internet, checked when the address is saved and again before each
delivery (DNS can change in between).

A URL must be `https`, its host must resolve, and every address it resolves to must be public: no
private, loopback, link-local (cloud metadata at 169.254.169.254), shared (100.64/10), multicast or
reserved address. `PEERLY_OUTBOUND_ALLOW_LOOPBACK_HTTP` (tests and the demo only) lets `http` to a
loopback host through. Deliveries do not follow redirects and read at most 64 KB of an answer.
"""

import ipaddress
import socket
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings

MAX_RESPONSE_BYTES = 64 * 1024
# IPv6 prefixes that carry IPv4 addresses (NAT64, 6to4, Teredo): Python calls some of them global, but
# they can reach a private IPv4 network behind a gateway.
TUNNELS = [ipaddress.ip_network(net) for net in ("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001::/32")]
TIMEOUT_SECONDS = 5


class OutboundUrlRefused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to (the tests replace this with a stub resolver)."""
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def _loopback_allowed(host: str) -> bool:
    return settings.PEERLY_OUTBOUND_ALLOW_LOOPBACK_HTTP and host in ("127.0.0.1", "::1", "localhost")


def outbound_url_check(url: str) -> None:
    """Refuse (OutboundUrlRefused, with a reason to show) a URL Peerly must not send to."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise OutboundUrlRefused("Not a valid URL.") from None
    host = parts.hostname or ""
    loopback_allowed = _loopback_allowed(host)
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback_allowed):
        raise OutboundUrlRefused("Must be an https:// URL.")
    if not host or parts.username or parts.password:
        raise OutboundUrlRefused("Must name a host, without a user name or password.")
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        raise OutboundUrlRefused(f"{host} does not resolve.") from None
    if not addresses:
        raise OutboundUrlRefused(f"{host} does not resolve.")
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if ip.is_loopback and loopback_allowed:
            continue
        tunnelled = ip.version == 6 and (ip.ipv4_mapped is not None or any(ip in net for net in TUNNELS))
        if not ip.is_global or ip.is_multicast or tunnelled:
            raise OutboundUrlRefused(f"{host} resolves to a private or reserved address ({ip}).")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a 3xx is an answer like any other (an error): never followed


def opener() -> urllib.request.OpenerDirector:
    """urllib without redirects (and without the environment's proxies)."""
    return urllib.request.build_opener(_NoRedirects, urllib.request.ProxyHandler({}))
