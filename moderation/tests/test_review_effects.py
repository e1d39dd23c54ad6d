"""What a review does to the rest of the API: the feed, totals, reading by id, Hi5s and reports."""

import pytest

from moderation.tests.factories import RecognitionFactory, ReportFactory
from recognitions.models import Hi5


@pytest.fixture
def reported(organization, employee):
    recognition = RecognitionFactory(organization=organization, text="Reported one")
    ReportFactory(recognition=recognition, reported_by=employee)
    return recognition


@pytest.fixture
def other(organization):
    return RecognitionFactory(organization=organization, text="Stays visible")


def review(as_user, reviewer, recognition, verdict: bool):
    response = as_user(reviewer).post(
        f"/recognitions/{recognition.id}/review", {"is_inappropriate": verdict}, format="json"
    )
    assert response.status_code == 201
    return response


def feed(client, query: str = "") -> dict:
    response = client.get(f"/recognitions?{query}")
    assert response.status_code == 200
    return response.json()


def test_a_hidden_recognition_leaves_the_feed_and_its_totals(as_user, employee, moderator, reported, other):
    # given
    client = as_user(employee)
    before = feed(client)
    assert [item["id"] for item in before["data"]] == [other.id, reported.id]
    receiver_total = feed(client, f"given_for={reported.given_for_id}")["meta"]["total"]
    value_total = feed(client, f"core_value_id={reported.core_value_id}")["meta"]["total"]

    # when
    review(as_user, moderator, reported, True)

    # then
    after = feed(client)
    assert [item["id"] for item in after["data"]] == [other.id]
    assert after["meta"]["total"] == before["meta"]["total"] - 1
    assert feed(client, f"given_for={reported.given_for_id}")["meta"]["total"] == receiver_total - 1
    assert feed(client, f"given_by={reported.given_by_id}")["meta"]["total"] == 0
    assert feed(client, f"core_value_id={reported.core_value_id}")["meta"]["total"] == value_total - 1


def test_members_no_longer_read_it_but_moderators_do(as_user, employee, moderator, org_admin, reported):
    review(as_user, moderator, reported, True)

    member = as_user(employee).get(f"/recognitions/{reported.id}")
    receiver = as_user(reported.given_for).get(f"/recognitions/{reported.id}")
    by_moderator = as_user(moderator).get(f"/recognitions/{reported.id}")
    by_admin = as_user(org_admin).get(f"/recognitions/{reported.id}")

    assert member.status_code == 404
    assert member.json()["error"]["code"] == "not_found"
    assert receiver.status_code == 404
    assert by_moderator.status_code == 200
    assert by_moderator.json()["data"]["is_hidden"] is True
    assert by_admin.status_code == 200


def test_a_hidden_recognition_takes_no_hi5(as_user, employee, moderator, reported):
    review(as_user, moderator, reported, True)
    balance = employee.hi5_quota_balance

    by_member = as_user(employee).post(f"/recognitions/{reported.id}/hi5", {}, format="json")
    by_moderator = as_user(moderator).post(f"/recognitions/{reported.id}/hi5", {}, format="json")

    assert by_member.status_code == 404  # members cannot see it at all
    assert by_moderator.status_code == 422
    assert by_moderator.json()["error"]["code"] == "recognition_hidden"
    assert not Hi5.objects.filter(recognition=reported).exists()
    employee.refresh_from_db()
    assert employee.hi5_quota_balance == balance


def test_a_hidden_recognition_takes_no_more_reports(as_user, moderator, organization, reported):
    review(as_user, moderator, reported, True)
    colleague = (
        type(moderator)
        .objects.filter(organization=organization, role_id=3)
        .exclude(pk__in=[reported.given_by_id, reported.given_for_id])
        .first()
    )

    by_member = as_user(colleague).post(
        f"/recognitions/{reported.id}/report", {"mark_as": "fraud", "reason": "r"}, format="json"
    )

    assert by_member.status_code == 404


def test_a_later_keep_review_brings_it_back(as_user, employee, moderator, reported, other):
    review(as_user, moderator, reported, True)
    assert [item["id"] for item in feed(as_user(employee))["data"]] == [other.id]

    review(as_user, moderator, reported, False)

    assert [item["id"] for item in feed(as_user(employee))["data"]] == [other.id, reported.id]
    assert as_user(employee).get(f"/recognitions/{reported.id}").status_code == 200
    hi5 = as_user(employee).post(f"/recognitions/{reported.id}/hi5", {}, format="json")
    assert hi5.status_code == 201


def test_dismissing_reports_changes_nothing_for_members(as_user, employee, moderator, reported, other):
    review(as_user, moderator, reported, False)

    assert [item["id"] for item in feed(as_user(employee))["data"]] == [other.id, reported.id]
