"""Every list of the API pages by offset and by cursor alike: discovered from the generated OpenAPI schema
(every GET with an `offset` parameter), so a list added later is covered without editing this file; a list
whose route has no builder in `tests/resources.py` FAILS.

A cursor (`meta.next`, passed back as `before`) reads the page after the last item seen, in the list's own
order, at the cost of an offset page; anything that is not a cursor of that very list is 400 `invalid_data`
naming `before`, never a 500.
"""

import base64
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from accounts.models import Organization
from accounts.tests.factories import OrganizationFactory, UserFactory
from accounts.tokens import token_encode
from peerly.api.keyset import NOT_A_CURSOR
from peerly.api.pagination import BEFORE_WITH_OFFSET
from tests.openapi import Operation, operations, resolve
from tests.resources import LIST_BUILDERS

pytestmark = pytest.mark.django_db

V1 = "application/vnd.peerly.v1"
LISTS = [
    operation
    for operation in operations()
    if operation.method == "GET" and "offset" in {param["name"] for param in operation.query_params}
]


@pytest.fixture(autouse=True)
def generous_rate_limits(settings):
    settings.PEERLY_RATE_LIMIT_READS = "100000/m"


class Lister:
    """An organisation admin (who may read every list) reading one list of their organisation."""

    def __init__(self, operation: Operation, organization: Organization | None = None):
        self.organization = organization or OrganizationFactory()
        self.admin = UserFactory(organization=self.organization, org_admin=True)
        self.url = operation.url(**LIST_BUILDERS[operation.path](self.organization))
        self.client = APIClient(HTTP_ACCEPT=V1)
        self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_encode(self.admin).token}")

    def get(self, query: str = ""):
        return self.client.get(f"{self.url}?{query}")

    def body(self, query: str = "") -> dict:
        response = self.get(query)
        assert response.status_code == 200, response.content
        return response.json()

    def ids(self, query: str = "") -> list[int]:
        return [item["id"] for item in self.body(query)["data"]]


def decoded(cursor: str) -> list:
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))


def encoded(value: list | bytes) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_the_lists_are_discovered():
    assert {str(operation) for operation in LISTS} >= {
        "GET /recognitions",
        "GET /recognitions/{id}/hi5",
        "GET /users",
        "GET /core_values",
        "GET /reports",
        "GET /webhooks",
        "GET /webhooks/{id}/deliveries",
        "GET /api_keys",
        "GET /audit_events",
    }


@pytest.mark.parametrize("operation", LISTS, ids=str)
def test_every_list_has_a_builder_and_documents_its_cursor(operation):
    assert operation.path in LIST_BUILDERS, f"{operation}: add a list builder to tests/resources.py"
    before = next(param for param in operation.query_params if param["name"] == "before")
    assert before["schema"]["type"] == "string"
    assert "meta.next" in before["description"]
    page = resolve(operation.spec["responses"]["200"]["content"]["application/json"]["schema"])
    meta = page["properties"]["meta"]
    assert set(meta["required"]) == {"total", "limit", "offset", "next"}
    assert meta["properties"]["next"]["nullable"] is True
    assert meta["properties"]["offset"]["nullable"] is True


