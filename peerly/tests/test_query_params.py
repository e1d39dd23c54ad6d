"""QueryParams.validated answers what DRF's validation of the same serializer answers, value or 400."""

from urllib.parse import urlencode

from django.http import QueryDict
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ValidationError

from accounts.serializers import UserListParamsSerializer
from peerly.api.pagination import PageParams
from recognitions.serializers import RecognitionFeedParamsSerializer

PARAMS = (PageParams, UserListParamsSerializer, RecognitionFeedParamsSerializer)
NAMES = ("limit", "offset", "starts_with", "org_id", "given_by", "given_for", "core_value_id", "unknown")
AWKWARD = (
    "",
    " ",
    "0",
    "1",
    "007",
    "12.0",
    "-1",
    "+5",
    " 7 ",
    "100",
    "101",
    "10000000",
    "10000001",
    "9" * 18,
    "9" * 19,
    "٣",  # a digit, but not ASCII
    "²",
    "ma",
    "  ma  ",
    "é",
    "a" * 100,
    "a" * 101,
    " " + "a" * 100 + " ",
    "x\x00y",
    "1,2,3",
    "3, 2,2",
    "\u2028",
)
VALUES = st.one_of(st.sampled_from(AWKWARD), st.text(max_size=12), st.from_regex(r"[0-9 ,.]{0,20}", fullmatch=True))


def answer(validate):
    try:
        return "valid", dict(validate())
    except ValidationError as error:
        return "invalid", error.detail


def by_drf(cls, data):
    def validate():
        serializer = cls(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    return answer(validate)


def same_answers(params: dict) -> None:
    query_dict = QueryDict(urlencode(params))
    for cls in PARAMS:
        # as the views pass them: a plain dict (page and users' parameters) or the QueryDict (the feed's)
        assert answer(lambda cls=cls: cls.validated(params)) == by_drf(cls, params), (cls, params)
        assert answer(lambda cls=cls: cls.validated(query_dict)) == by_drf(cls, query_dict), (cls, params)


def test_every_awkward_value_of_every_parameter():
    for name in NAMES:
        for value in AWKWARD:
            same_answers({name: value})


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=4))
def test_the_same_answer_as_drf(params):
    same_answers(params)


def test_plain_values_are_read_without_drf(monkeypatch):
    def no_drf(cls, data):
        raise AssertionError("DRF's validation ran")

    monkeypatch.setattr(PageParams, "_validated_by_drf", classmethod(no_drf))
    monkeypatch.setattr(UserListParamsSerializer, "_validated_by_drf", classmethod(no_drf))
    monkeypatch.setattr(RecognitionFeedParamsSerializer, "_validated_by_drf", classmethod(no_drf))
    assert PageParams.validated({}) == {"offset": 0}
    assert PageParams.validated({"limit": "20", "offset": "40"}) == {"limit": 20, "offset": 40}
    assert UserListParamsSerializer.validated({"starts_with": " Ma "}) == {"starts_with": "Ma"}
    assert RecognitionFeedParamsSerializer.validated(QueryDict("")) == {}
