"""Requests Peerly makes to addresses its customers give (Slack's incoming webhooks, outgoing webhooks):
only to the public internet, checked when the address is saved and again before each delivery (DNS
can change in between).

A URL must be `https`, its host a plain name (letters, digits, dots and hyphens: no percent-encoding,
which urllib would decode after the check) or an IP literal, and every address the host resolves to
must be public: no private, loopback, link-local (cloud metadata at 169.254.169.254), shared
(100.64/10), multicast or reserved address. `PEERLY_OUTBOUND_ALLOW_LOOPBACK_HTTP` (tests and the demo
only) lets `http` to a loopback host through.

`send` connects to an address the check vetted, never resolving the name again (so DNS rebinding
between the check and the connection cannot point it elsewhere), with TLS verified for the name. It
follows no redirect, reads at most 64 KB of an answer, and gives up after 5 seconds in all (a
receiver trickling its answer byte by byte is cut off, not just one that says nothing).
"""

import contextlib
import functools
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

MAX_RESPONSE_BYTES = 64 * 1024
# IPv6 prefixes that carry IPv4 addresses (NAT64, 6to4, Teredo): Python calls some of them global, but
# they can reach a private IPv4 network behind a gateway.
TUNNELS = [ipaddress.ip_network(net) for net in ("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001::/32")]
TIMEOUT_SECONDS = 5
HOST_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$")
PRIVATE = "resolves to a private or reserved address"


class OutboundUrlRefused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to (the tests replace this with a stub resolver)."""
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def _loopback_allowed(host: str) -> bool:
    return settings.PEERLY_OUTBOUND_ALLOW_LOOPBACK_HTTP and host in ("127.0.0.1", "::1", "localhost")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def outbound_url_check(url: str) -> list[str]:
    """The vetted addresses of the URL's host (connect to these, never to the name); refuses
    (OutboundUrlRefused, with a reason to show) a URL Peerly must not send to. The reasons name no
    address: they are shown to customers, who have no business mapping our network."""
    try:
        parts = urlsplit(url)
        port = parts.port if parts.port is not None else (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise OutboundUrlRefused("Not a valid URL.") from None
    host = parts.hostname or ""
    loopback_allowed = _loopback_allowed(host)
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback_allowed):
        raise OutboundUrlRefused("Must be an https:// URL.")
    if not host or parts.username is not None or parts.password is not None:
        raise OutboundUrlRefused("Must name a host, without a user name or password.")
    if not (HOST_NAME.match(host) or _is_ip(host)):
        raise OutboundUrlRefused("The host must be a plain name (letters, digits, dots, hyphens) or an IP address.")
    if not 0 < port < 65536:
        raise OutboundUrlRefused("Not a valid URL.")
    try:
        addresses = [host] if _is_ip(host) else resolve(host, port)
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
            raise OutboundUrlRefused(f"{host} {PRIVATE}.")
    return addresses


# --- sending ------------------------------------------------------------------------


class _Deadline:
    """The request's whole budget: the connection gets what is left of it, and when it runs out a timer
    shuts the socket down (a blocked read then returns at once), however the receiver trickles."""

    def __init__(self, seconds: float) -> None:
        self.ends = time.monotonic() + seconds
        self.expired = False
        self._timers: list[threading.Timer] = []

    def left(self) -> float:
        return max(0.01, self.ends - time.monotonic())

    def watch(self, sock: socket.socket) -> None:
        timer = threading.Timer(self.left(), self._expire, [sock])
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _expire(self, sock: socket.socket) -> None:
        self.expired = True
        with contextlib.suppress(OSError):  # closed already
            sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        for timer in self._timers:
            timer.cancel()


def _pinned_connect(address: str, deadline: _Deadline):
    """socket.create_connection to the vetted `address` instead of the URL's name (same port)."""

    def connect(target, timeout=None, source_address=None):
        sock = socket.create_connection((address, target[1]), min(timeout or deadline.left(), deadline.left()))
        deadline.watch(sock)
        return sock

    return connect


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, address: str, deadline: _Deadline, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _pinned_connect(address, deadline)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the vetted address, with SNI and the certificate checked for the URL's name."""

    def __init__(self, *args, address: str, deadline: _Deadline, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _pinned_connect(address, deadline)


class _PinnedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, address: str, deadline: _Deadline) -> None:
        super().__init__()
        self.connection = functools.partial(_PinnedHTTPConnection, address=address, deadline=deadline)

    def http_open(self, req):
        return self.do_open(self.connection, req)


class _PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, address: str, deadline: _Deadline) -> None:
        super().__init__(context=ssl.create_default_context())
        self.connection = functools.partial(_PinnedHTTPSConnection, address=address, deadline=deadline)

    def https_open(self, req):
        return self.do_open(self.connection, req, context=self._context)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a 3xx is an answer like any other (an error): never followed


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes  # at most MAX_RESPONSE_BYTES of it


def send(request: urllib.request.Request, *, addresses: list[str], timeout: float = TIMEOUT_SECONDS) -> Answer:
    """Send `request` to the first of the vetted `addresses` (outbound_url_check) and read its answer
    (any status, 3xx included: redirects are not followed). Raises TimeoutError when the whole
    exchange takes longer than `timeout`, another OSError when it fails (refused, reset, TLS, a
    malformed answer)."""
    deadline = _Deadline(timeout)
    opener = urllib.request.build_opener(
        _NoRedirects,
        urllib.request.ProxyHandler({}),  # never the environment's proxies
        _PinnedHTTPHandler(addresses[0], deadline),
        _PinnedHTTPSHandler(addresses[0], deadline),
    )
    try:
        try:
            answer = opener.open(request, timeout=deadline.left())
        except urllib.error.HTTPError as error:  # 3xx (not followed), 4xx, 5xx
            answer = error
        with answer:
            body = answer.read(MAX_RESPONSE_BYTES)
        if deadline.expired:  # cut off mid-answer: http.client returns what came (no IncompleteRead)
            raise TimeoutError(f"no complete answer within {timeout:g} s")
        return Answer(status=answer.status, headers=dict(answer.headers), body=body)
    except (OSError, http.client.HTTPException, ValueError) as failure:
        if deadline.expired or isinstance(getattr(failure, "reason", failure), TimeoutError):
            raise TimeoutError(f"no complete answer within {timeout:g} s") from None
        if isinstance(failure, OSError):
            raise
        raise ConnectionError(f"malformed answer: {type(failure).__name__}") from None
    finally:
        deadline.cancel()
