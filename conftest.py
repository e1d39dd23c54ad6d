"""Fixtures shared by every app's tests."""

import ipaddress
import socket

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from rest_framework.test import APIClient

from accounts.tests.factories import OrganizationFactory, UserFactory
from accounts.tokens import token_encode
from insights import selectors as insights_selectors
from tests.fake_google import CLIENT_ID, CLIENT_SECRET, FakeGoogle

V1 = "application/vnd.peerly.v1"


def _loopback(address) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    try:
        ip = ipaddress.ip_address(str(host).split("%", 1)[0])
    except ValueError:
        return host == "localhost"
    return ip.is_loopback or (ip.version == 6 and ip.ipv4_mapped is not None and ip.ipv4_mapped.is_loopback)


@pytest.fixture(scope="session", autouse=True)
def _loopback_only():
    """No test connects beyond this machine: a socket of this process asked to reach any other address
    is refused before the connection is attempted, and only loopback names resolve (no DNS query leaves
    the machine either: the outbound tests resolve other names with a stub, and a URL of any other
    host, e.g. one schemathesis makes up for POST /webhooks, simply does not resolve)."""
    connect, connect_ex, getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def local_getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in (None, "") and not _loopback(name):
            raise socket.gaierror(socket.EAI_NONAME, f"tests resolve loopback names only, not {name!r}")
        return getaddrinfo(host, *args, **kwargs)

    def guarded(method):
        def call(sock, address):
            if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address):
                raise ConnectionRefusedError(f"tests connect to loopback only, not to {address!r}")
            return method(sock, address)

        return call

    socket.socket.connect, socket.socket.connect_ex = guarded(connect), guarded(connect_ex)
    socket.getaddrinfo = local_getaddrinfo
    yield
    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate-limit counters, member search answers (anything cached) never leak from one test into the next."""
    for alias in django_settings.CACHES:
        caches[alias].clear()
    insights_selectors.NEAR.clear()
    yield
    for alias in django_settings.CACHES:
        caches[alias].clear()
    insights_selectors.NEAR.clear()


@pytest.fixture(autouse=True)
def _jobs_cleared(request, django_db_blocker):
    """procrastinate's tables are not Django's to flush: after a test whose writes were committed
    (transactional, live servers, workers), its jobs and workers are removed too."""
    yield
    marker = request.node.get_closest_marker("django_db")
    committed = (marker is not None and marker.kwargs.get("transaction")) or "transactional_db" in request.fixturenames
    if committed:
        from django.db import connection

        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE procrastinate_jobs, procrastinate_events, procrastinate_periodic_defers, "
                "procrastinate_workers CASCADE"
            )


@pytest.fixture(scope="session")
def fake_google_server():
    server = FakeGoogle().start()
    yield server
    server.stop()


@pytest.fixture
def fake_google(fake_google_server, settings):
    """Points Peerly's Google settings at the local fake for this test."""
    fake_google_server.reset()
    settings.PEERLY_GOOGLE_CLIENT_IDS = [CLIENT_ID]
    settings.PEERLY_GOOGLE_CERTS_URL = fake_google_server.certs_url
    settings.PEERLY_GOOGLE_USERINFO_URL = fake_google_server.userinfo_url
    return fake_google_server


@pytest.fixture
def google_oauth(fake_google, settings):
    """The back office's "Sign in with Google" configured against the local fake."""
    settings.PEERLY_GOOGLE_OAUTH_CLIENT_ID = CLIENT_ID
    settings.PEERLY_GOOGLE_OAUTH_CLIENT_SECRET = CLIENT_SECRET
    settings.PEERLY_GOOGLE_OAUTH_AUTHORIZATION_URL = fake_google.authorization_url
    settings.PEERLY_GOOGLE_OAUTH_TOKEN_URL = fake_google.token_url
    return fake_google


@pytest.fixture
def api_client():
    return APIClient(HTTP_ACCEPT=V1)


def client_for(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT=V1)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_encode(user).token}")
    return client


@pytest.fixture
def as_user():
    """as_user(user) -> an API client signed in as that user."""
    return client_for


@pytest.fixture
def organization(db):
    return OrganizationFactory()


@pytest.fixture
def employee(organization):
    return UserFactory(organization=organization)


@pytest.fixture
def org_admin(organization):
    return UserFactory(organization=organization, org_admin=True)


@pytest.fixture
def moderator(organization):
    return UserFactory(organization=organization, moderator=True)


@pytest.fixture
def super_admin(db):
    return UserFactory(super_admin=True)


@pytest.fixture
def other_organization(db):
    return OrganizationFactory()


@pytest.fixture
def outsider(other_organization):
    """An employee of another organisation."""
    return UserFactory(organization=other_organization)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Factories give every user a password; the production hasher's cost only slows the tests down."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- The admin back office: two organisations with one of everything (accounts/tests/backoffice.py) ---


@pytest.fixture
def home(db):
    from accounts.tests.backoffice import make_tenant

    return make_tenant("Home")


@pytest.fixture
def away(db):
    from accounts.tests.backoffice import make_tenant

    return make_tenant("Away")
