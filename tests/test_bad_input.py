"""Bad input never reaches a 500: a corpus of hostile paths, query strings, bodies and headers is
thrown at every operation of the generated OpenAPI schema (so endpoints added later are covered
without editing this file). Every answer must be below 500 and in the JSON envelope.
"""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIClient

from accounts.tokens import token_encode
from peerly.api.exceptions import exception_handler
from peerly.api.renderers import EnvelopeJSONRenderer
from tests.openapi import Operation, operations, plausible
from tests.resources import RESOURCE_BUILDERS, resource_of

pytestmark = pytest.mark.django_db

V1 = "application/vnd.peerly.v1"
JSON = "application/json"

# Path segments (already percent-encoded, as they travel): not ids, huge ids, NUL, broken UTF-8, odd unicode.
BAD_IDS = [
    "abc",
    "0",
    "-1",
    "1.5",
    "1e3",
    "0x10",
    "9" * 18,
    "9" * 19,
    "9" * 300,
    "%00",
    "1%00",
    "%FF",
    "%ED%A0%80",  # a UTF-16 surrogate encoded as UTF-8: invalid
    "%F0%9F%92%A9",
    "%D9%A1%D9%A2",  # Arabic-Indic digits: \d would match them, [0-9] does not
    "%E2%80%AE1",  # right-to-left override
    "%20",
    "..",
    "1;select",
]

# Query values: negative, huge, non-numeric, NUL, broken UTF-8, long.
BAD_QUERY_VALUES = [
    "-1",
    "0",
    "abc",
    "1.5",
    "9" * 30,
    "-" + "9" * 30,
    "%00",
    "a%00b",
    "%FF",
    "%ED%A0%80",
    "%F0%9F%92%A9" * 50,
    "",
    "x" * 5000,
    "1,2,abc",
    ",,,",
    "1e9",
    "true",
    "null",
    "0001-01-01",  # the edges of a date (a period's arithmetic must not overflow)
    "9999-12-31",
]

# Values of the wrong type (or an absurd value of the right type) for any body field.
BAD_FIELD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    2**63,
    -(2**63) - 1,
    10**40,
    1.5,
    float("1e308"),
    "",
    " ",
    "x" * 10_000,
    "\u0000",
    "a\u0000b",
    "\ud800",
    "\U0001f4a9" * 200,
    "\u202e\u0301\ufeff",
    "1",
    "-1",
    "99999999999999999999999",
    "javascript:alert(1)",
    "http://\u0000.example",
    "http://" + "a" * 600 + ".example",
    [],
    [1, 2],
    {},
    {"nested": {"deeper": [1]}},
]

# Whole bodies that are not what any endpoint expects.
BAD_BODIES: list[tuple[str, bytes, str]] = [
    ("empty", b"", JSON),
    ("null", b"null", JSON),
    ("array", b"[]", JSON),
    ("string", b'"text"', JSON),
    ("number", b"1", JSON),
    ("truncated", b'{"a": 1', JSON),
    ("raw NUL", b"\x00", JSON),
    ("raw NUL in string", b'{"a": "\x00"}', JSON),
    ("escaped NUL", b'{"a": "\\u0000"}', JSON),
    ("lone surrogate", b'{"a": "\\ud800"}', JSON),
    ("invalid UTF-8", b'{"a": "\xff\xfe"}', JSON),
    ("UTF-16 BOM", b"\xff\xfe{\x00}\x00", JSON),
    ("NaN", b'{"a": NaN}', JSON),
    ("Infinity", b'{"a": Infinity}', JSON),
    ("huge float", b'{"a": 1e999}', JSON),
    ("huge int", b'{"a": ' + b"9" * 4000 + b"}", JSON),
    ("nested arrays", b"[" * 20_000 + b"]" * 20_000, JSON),
    ("nested objects", b'{"a": ' * 5_000 + b"1" + b"}" * 5_000, JSON),
    ("many keys", json.dumps({f"k{i}": i for i in range(5_000)}).encode(), JSON),
    ("duplicate keys", b'{"a": 1, "a": 2}', JSON),
    ("unknown charset", b"{}", "application/json; charset=no-such-charset"),
    ("utf-16 charset", b"{}", "application/json; charset=utf-16"),
    ("form", b"a=1&b=2", "application/x-www-form-urlencoded"),
    ("multipart", b"--x\r\n\r\n--x--", "multipart/form-data; boundary=x"),
    ("xml", b"<a/>", "application/xml"),
    ("no content type", b'{"a": 1}', ""),
]

