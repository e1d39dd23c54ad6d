"""The insights' closed days (before yesterday): read once, cached under the organisation's history version
(insights.models.History), which the writers move in their own transaction; the live days read each time."""

from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from accounts.services import user_restore, user_soft_delete
from accounts.tests.factories import UserFactory
from corevalues.tests.factories import CoreValueFactory
from insights.models import History
from insights.periods import period_of
from insights.selectors import Standings, history_version, insights_leaderboard, insights_summary, ranked
from moderation.services import review_create
from recognitions.models import Recognition
from recognitions.services import recognition_create
from recognitions.tests.factories import Hi5Factory, RecognitionFactory


@given(
    closed=st.dictionaries(st.integers(1, 30), st.integers(1, 6)),
    live=st.dictionaries(st.integers(1, 30), st.integers(1, 3)),
    limit=st.integers(1, 50),
)
def test_the_ranking_of_closed_and_live_days_is_the_ranking_of_their_sums(closed, live, limit):
    order = sorted(closed.items(), key=lambda entry: (-entry[1], entry[0]))
    standings = Standings.of(order)
    merged = Counter(closed)
    merged.update(live)
    naive = sorted(merged.items(), key=lambda entry: (-entry[1], entry[0]))
    expected = [(member, count, 1 + sum(other > count for _, other in naive)) for member, count in naive[:limit]]
    assert ranked(standings, live, limit) == expected


@pytest.fixture
def people(organization):
    return UserFactory.create_batch(4, organization=organization, hi5_quota_balance=10)


def days_ago(days: int):
    return timezone.now() - timedelta(days=days)


def leaders(organization, by: str = "received") -> list[tuple[str, int, int]]:
    period = period_of(organization, first_day=None, last_day=None)
    return [
        (entry["user"].email, entry["count"], entry["rank"])
        for entry in insights_leaderboard(organization, period, by=by, core_value_id=None, limit=10)
    ]


def queries(read) -> int:
    with CaptureQueriesContext(connection) as captured:
        read()
    return len(captured)


def test_a_second_read_takes_the_closed_days_from_the_cache(organization, people):
    ann, bob, cid, _ = people
    RecognitionFactory.create_batch(3, organization=organization, given_by=ann, given_for=bob, given_at=days_ago(10))
    RecognitionFactory(organization=organization, given_by=ann, given_for=cid, given_at=days_ago(5))
    period = period_of(organization, first_day=None, last_day=None)

    def read():
        insights_summary(organization, period)
        insights_leaderboard(organization, period, by="received", core_value_id=None, limit=10)

    first = queries(read)
    # the closed days: per core value and who took part (this period and the previous one), the ranking
    assert queries(read) == first - 5
    assert leaders(organization) == [(bob.email, 3, 1), (cid.email, 1, 2)]


def test_a_new_recognition_is_read_live_and_leaves_the_history_alone(organization, people):
    ann, bob, cid, _ = people
    RecognitionFactory.create_batch(2, organization=organization, given_by=ann, given_for=bob, given_at=days_ago(10))
    assert leaders(organization) == [(bob.email, 2, 1)]
    version = history_version(organization)
    # when: today's recognitions, by the service and in bulk
    recognition_create(
        actor=ann, given_for=cid.pk, core_value_id=CoreValueFactory(organization=organization).pk, text="x"
    )
    RecognitionFactory.create_batch(2, organization=organization, given_by=bob, given_for=cid)
    # then
    assert history_version(organization) == version
    assert leaders(organization) == [(cid.email, 3, 1), (bob.email, 2, 2)]
    summary = insights_summary(organization, period_of(organization, first_day=None, last_day=None))
    assert (summary["recognitions"], summary["givers"], summary["receivers"]) == (5, 2, 2)


def test_a_hide_of_an_older_recognition_moves_the_history(organization, people, moderator):
    ann, bob, cid, _ = people
    older = RecognitionFactory(organization=organization, given_by=ann, given_for=bob, given_at=days_ago(10))
    RecognitionFactory(organization=organization, given_by=cid, given_for=bob, given_at=days_ago(9))
    Hi5Factory(recognition=older, given_by=cid)  # today's Hi5 on it
    assert leaders(organization) == [(bob.email, 2, 1)]
    assert leaders(organization, "hi5s_received") == [(bob.email, 1, 1)]
    version = history_version(organization)
    # when
    review_create(actor=moderator, recognition=older, is_inappropriate=True)
    # then
    assert history_version(organization) > version
    assert leaders(organization) == [(bob.email, 1, 1)]
    assert leaders(organization, "hi5s_received") == []
    assert leaders(organization, "given") == [(cid.email, 1, 1)]


def test_an_edit_of_yesterdays_recognition_moves_the_history(organization, people):
    ann, bob, cid, _ = people
    yesterday = RecognitionFactory(organization=organization, given_by=ann, given_for=bob, given_at=days_ago(1))
    RecognitionFactory(organization=organization, given_by=ann, given_for=cid, given_at=days_ago(10))
    assert leaders(organization) == [(bob.email, 1, 1), (cid.email, 1, 1)]
    version = history_version(organization)
    # when: an admin moves it back in time, into the closed days
    Recognition.objects.filter(pk=yesterday.pk).update(given_at=days_ago(12))
    # then
    assert history_version(organization) > version
    assert leaders(organization) == [(bob.email, 1, 1), (cid.email, 1, 1)]
    Recognition.objects.filter(pk=yesterday.pk).update(given_for=cid)
    assert leaders(organization) == [(cid.email, 2, 1)]


def test_a_soft_delete_and_a_restore_move_the_history(organization, people, org_admin):
    ann, bob, cid, _ = people
    RecognitionFactory.create_batch(2, organization=organization, given_by=ann, given_for=bob, given_at=days_ago(10))
    RecognitionFactory(organization=organization, given_by=ann, given_for=cid, given_at=days_ago(10))
    period = period_of(organization, first_day=None, last_day=None)
    assert leaders(organization) == [(bob.email, 2, 1), (cid.email, 1, 2)]
    assert insights_summary(organization, period)["participation_rate"] == round(3 / 5, 4)  # of 5 active members
    version = history_version(organization)
    # when
    user_soft_delete(actor=org_admin, user=bob)
    # then: out of the rankings and the participation, still in the totals
    assert history_version(organization) > version
    assert leaders(organization) == [(cid.email, 1, 1)]
    summary = insights_summary(organization, period)
    assert (summary["receivers"], summary["participation_rate"]) == (2, round(2 / 4, 4))
    # and back
    version = history_version(organization)
    user_restore(actor=org_admin, user=bob)
    assert history_version(organization) > version
    assert leaders(organization) == [(bob.email, 2, 1), (cid.email, 1, 2)]


def test_a_timezone_change_moves_the_history(organization, people):
    ann, bob, _, _ = people
    RecognitionFactory(organization=organization, given_by=ann, given_for=bob, given_at=days_ago(10))
    leaders(organization)
    version = history_version(organization)
    organization.timezone = "Pacific/Kiritimati" if organization.timezone != "Pacific/Kiritimati" else "UTC"
    organization.save()
    assert history_version(organization) > version


def test_another_organisations_writes_leave_the_history_alone(organization, people, other_organization):
    ann, bob, _, _ = people
    RecognitionFactory(organization=organization, given_by=ann, given_for=bob, given_at=days_ago(10))
    version = history_version(organization)
    elsewhere = RecognitionFactory(organization=other_organization, given_at=days_ago(10))
    Recognition.objects.filter(pk=elsewhere.pk).update(is_hidden=True)
    assert history_version(organization) == version
    assert History.objects.get(organization=other_organization).version > 0
