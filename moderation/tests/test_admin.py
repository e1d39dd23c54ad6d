"""The moderators' queue in the admin: scoping, order, filters and the two review actions."""

import pytest
from django.contrib.messages import get_messages

from accounts.tests.backoffice import admin_url
from accounts.tests.factories import UserFactory
from moderation.models import Report, ReportedRecognition, ReportStatus, Review
from moderation.tests.factories import RecognitionFactory, ReportFactory

QUEUE = admin_url(ReportedRecognition, "changelist")


def queue_ids(client, query: str = "") -> list[int]:
    response = client.get(f"{QUEUE}?{query}")
    assert response.status_code == 200
    return [recognition.pk for recognition in response.context["cl"].result_list]


def test_the_queue_shows_reported_recognitions_of_the_organisation_open_first(client, home, away):
    # given: an older open report, a newer closed one, a newer open one, and an unreported recognition
    organization = home.organization
    closed = RecognitionFactory(organization=organization)
    ReportFactory(recognition=closed, status=ReportStatus.CLOSED)
    newer = RecognitionFactory(organization=organization)
    ReportFactory(recognition=newer, mark_as="incorrect")
    RecognitionFactory(organization=organization)  # never reported: not in the queue
    client.force_login(home.moderator)

    # when
    ids = queue_ids(client)

    # then
    assert ids == [newer.pk, home.recognition.pk, closed.pk]
    assert away.recognition.pk not in ids


def test_the_queue_row_shows_text_giver_receiver_and_each_report(client, home):
    client.force_login(home.moderator)

    body = client.get(QUEUE).content.decode()

    recognition, report = home.recognition, home.report
    assert recognition.text in body
    assert recognition.given_by.display_name in body
    assert recognition.given_for.display_name in body
    assert report.reported_by.display_name in body
    assert "Fraud" in body
    assert report.reason in body
    assert "Away" not in body


def test_the_recognition_page_lists_its_reports_inline(client, home):
    client.force_login(home.moderator)

    response = client.get(admin_url(ReportedRecognition, "change", home.recognition.pk))

    assert response.status_code == 200
    inline_rows = [form.instance for formset in response.context["inline_admin_formsets"] for form in formset.formset]
    assert home.report in inline_rows
    body = response.content.decode()
    assert home.report.reason in body
    assert home.report.reported_by.display_name in body


def test_the_queue_filters(client, home):
    # given
    organization = home.organization
    hidden = RecognitionFactory(organization=organization, is_hidden=True)
    ReportFactory(recognition=hidden, status=ReportStatus.CLOSED, mark_as="not_relevant")
    incorrect = RecognitionFactory(organization=organization)
    ReportFactory(recognition=incorrect, mark_as="incorrect")
    client.force_login(home.org_admin)

    # then
    assert set(queue_ids(client, "report_status=open")) == {home.recognition.pk, incorrect.pk}
    assert queue_ids(client, "report_status=closed") == [hidden.pk]
    assert queue_ids(client, "mark_as=incorrect") == [incorrect.pk]
    assert queue_ids(client, "mark_as=fraud") == [home.recognition.pk]
    assert queue_ids(client, "visibility=hidden") == [hidden.pk]
    assert queue_ids(client, "report_status=open&mark_as=incorrect") == [incorrect.pk]


def test_search_stays_inside_the_organisation(client, home, away):
    client.force_login(home.moderator)

    assert queue_ids(client, "q=saved+the+launch") == [home.recognition.pk]
    assert queue_ids(client, "q=Away") == []


def post_action(client, action: str, ids: list[int]):
    return client.post(QUEUE, {"action": action, "_selected_action": [str(pk) for pk in ids]})


@pytest.mark.parametrize("reviewer", ["moderator", "org_admin"])
def test_mark_inappropriate_hides_the_recognition_through_the_review_service(client, home, reviewer):
    # given
    user = getattr(home, reviewer)
    second = ReportFactory(recognition=home.recognition, mark_as="incorrect")
    client.force_login(user)

    # when
    response = post_action(client, "hide_recognitions", [home.recognition.pk])

    # then
    assert response.status_code == 302
    review = Review.objects.get(recognition=home.recognition)
    assert (review.reviewed_by, review.is_inappropriate, review.comment) == (user, True, "")
    home.recognition.refresh_from_db()
    assert home.recognition.is_hidden is True
    for report in (home.report, second):
        report.refresh_from_db()
        assert (report.status, report.review) == (ReportStatus.CLOSED, review)
    assert "1 recognition(s) hidden." in [str(m) for m in get_messages(response.wsgi_request)]


def test_dismiss_keeps_the_recognition_and_closes_the_reports(client, home):
    client.force_login(home.moderator)

    post_action(client, "keep_recognitions", [home.recognition.pk])

    home.recognition.refresh_from_db()
    home.report.refresh_from_db()
    assert home.recognition.is_hidden is False
    assert home.report.status == ReportStatus.CLOSED
    assert home.report.review.is_inappropriate is False


