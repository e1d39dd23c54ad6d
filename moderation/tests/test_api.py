import threading

import pytest
from django.db import connection

from accounts.tests.factories import UserFactory
from moderation.models import Report, ReportStatus, Review
from moderation.tests.factories import RecognitionFactory, ReportFactory


def report_url(recognition_id) -> str:
    return f"/recognitions/{recognition_id}/report"


def review_url(recognition_id) -> str:
    return f"/recognitions/{recognition_id}/review"


def person(user) -> dict:
    return {
        "id": user.id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "display_name": user.display_name,
        "profile_image_url": user.profile_image_url,
    }


@pytest.fixture
def recognition(organization):
    return RecognitionFactory(organization=organization)


# --- POST /recognitions/:id/report ---------------------------------------------------------------


def test_member_reports_a_recognition(as_user, employee, recognition):
    response = as_user(employee).post(
        report_url(recognition.id), {"mark_as": "fraud", "reason": "They never worked together"}, format="json"
    )

    assert response.status_code == 201
    report = Report.objects.get()
    assert response.json() == {
        "data": {
            "id": report.id,
            "recognition_id": recognition.id,
            "reported_by": person(employee),
            "mark_as": "fraud",
            "reason": "They never worked together",
            "status": "open",
            "created_at": report.created_at.isoformat().replace("+00:00", "Z"),
            "review_id": None,
            "recognition": {
                "id": recognition.id,
                "text": recognition.text,
                "core_value_id": recognition.core_value_id,
                "given_by": person(recognition.given_by),
                "given_for": person(recognition.given_for),
                "given_at": recognition.given_at.isoformat().replace("+00:00", "Z"),
                "is_hidden": False,
            },
        }
    }
    assert (report.reported_by, report.recognition, report.status) == (employee, recognition, ReportStatus.OPEN)


@pytest.mark.parametrize("mark_as", ["fraud", "not_relevant", "incorrect"])
def test_every_mark_as_is_accepted(as_user, employee, recognition, mark_as):
    response = as_user(employee).post(report_url(recognition.id), {"mark_as": mark_as, "reason": "r"}, format="json")

    assert response.status_code == 201
    assert response.json()["data"]["mark_as"] == mark_as


def test_the_receiver_and_moderators_may_report_too(as_user, moderator, recognition):
    for reporter in (recognition.given_for, moderator):
        response = as_user(reporter).post(
            report_url(recognition.id), {"mark_as": "incorrect", "reason": "x"}, format="json"
        )
        assert response.status_code == 201
    assert Report.objects.count() == 2


def test_the_giver_cannot_report_their_own_recognition(as_user, recognition):
    response = as_user(recognition.given_by).post(
        report_url(recognition.id), {"mark_as": "fraud", "reason": "oops"}, format="json"
    )

    assert response.status_code == 422
    assert response.json() == {
        "error": {"code": "own_recognition", "message": "You cannot report a recognition you gave"}
    }
    assert not Report.objects.exists()


def test_a_member_reports_a_recognition_once(as_user, employee, recognition):
    client = as_user(employee)
    assert (
        client.post(report_url(recognition.id), {"mark_as": "fraud", "reason": "one"}, format="json").status_code == 201
    )

    response = client.post(report_url(recognition.id), {"mark_as": "incorrect", "reason": "two"}, format="json")

    assert response.status_code == 409
    assert response.json() == {
        "error": {"code": "already_reported", "message": "You have already reported this recognition"}
    }
    assert Report.objects.count() == 1