BAD_HEADERS: list[tuple[str, dict[str, str]]] = [
    ("bearer garbage", {"HTTP_AUTHORIZATION": "Bearer not-a-jwt"}),
    ("bearer empty", {"HTTP_AUTHORIZATION": "Bearer "}),
    ("bearer NUL", {"HTTP_AUTHORIZATION": "Bearer a\x00b"}),
    ("bearer long", {"HTTP_AUTHORIZATION": "Bearer " + "a" * 10_000}),
    ("bearer unicode", {"HTTP_AUTHORIZATION": "Bearer \u00e9\u00e9"}),
    ("two tokens", {"HTTP_AUTHORIZATION": "Bearer a b"}),
    ("basic", {"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"}),
    ("alg none", {"HTTP_AUTHORIZATION": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."}),
    ("accept unknown version", {"HTTP_ACCEPT": "application/vnd.peerly.v999999999999999999999"}),
    ("accept odd", {"HTTP_ACCEPT": "application/vnd.peerly.v\u00e9;q=abc, */*;q=-1"}),
    ("accept empty version", {"HTTP_ACCEPT": "application/vnd.peerly.v"}),
    ("request id odd", {"HTTP_X_REQUEST_ID": "\u00e9" * 300}),
    ("content length lie", {"CONTENT_LENGTH": "99999999999"}),
    ("content length negative", {"CONTENT_LENGTH": "-5"}),
    ("content length garbage", {"CONTENT_LENGTH": "abc"}),
    ("chunked", {"HTTP_TRANSFER_ENCODING": "chunked", "CONTENT_LENGTH": ""}),
]

Request = tuple[str, str, bytes | None, str, dict[str, str]]  # label, url, body, content type, extra headers


def corpus(operation: Operation, good_id: str) -> Iterator[Request]:
    """Every bad request for one operation; the other parts of each request are plausible."""
    good_url = operation.url(**dict.fromkeys(operation.path_params, good_id))
    body_schema = operation.body_schema
    good_body = plausible(body_schema) if body_schema else {}
    good_bytes = json.dumps(good_body).encode()

    for bad in BAD_IDS:
        if operation.path_params:
            for name in operation.path_params:
                values = dict.fromkeys(operation.path_params, good_id) | {name: bad}
                yield f"path {name}={bad}", operation.url(**values), good_bytes, JSON, {}
    for suffix in ("/%00", "%00", "/%FF", "/..%2F..%2Fetc%2Fpasswd", "//", "/" + "a" * 2000):
        yield f"path suffix {suffix[:20]}", good_url + suffix, good_bytes, JSON, {}

    names = [param["name"] for param in operation.query_params] + ["limit", "offset"]
    for name in dict.fromkeys(names):
        for bad in BAD_QUERY_VALUES:
            yield f"query {name}={bad[:20]}", f"{good_url}?{name}={bad}", good_bytes, JSON, {}
        yield f"query {name} twice", f"{good_url}?{name}=1&{name}=-1", good_bytes, JSON, {}
    hostile = ("%00=%00", "%FF=%FF", "a" * 5000, "&&&==&", "limit=-1&offset=-1", "limit=1e400&offset=1e400")
    # Cursors: base64 of JSON that is no cursor (NaN, a lone surrogate, NUL), beside an offset.
    cursors = ("before=WyJ4IiwgTmFOXQ&offset=1", "before=WyJ4IiwgIlx1ZDgwMCJd", "before=WyJ4IiwgIlx1MDAwMCJd")
    for query in hostile + cursors:
        yield f"query {query[:20]}", f"{good_url}?{query}", good_bytes, JSON, {}

    for label, body, content_type in BAD_BODIES:
        yield f"body {label}", good_url, body, content_type, {}
    if isinstance(good_body, dict):
        for field in good_body:
            for bad in BAD_FIELD_VALUES:
                body = json.dumps(good_body | {field: bad}).encode()
                yield f"field {field}={str(bad)[:20]!r}", good_url, body, JSON, {}
            missing = {key: value for key, value in good_body.items() if key != field}
            yield f"field {field} missing", good_url, json.dumps(missing).encode(), JSON, {}
        yield "unknown field", good_url, json.dumps(good_body | {"is_admin": True}).encode(), JSON, {}

    for label, headers in BAD_HEADERS:
        yield f"header {label}", good_url, good_bytes, JSON, headers


def envelope_problem(response, files: frozenset[str] = frozenset()) -> str | None:
    """Why this response breaks the contract, or None. `files`: the non-JSON media types the operation
    declares for its success (an export's CSV or XLSX); its errors are the JSON envelope all the same."""
    if response.status_code >= 500:
        return f"status {response.status_code}: {response.content[:200]!r}"
    if response.status_code < 400 and response.get("Content-Type", "").split(";")[0] in files:
        try:  # read to the end (the test client closes it then): a stream that breaks halfway fails too
            b"".join(response.streaming_content) if response.streaming else response.content
        except Exception as error:  # any of them is the failure to report
            return f"status {response.status_code}, then the file broke: {error!r:.200}"
        return None
    if not response.get("Content-Type", "").startswith("application/json"):
        return f"status {response.status_code} with Content-Type {response.get('Content-Type')!r}"
    try:
        body = json.loads(response.content)
    except ValueError:
        return f"status {response.status_code}: body is not JSON"
    if response.status_code >= 400:
        error = body.get("error") if isinstance(body, dict) else None
        if (
            set(body) != {"error"}
            or not isinstance(error, dict)
            or not isinstance(error.get("code"), str)
            or not isinstance(error.get("message"), str)
            or not set(error) <= {"code", "message", "fields"}
            or not all(isinstance(reason, str) for reason in error.get("fields", {}).values())
        ):
            return f"status {response.status_code}: not the error envelope: {body!r:.200}"
    elif not isinstance(body, dict) or "data" not in body:
        return f"status {response.status_code}: not the data envelope: {body!r:.200}"
    return None


@pytest.fixture(autouse=True)
def generous_rate_limits(settings):
    for name in ("SIGNIN", "WRITES", "READS"):
        setattr(settings, f"PEERLY_RATE_LIMIT_{name}", "1000000/m")


@pytest.fixture(params=["org_admin", "super_admin"])
def actor(request, organization):
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("operation", operations(), ids=str)
def test_bad_input_never_500(operation, actor, organization, fake_google):
    # given an object of the actor's organisation for the route's id, so requests reach the code
    builder = RESOURCE_BUILDERS.get(resource_of(operation.path))
    good_id = str(builder(organization).pk) if builder and operation.path_params else "1"
    client = APIClient(HTTP_ACCEPT=V1)
    client.raise_request_exception = False
    token = token_encode(actor).token

    # when every bad request of the corpus is sent
    success = operation.spec.get("responses", {}).get("200", {}).get("content", {})
    files = frozenset(media_type for media_type in success if not media_type.startswith("application/json"))
    failures = []
    sent = 0
    for label, url, body, content_type, headers in corpus(operation, good_id):
        extra = {"HTTP_AUTHORIZATION": f"Bearer {token}", **headers}
        response = client.generic(operation.method, url, body or b"", content_type=content_type, **extra)
        sent += 1
        problem = envelope_problem(response, files)
        if problem:
            failures.append(f"{label}: {problem}")

    # then none of them broke the contract
    assert sent > 50
    assert failures == []


def test_lone_surrogate_echoed_in_a_validation_message_is_escaped():
    """DRF messages echo bad values (`"x" is not a valid choice.`); a lone surrogate cannot be encoded as UTF-8."""
    response = exception_handler(ValidationError({"kind": '"\ud800" is not a valid choice.'}), {})
    rendered = EnvelopeJSONRenderer().render(response.data, renderer_context={"response": response})
    assert response.status_code == 400
    assert json.loads(rendered) == {
        "error": {
            "code": "invalid_data",
            "message": "Please provide valid data",
            "fields": {"kind": '"\\ud800" is not a valid choice.'},
        }
    }
