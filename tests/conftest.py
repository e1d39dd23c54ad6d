"""Fixtures of the tests that start real processes (tests/live.py)."""

import pytest

from tests.live import RedisServer


@pytest.fixture(scope="module")
def redis_server():
    """A Redis server of its own on a free port, for a module's tests."""
    server = RedisServer().start()
    yield server
    server.stop()