def test_a_closed_report_still_counts_as_reported(as_user, employee, recognition):
    ReportFactory(recognition=recognition, reported_by=employee, status=ReportStatus.CLOSED)

    response = as_user(employee).post(
        report_url(recognition.id), {"mark_as": "fraud", "reason": "again"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_reported"


def test_a_hidden_recognition_is_not_found_for_members(as_user, employee, organization):
    hidden = RecognitionFactory(organization=organization, is_hidden=True)

    response = as_user(employee).post(report_url(hidden.id), {"mark_as": "fraud", "reason": "r"}, format="json")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Recognition not found"}}


def test_a_hidden_recognition_takes_no_more_reports_from_moderators(as_user, moderator, organization):
    hidden = RecognitionFactory(organization=organization, is_hidden=True)

    response = as_user(moderator).post(report_url(hidden.id), {"mark_as": "fraud", "reason": "r"}, format="json")

    assert response.status_code == 422
    assert response.json() == {
        "error": {"code": "recognition_hidden", "message": "This recognition has been hidden by a moderator"}
    }
    assert not Report.objects.exists()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"mark_as": "This field is required.", "reason": "This field is required."}),
        ({"mark_as": "spam", "reason": "r"}, {"mark_as": '"spam" is not a valid choice.'}),
        ({"mark_as": "fraud", "reason": ""}, {"reason": "This field may not be blank."}),
        ({"mark_as": "fraud", "reason": "   "}, {"reason": "This field may not be blank."}),
        ({"mark_as": "fraud", "reason": None}, {"reason": "This field may not be null."}),
        ({"mark_as": "fraud", "reason": "x" * 1001}, {"reason": "Ensure this field has no more than 1000 characters."}),
        ({"mark_as": ["fraud"], "reason": "r"}, {"mark_as": "\"['fraud']\" is not a valid choice."}),
    ],
)
def test_report_validation(as_user, employee, recognition, body, fields):
    response = as_user(employee).post(report_url(recognition.id), body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "invalid_data", "message": "Please provide valid data", "fields": fields}
    }
    assert not Report.objects.exists()


def test_another_organisations_recognition_is_not_found(as_user, outsider, recognition):
    response = as_user(outsider).post(report_url(recognition.id), {"mark_as": "fraud", "reason": "r"}, format="json")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Recognition not found"}}


