"""The member search's cached answers across real processes: a change committed anywhere (another server
process, an operator's command) shows in the next answer of every process, whether each process caches in
its own memory or all share one Redis."""

import pytest
import requests

from accounts import services
from accounts.models import User
from accounts.tests.factories import OrganizationFactory, UserFactory
from accounts.tokens import token_encode
from tests.live import PeerlyServer

UNLIMITED = {f"PEERLY_RATE_LIMIT_{group}": "100000/h" for group in ("READS", "WRITES")}


@pytest.fixture(scope="module", params=["own memory", "shared redis"])
def servers(request, django_db_setup, redis_server):
    """Two server processes on the test database, caching in their own memory or in one Redis (emptied
    first: what it holds afterwards, they put there)."""
    shared = request.param == "shared redis"
    redis_server.client().flushdb()
    env = {**UNLIMITED, **({"REDIS_URL": redis_server.url} if shared else {})}
    started = [PeerlyServer(**env) for _ in range(2)]
    try:
        for server in started:
            server.start()
        yield shared, started
    finally:
        for server in started:
            server.stop()


def names(server: PeerlyServer, user: User) -> dict[int, str]:
    headers = {"Authorization": f"Bearer {token_encode(user).token}", "Accept": "application/vnd.peerly.v1"}
    response = requests.get(f"{server.url}/users?starts_with=ca", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return {item["id"]: item["first_name"] for item in response.json()["data"]}


def test_a_committed_change_shows_in_every_process(servers, transactional_db, redis_server):
    # given: members whose names start with "Ca", an answer cached by each process (twice: the second a hit)
    shared, servers = servers
    organization = OrganizationFactory()
    reader, carl, cara = (UserFactory(organization=organization, first_name=n) for n in ("Reader", "Carl", "Cara"))
    for server in servers:
        assert names(server, reader) == names(server, reader) == {carl.pk: "Carl", cara.pk: "Cara"}
    # (in the shared Redis, or not there at all)
    assert bool(redis_server.client().keys("member_search:*")) == shared

    # when: the second process renames Carl (committed when its request ends)
    headers = {"Authorization": f"Bearer {token_encode(carl).token}", "Accept": "application/vnd.peerly.v1"}
    body = {"first_name": "Casimir", "last_name": "", "display_name": "Casimir"}
    assert requests.put(f"{servers[1].url}/users/me", json=body, headers=headers, timeout=10).status_code == 200
    # then: the first process answers with the new name at once
    assert names(servers[0], reader) == {carl.pk: "Casimir", cara.pk: "Cara"}

    # when: an operator's process (this one) deletes Cara
    services.users_soft_delete(users=User.objects.filter(pk=cara.pk), by=None)
    # then: neither server lists her any more
    for server in servers:
        assert names(server, reader) == {carl.pk: "Casimir"}
