"""JSON bodies are taken at their word, and the OpenAPI schema says exactly what is accepted."""

import re

import pytest
from rest_framework import serializers

from peerly.api.schema import NO_NUL_PATTERN, NON_BLANK_PATTERN
from peerly.api.serializers import HTTP_URL_PATTERN, HttpUrlField, StrictJSONTypes
from tests.openapi import api_schema

pytestmark = pytest.mark.django_db

PROFILE = {"first_name": "Ada", "last_name": "Lovelace", "display_name": "Ada"}


class Sample(StrictJSONTypes, serializers.Serializer):
    text = serializers.CharField(required=False)
    number = serializers.IntegerField(required=False)
    ratio = serializers.FloatField(required=False)
    flag = serializers.BooleanField(required=False)
    role = serializers.ChoiceField(choices=[(1, "one"), (2, "two")], required=False)
    kind = serializers.ChoiceField(choices=["a", "b"], required=False)
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    other = serializers.CharField(max_length=2, required=False)
    maybe = serializers.CharField(required=False, allow_null=True)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("text", 12, "Not a valid string."),
        ("text", 1.5, "Not a valid string."),
        ("text", True, "Not a valid string."),
        ("number", "12", "A valid integer is required."),
        ("number", 12.0, "A valid integer is required."),
        ("number", True, "A valid integer is required."),
        ("ratio", "1.5", "A valid number is required."),
        ("ratio", False, "A valid number is required."),
        ("flag", "true", "Must be a valid boolean."),
        ("flag", 1, "Must be a valid boolean."),
        ("role", "1", '"1" is not a valid choice.'),
        ("role", True, '"True" is not a valid choice.'),
        ("kind", 1, '"1" is not a valid choice.'),
    ],
)
def test_wrong_json_type_is_refused(field, value, message):
    serializer = Sample(data={field: value})
    assert not serializer.is_valid()
    assert serializer.errors == {field: [message]}


def test_other_fields_are_still_validated():
    serializer = Sample(data={"number": "1", "other": "long"})
    assert not serializer.is_valid()
    assert serializer.errors == {
        "number": ["A valid integer is required."],
        "other": ["Ensure this field has no more than 2 characters."],
    }


def test_max_length_counts_what_was_sent_not_the_trimmed_value():
    class Name(StrictJSONTypes, serializers.Serializer):
        name = serializers.CharField(max_length=3)

    serializer = Name(data={"name": " abc"})
    assert not serializer.is_valid()
    assert serializer.errors == {"name": ["Ensure this field has no more than 3 characters."]}
    assert Name(data={"name": "abc"}).is_valid()


def test_right_json_types_pass():
    data = {"text": "x", "number": 3, "ratio": 2, "flag": False, "role": 2, "kind": "a", "tags": ["t"], "maybe": None}
    serializer = Sample(data=data)
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data == data


def test_profile_name_as_number_is_400(as_user, employee):
    response = as_user(employee).put("/users/me", PROFILE | {"display_name": 0}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"display_name": "Not a valid string."}


def test_role_as_string_is_400(as_user, org_admin, employee):
    response = as_user(org_admin).put(f"/users/{employee.pk}", {"role_id": "4"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"role_id": '"4" is not a valid choice.'}


class TestHttpUrl:
    @pytest.mark.parametrize(
        "url",
        ["https://example.com/a.png", "http://a", "https://xn--bcher-kva.example/p?q=1#f", "https://\u00e9.fr/\u00e9"],
    )
    def test_accepted(self, url):
        assert HttpUrlField().run_validation(url) == url

    @pytest.mark.parametrize(
        "url",
        ["javascript:alert(1)", "data:image/png;base64,AA", "ftp://example.com", "https://", "https://a b", "//a.com"],
    )
    def test_refused(self, url):
        with pytest.raises(serializers.ValidationError):
            HttpUrlField().run_validation(url)

    def test_the_schema_states_the_same_rule(self):
        profile = api_schema()["components"]["schemas"]["ProfileUpdateRequest"]["properties"]["profile_image_url"]
        assert profile["oneOf"][0] == {"type": "string", "pattern": HTTP_URL_PATTERN, "maxLength": 500}

    def test_profile_rejects_a_script_url(self, as_user, employee):
        body = PROFILE | {"profile_image_url": "javascript:alert(1)"}
        response = as_user(employee).put("/users/me", body, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {"profile_image_url": "Enter a valid http(s) URL."}


class TestSchema:
    def test_sign_in_needs_one_of_the_tokens(self):
        request = api_schema()["components"]["schemas"]["GoogleSignInRequest"]
        assert request["anyOf"] == [{"required": ["access_token"]}, {"required": ["id_token"]}]
        assert api_schema()["paths"]["/oauth/google"]["post"]["requestBody"]["required"] is True

    def test_text_patterns(self):
        profile = api_schema()["components"]["schemas"]["ProfileUpdateRequest"]["properties"]
        assert profile["first_name"]["pattern"] == NON_BLANK_PATTERN
        assert profile["last_name"]["oneOf"][0]["pattern"] == NO_NUL_PATTERN  # blank allowed: the other branch
        assert re.fullmatch(NON_BLANK_PATTERN, " a ")
        assert not re.fullmatch(NON_BLANK_PATTERN, " \t ")
        assert not re.fullmatch(NON_BLANK_PATTERN, "a\x00")

    def test_user_delete_declares_what_it_answers(self):
        responses = api_schema()["paths"]["/users/{id}"]["delete"]["responses"]
        assert {"200", "403", "404", "409", "422"} <= set(responses)
        assert "204" not in responses
        assert set(api_schema()["paths"]["/users/{id}"]["get"]["responses"]).isdisjoint({"409", "422"})


def test_options_is_405_not_a_self_description(as_user, org_admin):
    response = as_user(org_admin).options("/users/me")
    assert response.status_code == 405
    assert response.json() == {"error": {"code": "method_not_allowed", "message": "Method not allowed"}}
    assert "PUT" in response["Allow"]


@pytest.mark.parametrize("query", ["org_id=", "org_id=abc", "limit=", "offset="])
def test_empty_or_bad_query_numbers_are_400_not_ignored(as_user, super_admin, query):
    response = as_user(super_admin).get(f"/users?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_data"