@pytest.mark.parametrize("recognition_id", ["999999", "9" * 18, "9" * 19, "abc", "-1"])
def test_unknown_or_malformed_ids_are_not_found(as_user, employee, recognition_id):
    response = as_user(employee).post(report_url(recognition_id), {"mark_as": "fraud", "reason": "r"}, format="json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_report_needs_a_token(api_client, recognition):
    response = api_client.post(report_url(recognition.id), {"mark_as": "fraud", "reason": "r"}, format="json")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


def test_report_path_tolerates_a_trailing_slash(as_user, employee, recognition):
    response = as_user(employee).post(
        report_url(recognition.id) + "/", {"mark_as": "fraud", "reason": "r"}, format="json"
    )

    assert response.status_code == 201


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_double_submit_makes_one_report(as_user):
    # given one recognition and a member pressing "report" twice at the same time
    recognition = RecognitionFactory()
    reporter = UserFactory(organization=recognition.organization)
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def submit():
        try:
            client = as_user(reporter)
            barrier.wait()
            response = client.post(report_url(recognition.id), {"mark_as": "fraud", "reason": "twice"}, format="json")
            statuses.append(response.status_code)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then
    assert sorted(statuses) == [201, 409]
    assert Report.objects.count() == 1


# --- POST /recognitions/:id/review ---------------------------------------------------------------


@pytest.mark.parametrize("reviewer", ["moderator", "org_admin"])
def test_a_review_hides_the_recognition_and_closes_its_open_reports(as_user, request, recognition, reviewer):
    # given two open reports and one closed by an earlier review
    user = request.getfixturevalue(reviewer)
    open_reports = ReportFactory.create_batch(2, recognition=recognition)
    earlier = Review.objects.create(recognition=recognition, reviewed_by=user, is_inappropriate=False)
    old = ReportFactory(recognition=recognition, status=ReportStatus.CLOSED, review=earlier)

    # when
    response = as_user(user).post(
        review_url(recognition.id), {"is_inappropriate": True, "comment": "Not a real recognition"}, format="json"
    )

    # then
    assert response.status_code == 201
    review = Review.objects.exclude(pk=earlier.pk).get()
    assert response.json() == {
        "data": {
            "id": review.id,
            "recognition_id": recognition.id,
            "reviewed_by": person(user),
            "is_inappropriate": True,
            "comment": "Not a real recognition",
            "reviewed_at": review.reviewed_at.isoformat().replace("+00:00", "Z"),
            "reports_closed": 2,
            "recognition_is_hidden": True,
        }
    }
    recognition.refresh_from_db()
    assert recognition.is_hidden is True
    for report in open_reports:
        report.refresh_from_db()
        assert (report.status, report.review) == (ReportStatus.CLOSED, review)
    old.refresh_from_db()
    assert old.review == earlier


def test_a_keep_review_closes_reports_and_keeps_the_recognition_visible(as_user, moderator, recognition):
    report = ReportFactory(recognition=recognition)

    response = as_user(moderator).post(review_url(recognition.id), {"is_inappropriate": False}, format="json")

    assert response.status_code == 201
    assert response.json()["data"]["comment"] == ""
    assert response.json()["data"]["recognition_is_hidden"] is False
    report.refresh_from_db()
    recognition.refresh_from_db()
    assert report.status == ReportStatus.CLOSED
    assert recognition.is_hidden is False


def test_a_later_keep_review_shows_a_hidden_recognition_again(as_user, moderator, org_admin, recognition):
    assert (
        as_user(moderator).post(review_url(recognition.id), {"is_inappropriate": True}, format="json").status_code
        == 201
    )
    recognition.refresh_from_db()
    assert recognition.is_hidden is True

    response = as_user(org_admin).post(
        review_url(recognition.id), {"is_inappropriate": False, "comment": "Fine"}, format="json"
    )

    assert response.status_code == 201
    recognition.refresh_from_db()
    assert recognition.is_hidden is False
    assert list(recognition.reviews.values_list("is_inappropriate", flat=True)) == [False, True]


def test_a_super_admin_reviews_in_any_organisation(as_user, super_admin, recognition):
    response = as_user(super_admin).post(review_url(recognition.id), {"is_inappropriate": True}, format="json")

    assert response.status_code == 201


@pytest.mark.parametrize("reviewer", ["employee", "receiver"])
def test_members_cannot_review(as_user, employee, recognition, reviewer):
    user = employee if reviewer == "employee" else recognition.given_for
    report = ReportFactory(recognition=recognition)

    response = as_user(user).post(review_url(recognition.id), {"is_inappropriate": True}, format="json")

    assert response.status_code == 403
    assert response.json() == {"error": {"code": "access_denied", "message": "Permission required"}}
    report.refresh_from_db()
    recognition.refresh_from_db()
    assert (report.status, recognition.is_hidden) == (ReportStatus.OPEN, False)
    assert not Review.objects.exists()


@pytest.mark.parametrize("role", ["moderator", "org_admin"])
@pytest.mark.parametrize("side", ["given_by", "given_for"])
def test_nobody_reviews_a_recognition_they_gave_or_received(as_user, organization, role, side):
    # given a recognition given (or received) by a moderator or an org admin, with an open report
    reviewer = UserFactory(organization=organization, **{role: True})
    recognition = RecognitionFactory(organization=organization, **{side: reviewer})
    report = ReportFactory(recognition=recognition)

    # when they review it
    response = as_user(reviewer).post(review_url(recognition.id), {"is_inappropriate": False}, format="json")

    # then it is refused and nothing changes
    assert response.status_code == 422
    assert response.json() == {
        "error": {"code": "own_recognition", "message": "You cannot review a recognition you gave or received"}
    }
    report.refresh_from_db()
    assert report.status == ReportStatus.OPEN
    assert not Review.objects.exists()


def test_a_moderator_of_another_organisation_gets_not_found(as_user, other_organization, recognition):
    foreign_moderator = UserFactory(organization=other_organization, moderator=True)

    response = as_user(foreign_moderator).post(review_url(recognition.id), {"is_inappropriate": True}, format="json")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Recognition not found"}}
    recognition.refresh_from_db()
    assert recognition.is_hidden is False


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"is_inappropriate": "This field is required."}),
        ({"is_inappropriate": None}, {"is_inappropriate": "This field may not be null."}),
        ({"is_inappropriate": "maybe"}, {"is_inappropriate": "Must be a valid boolean."}),
        (
            {"is_inappropriate": True, "comment": "x" * 1001},
            {"comment": "Ensure this field has no more than 1000 characters."},
        ),
    ],
)
def test_review_validation(as_user, moderator, recognition, body, fields):
    response = as_user(moderator).post(review_url(recognition.id), body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "invalid_data", "message": "Please provide valid data", "fields": fields}
    }
    assert not Review.objects.exists()


