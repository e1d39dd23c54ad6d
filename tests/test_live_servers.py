"""Two real gunicorn processes sharing one real redis-server: together they stop exactly at the limit.

Also what only a real HTTP server shows: chunked and oversized bodies on the wire.
"""

import time

import pytest
import requests
from django_ratelimit.core import _get_window

from accounts.tests.factories import UserFactory
from accounts.tokens import token_encode
from tests.live import PeerlyServer

LIMIT = 5
PERIOD = 3600  # "5/h": a window edge cannot fall in the middle of the test (checked below)


@pytest.fixture(scope="module")
def peerly_servers(django_db_setup, redis_server):
    """Two server processes against the test database and the same Redis."""
    servers = [PeerlyServer(REDIS_URL=redis_server.url, PEERLY_RATE_LIMIT_READS=f"{LIMIT}/h") for _ in range(2)]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def live_user(transactional_db, redis_server):
    """A committed user (the servers see it) and fresh counters."""
    redis_server.client().flushall()
    return UserFactory()


def wait_out_window_edge(key: str) -> None:
    """Fixed windows reset the count: make sure the next few seconds stay in one window."""
    seconds_left = _get_window(key, PERIOD) - time.time()
    if seconds_left < 30:
        time.sleep(seconds_left + 2)


def test_two_processes_share_one_limit(peerly_servers, live_user):
    # given a user and two processes that count in the same Redis
    headers = {"Authorization": f"Bearer {token_encode(live_user).token}", "Accept": "application/vnd.peerly.v1"}
    wait_out_window_edge(f"user:{live_user.pk}")

    # when requests alternate between the two processes
    responses = [
        requests.get(f"{peerly_servers[i % 2].url}/users/me", headers=headers, timeout=10) for i in range(2 * LIMIT)
    ]

    # then together they allow exactly the limit, and both refuse past it
    assert [r.status_code for r in responses] == [200] * LIMIT + [429] * LIMIT
    assert {r.url.split("/users")[0] for r in responses[LIMIT:]} == {s.url for s in peerly_servers}
    refused = responses[-1]
    assert refused.json() == {"error": {"code": "rate_limited", "message": "Too many requests; slow down"}}
    assert 1 <= int(refused.headers["Retry-After"]) <= PERIOD
    assert refused.headers["X-Request-ID"]


def test_chunked_body_is_411_not_silently_empty(peerly_servers, live_user):
    def chunks():
        for _ in range(64):
            yield b" " * 16 * 1024

    response = requests.post(
        f"{peerly_servers[0].url}/oauth/google",
        data=chunks(),
        headers={"Content-Type": "application/json", "Accept": "application/vnd.peerly.v1"},
        timeout=10,
    )
    assert response.status_code == 411
    assert response.json() == {
        "error": {"code": "length_required", "message": "Send the request body with a Content-Length header"}
    }


def test_body_over_limit_is_413_on_the_wire(peerly_servers, live_user):
    body = b'{"access_token": "' + b"x" * (256 * 1024) + b'"}'
    response = requests.post(
        f"{peerly_servers[1].url}/oauth/google",
        data=body,
        headers={"Content-Type": "application/json", "Accept": "application/vnd.peerly.v1"},
        timeout=10,
    )
    assert response.status_code == 413
    assert response.json() == {"error": {"code": "payload_too_large", "message": "The request body is too large"}}