@pytest.mark.parametrize("limit", [1, 2, 3])
@pytest.mark.parametrize("operation", LISTS, ids=str)
def test_scrolling_with_next_reads_what_offset_pages_read(operation, limit):
    # given: a list of a few items, ties in its order included, read whole
    lister = Lister(operation)
    whole = lister.ids("limit=100")
    assert len(whole) >= 5
    # when: it is read page by page, by offset (pages past the middle come from the other end) and by cursor
    by_offset = [lister.ids(f"limit={limit}&offset={offset}") for offset in range(0, len(whole) + limit, limit)]
    by_cursor, page = [], lister.body(f"limit={limit}")
    while True:
        by_cursor.append([item["id"] for item in page["data"]])
        if page["meta"]["next"] is None:
            break
        page = lister.body(f"limit={limit}&before={page['meta']['next']}")
        assert (page["meta"]["total"], page["meta"]["limit"], page["meta"]["offset"]) == (len(whole), limit, None)
    # then: the same items in the same order, each once; the cursor's last page is the last full one
    assert [i for page in by_offset for i in page] == [i for page in by_cursor for i in page] == whole
    assert len(by_cursor) == -(-len(whole) // limit)


@pytest.mark.parametrize("operation", LISTS, ids=str)
def test_next_is_null_on_the_last_page_only(operation):
    lister = Lister(operation)
    total = lister.body()["meta"]["total"]
    assert lister.body(f"limit={total - 1}")["meta"]["next"] is not None
    assert lister.body(f"limit={total}")["meta"]["next"] is None
    assert lister.body(f"limit=2&offset={total - 2}")["meta"]["next"] is None
    assert lister.body(f"offset={total + 5}") == {
        "data": [],
        "meta": {"total": total, "limit": lister.body()["meta"]["limit"], "offset": total + 5, "next": None},
    }


# Committed (transactional): the member search caches only in a transaction that has not written
# (accounts/authentication.py), and the cursor page's total comes from that cache.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("operation", LISTS, ids=str)
def test_a_cursor_page_runs_the_queries_of_an_offset_page(operation):
    lister = Lister(operation)
    cursor = lister.body("limit=2")["meta"]["next"]
    lister.get(f"limit=2&before={cursor}")  # warm whatever a first request caches
    with CaptureQueriesContext(connection) as by_offset:
        assert lister.get("limit=2&offset=2").status_code == 200
    with CaptureQueriesContext(connection) as by_cursor:
        assert lister.get(f"limit=2&before={cursor}").status_code == 200
    assert len(by_cursor) == len(by_offset)
    assert "OFFSET" not in by_cursor[-1]["sql"]


def bad_cursors(cursor: str) -> list[str]:
    """Anything but a cursor this list handed out: garbage, broken encodings, and the list's own cursor with
    each value of the wrong type, out of range, or not storable."""
    label, *values = decoded(cursor)
    found = [
        "!",
        "a b",
        "=",
        cursor + "=",
        cursor + "A",
        cursor[:-3],
        "x" * 5000,
        encoded(b"not json"),
        encoded(b"\xff\xfe"),
        encoded(f'["{label}", NaN]'.encode()),
        encoded({"label": label}),
        encoded([label]),
        encoded([label, *values, 1]),
        encoded(["00000000", *values]),
        encoded([[label], *values]),
        encoded([label, *values][:-1]),
    ]
    for index, value in enumerate(values):
        wrong = [None, True, 1.5, [], {}]
        if isinstance(value, int):
            wrong += [str(value), 2**63, -(2**63) - 1, 2**64]
        elif parse_datetime(value) is not None:
            wrong += [1, "", "tomorrow", "2030-01-01T00:00:00", "2030-02-30T00:00:00Z", "0001-01-01T00:00:00+01:00"]
        else:
            wrong += [1, "a\u0000b", "\ud800", "x" * 5000]
        for bad in wrong:
            mutated = [label, *values]
            mutated[index + 1] = bad
            found.append(encoded(mutated))
    return found


@pytest.mark.parametrize("operation", LISTS, ids=str)
def test_anything_but_a_cursor_of_the_list_is_invalid_data(operation):
    lister = Lister(operation)
    cursor = lister.body("limit=1")["meta"]["next"]
    for bad in bad_cursors(cursor):
        response = lister.get(f"before={bad}")
        assert response.status_code == 400, (bad, response.content)
        assert response.json() == {
            "error": {
                "code": "invalid_data",
                "message": "Please provide valid data",
                "fields": {"before": NOT_A_CURSOR},
            }
        }, bad


@pytest.mark.parametrize(("operation", "other"), list(zip(LISTS, LISTS[-1:] + LISTS[:-1], strict=True)), ids=str)
def test_a_cursor_of_another_list_is_refused(operation, other):
    # given: a cursor of another list (the pairs include lists whose cursors have the same shape: the
    # feed's and the Hi5s', the API keys' and the audit trail's)
    lister = Lister(operation)
    cursor = Lister(other, lister.organization).body("limit=1")["meta"]["next"]
    # when / then
    response = lister.get(f"before={cursor}")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"before": NOT_A_CURSOR}


@pytest.mark.parametrize("operation", LISTS, ids=str)
def test_before_with_an_offset(operation):
    lister = Lister(operation)
    cursor = lister.body("limit=2")["meta"]["next"]
    after = lister.body(f"limit=2&before={cursor}")
    # A non-zero offset beside a cursor is refused; offset=0 (a client that always sends it) is no offset;
    # an empty `before` is no cursor, like an empty filter.
    response = lister.get(f"limit=2&before={cursor}&offset=1")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"offset": BEFORE_WITH_OFFSET}
    assert lister.body(f"limit=2&before={cursor}&offset=0") == after
    assert lister.body("limit=2&before=") == lister.body("limit=2")