def test_review_of_an_unknown_recognition_is_not_found(as_user, moderator):
    response = as_user(moderator).post(review_url(123456789), {"is_inappropriate": True}, format="json")

    assert response.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_concurrent_reviews_apply_one_after_the_other(as_user):
    # given a recognition with three open reports and two moderators deciding at the same time
    recognition = RecognitionFactory()
    ReportFactory.create_batch(3, recognition=recognition)
    moderators = UserFactory.create_batch(2, organization=recognition.organization, moderator=True)
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def review(moderator, verdict):
        try:
            client = as_user(moderator)
            barrier.wait()
            statuses.append(
                client.post(review_url(recognition.id), {"is_inappropriate": verdict}, format="json").status_code
            )
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=review, args=(m, v)) for m, v in zip(moderators, (True, False), strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then: the first review closed every report, and the recognition shows the last verdict
    assert statuses == [201, 201]
    first, last = Review.objects.order_by("id")
    assert set(Report.objects.values_list("status", "review")) == {(ReportStatus.CLOSED, first.id)}
    recognition.refresh_from_db()
    assert recognition.is_hidden is last.is_inappropriate


# --- GET /reports --------------------------------------------------------------------------------


def test_the_queue_lists_open_reports_first_then_newest(as_user, moderator, organization, other_organization):
    # given
    recognition = RecognitionFactory(organization=organization)
    closed = ReportFactory(recognition=recognition, status=ReportStatus.CLOSED)
    older_open = ReportFactory(recognition=recognition)
    newer_open = ReportFactory(recognition=RecognitionFactory(organization=organization), mark_as="incorrect")
    ReportFactory(recognition=RecognitionFactory(organization=other_organization))

    # when
    response = as_user(moderator).get("/reports")

    # then
    assert response.status_code == 200
    body = response.json()
    assert [item["id"] for item in body["data"]] == [newer_open.id, older_open.id, closed.id]
    assert body["meta"] == {"total": 3, "limit": 10, "offset": 0, "next": None}
    first = body["data"][0]
    assert first["reported_by"] == person(newer_open.reported_by)
    assert first["recognition"]["id"] == newer_open.recognition_id
    assert first["recognition"]["given_by"] == person(newer_open.recognition.given_by)
    assert first["recognition"]["given_for"] == person(newer_open.recognition.given_for)
    assert first["recognition"]["is_hidden"] is False


def test_the_queue_filters_by_status_and_mark_as(as_user, org_admin, organization):
    recognition = RecognitionFactory(organization=organization)
    closed = ReportFactory(recognition=recognition, status=ReportStatus.CLOSED, mark_as="fraud")
    open_fraud = ReportFactory(recognition=recognition, mark_as="fraud")
    open_incorrect = ReportFactory(recognition=recognition, mark_as="incorrect")
    client = as_user(org_admin)

    def ids(query):
        response = client.get(f"/reports?{query}")
        assert response.status_code == 200
        return [item["id"] for item in response.json()["data"]]

    assert ids("status=open") == [open_incorrect.id, open_fraud.id]
    assert ids("status=closed") == [closed.id]
    assert ids("mark_as=fraud") == [open_fraud.id, closed.id]
    assert ids("status=open&mark_as=incorrect") == [open_incorrect.id]
    assert ids("limit=1&offset=1") == [open_fraud.id]


def test_a_super_admin_sees_every_organisations_reports(as_user, super_admin, organization, other_organization):
    ReportFactory(recognition=RecognitionFactory(organization=organization))
    ReportFactory(recognition=RecognitionFactory(organization=other_organization))

    response = as_user(super_admin).get("/reports")

    assert response.json()["meta"]["total"] == 2


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("status=pending", {"status": '"pending" is not a valid choice.'}),
        ("mark_as=spam", {"mark_as": '"spam" is not a valid choice.'}),
        ("limit=0", {"limit": "Ensure this value is greater than or equal to 1."}),
    ],
)
def test_queue_query_validation(as_user, moderator, query, fields):
    response = as_user(moderator).get(f"/reports?{query}")

    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "invalid_data", "message": "Please provide valid data", "fields": fields}
    }


def test_members_cannot_read_the_queue(as_user, employee):
    response = as_user(employee).get("/reports")

    assert response.status_code == 403
    assert response.json() == {"error": {"code": "access_denied", "message": "Permission required"}}


@pytest.mark.parametrize("size", [3, 12])
def test_the_queue_query_count_does_not_grow_with_the_page(
    as_user, moderator, organization, size, django_assert_max_num_queries
):
    for _ in range(size):
        ReportFactory(recognition=RecognitionFactory(organization=organization))
    client = as_user(moderator)

    with django_assert_max_num_queries(4):
        response = client.get("/reports?limit=100")

    assert len(response.json()["data"]) == size
