"""The OpenAPI error responses come from what the services raise, never from lists kept in views."""

import pytest

from accounts import services as account_services
from accounts.errors import AlreadyDeleted, CannotChangeOwnRole, CannotDeleteSelf, OrganizationRequired
from integrations.errors import AlreadyRevoked
from peerly.api.exceptions import AccessDenied, NotFound, UnknownReference
from peerly.api.raises import errors_raised_by
from recognitions.errors import AlreadyHi5, InsufficientHi5Balance, OwnRecognition, RecognitionHidden
from recognitions.views import RecognitionViewSet
from tests.openapi import api_schema, operations


def test_a_service_raises_what_its_body_and_the_functions_it_calls_raise():
    # user_change_role raises nothing itself: everything comes from user_role_change_check
    assert errors_raised_by(account_services.user_change_role) == {
        CannotChangeOwnRole,
        AccessDenied,
        AlreadyDeleted,
        OrganizationRequired,
    }
    assert CannotDeleteSelf in errors_raised_by(account_services.user_soft_delete)


def test_a_handler_serving_two_methods_counts_each_methods_branch():
    get = errors_raised_by(RecognitionViewSet.hi5, "GET")
    post = errors_raised_by(RecognitionViewSet.hi5, "POST")
    assert NotFound in get  # both look the recognition up first
    assert not get & {AlreadyHi5, InsufficientHi5Balance, OwnRecognition, RecognitionHidden}
    assert {AlreadyHi5, InsufficientHi5Balance, OwnRecognition, RecognitionHidden} <= post


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("put", "/users/{id}", "409", AlreadyDeleted.code),
        ("put", "/users/{id}", "422", CannotChangeOwnRole.code),
        ("delete", "/users/{id}", "422", CannotDeleteSelf.code),
        ("delete", "/api_keys/{id}", "409", AlreadyRevoked.code),
        ("post", "/recognitions", "400", UnknownReference.code),
        ("post", "/recognitions/{id}/hi5", "409", AlreadyHi5.code),
    ],
)
def test_the_schema_lists_each_raised_code_under_its_status(method, path, status, code):
    response = api_schema()["paths"][path][method]["responses"][status]
    assert f"`{code}`" in response["description"]


def test_a_read_declares_no_write_conflict():
    responses = api_schema()["paths"]["/recognitions/{id}/hi5"]["get"]["responses"]
    assert "409" not in responses
    assert "422" not in responses


@pytest.mark.parametrize("operation", operations(), ids=str)
def test_every_operation_declares_the_generic_statuses_it_can_answer(operation):
    responses = operation.spec["responses"]
    assert {"406", "429"} <= set(responses)  # any Accept header; every view is rate limited (or harmlessly so)
    if operation.method in ("POST", "PUT", "PATCH"):
        assert {"400", "411", "413", "415"} <= set(responses)  # a body: invalid, chunked, too large, not JSON
    if not operation.public:
        assert {"401", "403"} <= set(responses)
    if operation.path_params:
        assert "404" in responses


def test_errors_caught_on_the_way_are_not_declared():
    # the sync turns accounts' refusals into row errors (400), never answering their own statuses
    from integrations.sync import users_sync

    raised = errors_raised_by(users_sync)
    assert CannotChangeOwnRole not in raised
    assert AlreadyDeleted not in raised


def test_wrapped_services_are_followed():
    # core_value_create is wrapped by @transaction.atomic: its 409 still reaches the schema
    responses = api_schema()["paths"]["/core_values"]["post"]["responses"]
    assert "`core_value_exists`" in responses["409"]["description"]


def test_schema_builds_do_not_grow_the_cache():
    """Each build makes new view instances: keyed on their bound methods, the cache would keep every request."""
    from drf_spectacular.generators import SchemaGenerator

    from peerly.api.raises import _errors_raised_by

    SchemaGenerator().get_schema(request=None, public=True)
    size = _errors_raised_by.cache_info().currsize
    SchemaGenerator().get_schema(request=None, public=True)
    assert _errors_raised_by.cache_info().currsize == size
