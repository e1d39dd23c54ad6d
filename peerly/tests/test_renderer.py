"""The envelope renderer writes JSON with orjson, byte for byte as DRF's JSONRenderer (json module) did."""

import datetime
import decimal
import uuid
from types import SimpleNamespace

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from accounts.models import Role
from accounts.tests.factories import UserFactory
from audit.services import audit_record
from peerly.api.renderers import EnvelopeJSONRenderer
from recognitions.tests.factories import Hi5Factory, RecognitionFactory

UTC = datetime.UTC
PAYLOADS = [
    {"id": 1, "text": "plain"},
    {"text": 'quotes " and \\ backslashes, tabs\t, newlines\n, NUL \x00 and DEL \x7f'},
    {"text": "é, 日本語, emoji 🎉, and the JavaScript line breaks \u2028 \u2029"},
    {"text": "".join(chr(code) for code in range(0x3000))},
    {"when": datetime.datetime(2026, 12, 4, 9, 30, 15, 123456, tzinfo=UTC)},
    {"when": datetime.datetime(2026, 12, 4, 9, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))},
    {"when": datetime.datetime(2026, 12, 4, 9, 30, 15)},
    {"day": datetime.date(2026, 12, 4), "time": datetime.time(9, 30, 15, 500)},
    {"took": datetime.timedelta(seconds=90, microseconds=5)},
    {"amount": decimal.Decimal("12.50"), "tiny": decimal.Decimal("0.00001")},
    {"rate": 0.1 + 0.2, "rates": [k / 10_000 for k in range(0, 10_001, 7)], "big": 1e16, "small": 2.5e-07},
    {"id": uuid.UUID("12345678-1234-5678-1234-567812345678")},
    {"lazy": gettext_lazy("Not found.")},
    {1: "int key", 2.5: "float key", None: "None key"},
    {True: "bool key", False: "another"},
    {"nested": {"list": [1, [2, [3, {"deep": (4, 5)}]]], "empty": {}, "none": None, "bools": [True, False]}},
    {"huge": 2**64 + 1, "max_id": 2**63 - 1, "negative": -(2**63)},
    ReturnDict({"id": 1, "name": "a ReturnDict"}, serializer=None),
    ReturnList([{"id": 1}, {"id": 2}], serializer=None),
    {"set": {3}, "bytes": b"raw"},
    [],
    {},
    "a bare string",
    42,
]


def drf(data, response=None) -> bytes:
    """What DRF's JSONRenderer wrote inside the envelope renderer before orjson."""
    if response is not None and not getattr(response, "peerly_enveloped", False) and response.status_code < 400:
        data = {"data": data}
    return JSONRenderer().render(data)


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
@pytest.mark.parametrize("status", [200, 400])
def test_same_bytes_as_drf(payload, status):
    response = SimpleNamespace(status_code=status)
    assert EnvelopeJSONRenderer().render(payload, renderer_context={"response": response}) == drf(payload, response)
    assert EnvelopeJSONRenderer().render(payload) == drf(payload)


def test_same_failures_as_drf():
    for unrenderable in ({"object": object()}, {"aware time": datetime.time(9, tzinfo=UTC)}):
        with pytest.raises((TypeError, ValueError)) as drf_error:
            JSONRenderer().render(unrenderable)
        with pytest.raises(type(drf_error.value)):
            EnvelopeJSONRenderer().render(unrenderable)


def test_the_one_known_difference_is_a_float_peerly_never_renders():
    # DRF (strict JSON) refuses NaN and infinities with a 500; orjson writes null. Peerly's one float,
    # insights' participation_rate, is a rounded ratio of counts (0.0 when there is nobody).
    with pytest.raises(ValueError, match="not JSON compliant"):
        JSONRenderer().render({"rate": float("nan")})
    assert EnvelopeJSONRenderer().render({"rate": float("nan")}) == b'{"rate":null}'


def test_indent_and_none_as_drf():
    assert EnvelopeJSONRenderer().render({"a": [1]}, "application/json; indent=2") == JSONRenderer().render(
        {"a": [1]}, "application/json; indent=2"
    )
    assert EnvelopeJSONRenderer().render(None) == b""


@pytest.mark.django_db
def test_api_answers_are_what_drf_would_have_written(as_user, organization):
    # given: a member, an admin, a recognition with awkward text, a Hi5, an audit event
    admin = UserFactory(organization=organization, role_id=Role.ORG_ADMIN, first_name="Zoë \u2028")
    member = UserFactory(organization=organization, last_name='O"Brien')
    recognition = RecognitionFactory(
        organization=organization, given_by=admin, given_for=member, text="Merci 🎉\u2029 \\o/ </script>"
    )
    Hi5Factory(recognition=recognition, given_by=UserFactory(organization=organization))
    audit_record(
        action="user.role_changed",
        target_type="user",
        target_id=member.pk,
        organization_id=organization.pk,
        actor=admin,
        before={"role_id": 3},
        after={"role_id": 4},
    )
    paths = [
        "/recognitions",
        f"/recognitions/{recognition.pk}",
        f"/recognitions/{recognition.pk}/hi5",
        "/users?starts_with=zo",
        "/users/me",
        f"/users/{member.pk}",
        "/core_values",
        "/audit_events",
        "/insights/summary",
        "/recognitions?limit=abc",  # a validation error
        "/recognitions/999999999",  # not found
    ]
    client = as_user(admin)
    for path in paths:
        # when
        response = client.get(path)
        # then
        assert response.content == drf(response.data, response), path