def test_dismiss_after_a_hide_shows_the_recognition_again(client, home):
    client.force_login(home.moderator)
    post_action(client, "hide_recognitions", [home.recognition.pk])

    post_action(client, "keep_recognitions", [home.recognition.pk])

    home.recognition.refresh_from_db()
    assert home.recognition.is_hidden is False
    assert home.recognition.reviews.count() == 2


def test_actions_ignore_another_organisations_ids(client, home, away):
    client.force_login(home.moderator)

    post_action(client, "hide_recognitions", [away.recognition.pk])

    away.recognition.refresh_from_db()
    away.report.refresh_from_db()
    assert away.recognition.is_hidden is False
    assert away.report.status == ReportStatus.OPEN
    assert not Review.objects.filter(recognition=away.recognition).exists()


def test_a_super_admin_moderates_every_organisation(client, home, away):
    client.force_login(UserFactory(super_admin=True))
    assert set(queue_ids(client)) == {home.recognition.pk, away.recognition.pk}

    post_action(client, "hide_recognitions", [home.recognition.pk, away.recognition.pk])

    assert Report.objects.filter(status=ReportStatus.OPEN).count() == 0


def test_the_reports_list_is_scoped_and_open_first(client, home, away):
    closed = ReportFactory(recognition=home.recognition, status=ReportStatus.CLOSED)
    client.force_login(home.moderator)

    response = client.get(admin_url(Report, "changelist"))

    assert [report.pk for report in response.context["cl"].result_list] == [home.report.pk, closed.pk]


def test_the_actions_are_offered_only_to_moderators(client, home):
    client.force_login(home.moderator)

    response = client.get(QUEUE)

    actions = [choice[0] for choice in response.context["action_form"].fields["action"].choices]
    assert actions == ["", "hide_recognitions", "keep_recognitions"]


@pytest.mark.parametrize("size", [2, 10])
def test_the_queue_query_count_does_not_grow(client, home, size, django_assert_max_num_queries):
    for _ in range(size):
        ReportFactory.create_batch(2, recognition=RecognitionFactory(organization=home.organization))
    client.force_login(home.moderator)

    with django_assert_max_num_queries(12):
        response = client.get(QUEUE)

    assert len(response.context["cl"].result_list) == size + 1


def test_a_moderator_reviews_from_the_recognition_page_with_a_comment(client, home):
    client.force_login(home.moderator)
    url = admin_url(ReportedRecognition, "change", home.recognition.pk)
    assert "Mark inappropriate (hide)" in client.get(url).content.decode()

    response = client.post(url, {"_hide": "1", "review_comment": "  Duplicate of #3  "})

    assert response.status_code == 302
    assert response.url == QUEUE
    review = Review.objects.get(recognition=home.recognition)
    assert (review.reviewed_by, review.is_inappropriate, review.comment) == (home.moderator, True, "Duplicate of #3")
    home.report.refresh_from_db()
    assert home.report.review == review

    client.post(url, {"_keep": "1"})

    home.recognition.refresh_from_db()
    assert home.recognition.is_hidden is False


def test_a_moderator_cannot_review_their_own_recognition_in_the_admin(client, home):
    # given a reported recognition the moderator received, and another one
    own = RecognitionFactory(organization=home.organization, given_for=home.moderator)
    ReportFactory(recognition=own, reported_by=home.employee)
    client.force_login(home.moderator)

    # when they hide both with the action
    response = post_action(client, "hide_recognitions", [own.pk, home.recognition.pk])

    # then their own is refused and reported, the other one is hidden
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "1 recognition(s) hidden.",
        f"Not reviewed: #{own.pk}: You cannot review a recognition you gave or received",
    ]
    own.refresh_from_db()
    home.recognition.refresh_from_db()
    assert (own.is_hidden, home.recognition.is_hidden) == (False, True)

    # when they use the form of their recognition's page
    url = admin_url(ReportedRecognition, "change", own.pk)
    response = client.post(url, {"_hide": "1", "review_comment": "mine"})

    # then the refusal is shown on the page, not a 500
    assert response.status_code == 302
    assert response.url == url
    assert [str(m) for m in get_messages(response.wsgi_request)][-1] == (
        "Not reviewed: You cannot review a recognition you gave or received"
    )
    own.refresh_from_db()
    assert own.is_hidden is False
    assert not Review.objects.filter(recognition=own).exists()


def test_the_review_form_cannot_reach_another_organisation(client, home, away):
    client.force_login(home.moderator)

    response = client.post(admin_url(ReportedRecognition, "change", away.recognition.pk), {"_hide": "1"})

    assert response.status_code == 302
    assert response.url == "/admin/"
    away.recognition.refresh_from_db()
    assert away.recognition.is_hidden is False
    assert not Review.objects.filter(recognition=away.recognition).exists()
