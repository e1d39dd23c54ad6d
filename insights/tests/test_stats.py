"""GET /users/me/stats and GET /users/:id/stats (#12): a member's record."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import OrganizationFactory, UserFactory
from corevalues.tests.factories import CoreValueFactory
from insights.selectors import weeks_streak
from recognitions.tests.factories import Hi5Factory, RecognitionFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 17, 12, 0, tzinfo=UTC)  # a Wednesday


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def kolkata():
    return OrganizationFactory(timezone="Asia/Kolkata", hi5_quota_renewal_frequency="weekly")


def test_a_members_record(as_user, kolkata):
    me = UserFactory(organization=kolkata, hi5_quota_balance=3)
    courage, care, craft = (CoreValueFactory(organization=kolkata, text=text) for text in ("Courage", "Care", "Craft"))
    tz = ZoneInfo("Asia/Kolkata")
    first = datetime(2026, 6, 1, 9, 0, tzinfo=tz)
    RecognitionFactory(organization=kolkata, given_by=me, given_at=first)
    RecognitionFactory(organization=kolkata, given_by=me, given_at=datetime(2026, 6, 16, 10, 0, tzinfo=tz))
    RecognitionFactory(organization=kolkata, given_by=me, given_at=datetime(2026, 6, 17, 1, 0, tzinfo=tz), hidden=True)
    for value, times in ((courage, 3), (care, 2), (craft, 1)):
        for _ in range(times):
            received = RecognitionFactory(organization=kolkata, given_for=me, core_value=value)
    Hi5Factory.create_batch(2, recognition=received)
    hidden = RecognitionFactory(organization=kolkata, given_for=me, core_value=craft, hidden=True)
    Hi5Factory(recognition=hidden)

    response = as_user(me).get("/users/me/stats")

    assert response.status_code == 200
    assert response.json()["data"] == {
        "given": 2,  # the hidden one left out
        "received": 6,
        "hi5s_received": 2,  # those on a hidden recognition left out
        "hi5_quota_balance": 3,
        "next_renewal_at": "2026-06-22T00:00:00+05:30",  # next Monday, local
        "top_core_values": [
            {"core_value_id": courage.pk, "text": "Courage", "count": 3},
            {"core_value_id": care.pk, "text": "Care", "count": 2},
            {"core_value_id": craft.pk, "text": "Craft", "count": 1},
        ],
        "first_given_at": "2026-06-01T09:00:00+05:30",
        "last_given_at": "2026-06-16T10:00:00+05:30",
        "weeks_streak": 1,  # this week; the week of 8 June had none
    }


def test_a_newcomers_record_is_empty(as_user, organization):
    me = UserFactory(organization=organization)
    data = as_user(me).get("/users/me/stats").json()["data"]
    assert (data["given"], data["received"], data["top_core_values"], data["weeks_streak"]) == (0, 0, [], 0)
    assert (data["first_given_at"], data["last_given_at"]) == (None, None)


def test_weeks_streak_ends_this_week_or_the_last():
    monday = date(2026, 6, 15)
    weeks = {monday - timedelta(days=7 * n) for n in (1, 2, 3, 5)}
    assert weeks_streak(weeks, this_week=monday) == 3  # last week and the two before; the gap stops it
    assert weeks_streak(weeks | {monday}, this_week=monday) == 4
    assert weeks_streak(weeks, this_week=monday + timedelta(days=7)) == 0  # last week was empty
    assert weeks_streak(set(), this_week=monday) == 0


def test_a_week_starts_on_monday_in_the_organisations_timezone(as_user):
    los_angeles = OrganizationFactory(timezone="America/Los_Angeles")
    me = UserFactory(organization=los_angeles)
    tz = ZoneInfo("America/Los_Angeles")
    # Sunday 23:59 local is the week before; Monday 00:01 local is this week (both Monday in UTC).
    RecognitionFactory(organization=los_angeles, given_by=me, given_at=datetime(2026, 6, 14, 23, 59, tzinfo=tz))
    RecognitionFactory(organization=los_angeles, given_by=me, given_at=datetime(2026, 6, 15, 0, 1, tzinfo=tz))
    assert as_user(me).get("/users/me/stats").json()["data"]["weeks_streak"] == 2


def test_colleagues_stats_are_for_admins_unless_the_leaderboard_is_visible(as_user, organization, org_admin):
    colleague = UserFactory(organization=organization)
    RecognitionFactory(organization=organization, given_by=colleague)
    member = UserFactory(organization=organization)
    url = f"/users/{colleague.pk}/stats"

    assert as_user(org_admin).get(url).json()["data"]["given"] == 1
    refused = as_user(member).get(url)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "access_denied")
    assert as_user(member).get(f"/users/{member.pk}/stats").status_code == 200  # their own: always

    organization.leaderboard_visible = True
    organization.save()
    assert as_user(member).get(url).json()["data"]["given"] == 1


def test_another_organisations_member_is_not_found(as_user, org_admin, outsider):
    response = as_user(org_admin).get(f"/users/{outsider.pk}/stats")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


def test_a_deleted_members_record_is_for_admins_only(as_user, organization, org_admin):
    organization.leaderboard_visible = True
    organization.save()
    gone = UserFactory(organization=organization, deleted=True)
    assert as_user(org_admin).get(f"/users/{gone.pk}/stats").status_code == 200
    assert as_user(UserFactory(organization=organization)).get(f"/users/{gone.pk}/stats").status_code == 404


def test_a_super_admin_without_an_organisation_has_no_record(as_user, super_admin):
    response = as_user(super_admin).get("/users/me/stats")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


def test_stats_cost_the_same_queries_for_any_history(as_user, organization):
    me = UserFactory(organization=organization)

    def queries() -> int:
        client = as_user(me)
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/users/me/stats").status_code == 200
        return len(captured)

    before = queries()
    for n in range(20):
        received = RecognitionFactory(organization=organization, given_for=me)
        RecognitionFactory(organization=organization, given_by=me, given_at=NOW - timedelta(days=7 * n))
        Hi5Factory(recognition=received)
    assert queries() == before
