"""GET /insights/summary, /insights/timeline and /insights/leaderboard (#12)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import OrganizationFactory, UserFactory
from corevalues.tests.factories import CoreValueFactory
from insights.periods import period_of
from insights.selectors import insights_summary, insights_timeline
from recognitions.models import Hi5, Recognition
from recognitions.tests.factories import Hi5Factory, RecognitionFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 17, 12, 0, tzinfo=UTC)  # a Wednesday


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def at(day: int, hour: int = 12, tz=UTC) -> datetime:
    return datetime(2026, 6, day, hour, 0, tzinfo=tz)


def test_the_summary_counts_the_period_and_the_one_before(as_user, organization, org_admin):
    ann, bob, cid, dee = UserFactory.create_batch(4, organization=organization)
    gone = UserFactory(organization=organization, deleted=True)
    care, craft, unused = (CoreValueFactory(organization=organization, text=t) for t in ("Care", "Craft", "Unused"))
    first = RecognitionFactory(organization=organization, given_by=ann, given_for=bob, core_value=care, given_at=at(10))
    RecognitionFactory(organization=organization, given_by=ann, given_for=cid, core_value=care, given_at=at(11))
    RecognitionFactory(organization=organization, given_by=gone, given_for=bob, core_value=craft, given_at=at(12))
    hidden = RecognitionFactory(
        organization=organization, given_by=dee, given_for=ann, core_value=craft, given_at=at(12), hidden=True
    )
    Hi5Factory(recognition=first, given_by=cid, given_at=at(13))
    Hi5Factory(recognition=hidden, given_by=bob, given_at=at(13))  # on a hidden one: left out
    RecognitionFactory(organization=organization, given_by=bob, given_for=ann, core_value=craft, given_at=at(3))
    RecognitionFactory(organization=OrganizationFactory(), given_at=at(11))  # another organisation's

    response = as_user(org_admin).get("/insights/summary", {"from": "2026-06-10", "to": "2026-06-16"})

    assert response.status_code == 200
    data = response.json()["data"]
    active = organization.users.filter(soft_delete_at__isnull=True).count()  # the four, the admin, the fixtures'
    assert {key: data[key] for key in ("from", "to", "recognitions", "hi5s", "givers", "receivers")} == {
        "from": "2026-06-10",
        "to": "2026-06-16",
        "recognitions": 3,  # the hidden one left out
        "hi5s": 1,
        "givers": 2,  # ann, and the deleted member (their recognitions still count in totals)
        "receivers": 2,
    }
    assert data["active_members"] == active
    assert data["participation_rate"] == round(3 / active, 4)  # ann, bob, cid (dee's only one is hidden)
    assert data["by_core_value"] == [
        {"core_value_id": care.pk, "text": "Care", "count": 2},
        {"core_value_id": craft.pk, "text": "Craft", "count": 1},
        {"core_value_id": unused.pk, "text": "Unused", "count": 0},
    ]
    previous = data["previous"]  # 3 to 9 June
    assert (previous["recognitions"], previous["givers"], previous["receivers"]) == (1, 1, 1)
    assert previous["by_core_value"][1] == {"core_value_id": craft.pk, "text": "Craft", "count": 1}


def test_the_timeline_is_zero_filled_with_weeks_from_monday(as_user, organization, org_admin):
    RecognitionFactory.create_batch(2, organization=organization, given_at=at(2))  # Tuesday of the week of 1 June
    late = RecognitionFactory(organization=organization, given_at=at(14))  # Sunday: still the week of 8 June
    Hi5Factory(recognition=late, given_at=at(15))  # Monday: the week of 15 June
    client = as_user(org_admin)

    weeks = client.get("/insights/timeline", {"from": "2026-06-03", "to": "2026-06-17", "interval": "week"})
    assert weeks.json()["data"] == [
        {"start": "2026-06-01", "recognitions": 0, "hi5s": 0, "givers": 0},  # 2 June is before `from`
        {"start": "2026-06-08", "recognitions": 1, "hi5s": 0, "givers": 1},
        {"start": "2026-06-15", "recognitions": 0, "hi5s": 1, "givers": 0},
    ]
    days = client.get("/insights/timeline", {"from": "2026-06-13", "to": "2026-06-15"}).json()["data"]
    assert [(point["start"], point["recognitions"], point["hi5s"]) for point in days] == [
        ("2026-06-13", 0, 0),
        ("2026-06-14", 1, 0),
        ("2026-06-15", 0, 1),
    ]
    months = client.get("/insights/timeline", {"from": "2026-04-20", "to": "2026-06-17", "interval": "month"})
    assert [(point["start"], point["recognitions"]) for point in months.json()["data"]] == [
        ("2026-04-01", 0),
        ("2026-05-01", 0),
        ("2026-06-01", 3),
    ]


@pytest.mark.parametrize(
    ("timezone_name", "offset"),
    [("Asia/Kolkata", timedelta(hours=5, minutes=30)), ("America/Los_Angeles", timedelta(hours=-7))],
)
def test_a_recognition_at_23_59_and_00_01_local_land_on_their_days_and_weeks(as_user, timezone_name, offset):
    organization = OrganizationFactory(timezone=timezone_name)
    admin = UserFactory(organization=organization, org_admin=True)
    tz = ZoneInfo(timezone_name)
    RecognitionFactory(organization=organization, given_at=datetime(2026, 6, 14, 23, 59, tzinfo=tz))  # Sunday
    RecognitionFactory(organization=organization, given_at=datetime(2026, 6, 15, 0, 1, tzinfo=tz))  # Monday
    assert datetime(2026, 6, 14, 23, 59, tzinfo=tz).utcoffset() == offset
    client = as_user(admin)

    days = client.get("/insights/timeline", {"from": "2026-06-14", "to": "2026-06-15"}).json()["data"]
    assert [(point["start"], point["recognitions"]) for point in days] == [("2026-06-14", 1), ("2026-06-15", 1)]
    weeks = client.get("/insights/timeline", {"from": "2026-06-08", "to": "2026-06-21", "interval": "week"})
    assert [(point["start"], point["recognitions"]) for point in weeks.json()["data"]] == [
        ("2026-06-08", 1),
        ("2026-06-15", 1),
    ]
    sunday = client.get("/insights/summary", {"from": "2026-06-14", "to": "2026-06-14"}).json()["data"]
    assert sunday["recognitions"] == 1


def test_leaderboard_ties_share_a_rank_and_deleted_members_are_left_out(as_user, organization, org_admin):
    ann, bob, cid, dee = UserFactory.create_batch(4, organization=organization)
    gone = UserFactory(organization=organization, deleted=True)
    value = CoreValueFactory(organization=organization)
    other_value = CoreValueFactory(organization=organization)
    for receiver, times in ((ann, 3), (bob, 2), (cid, 2), (gone, 5)):
        for _ in range(times):
            RecognitionFactory(organization=organization, given_for=receiver, core_value=value, given_at=at(15))
    RecognitionFactory(organization=organization, given_for=dee, core_value=other_value, given_at=at(15))
    RecognitionFactory(organization=organization, given_for=dee, given_at=at(15), hidden=True)
    client = as_user(org_admin)

    board = client.get("/insights/leaderboard", {"by": "received"}).json()["data"]
    assert [(entry["rank"], entry["user"]["id"], entry["count"]) for entry in board] == [
        (1, ann.pk, 3),
        (2, min(bob.pk, cid.pk), 2),
        (2, max(bob.pk, cid.pk), 2),
        (4, dee.pk, 1),  # after a tie the ranks skip (1, 2, 2, 4); the hidden one left out
    ]
    assert set(board[0]["user"]) == {"id", "first_name", "last_name", "display_name", "profile_image_url"}
    by_value = client.get("/insights/leaderboard", {"core_value_id": value.pk, "limit": 2}).json()["data"]
    assert [(entry["rank"], entry["user"]["id"]) for entry in by_value] == [(1, ann.pk), (2, min(bob.pk, cid.pk))]


def test_leaderboard_by_given_and_by_hi5s_received(as_user, organization, org_admin):
    ann, bob, cid = UserFactory.create_batch(3, organization=organization)
    for giver, times in ((ann, 2), (bob, 1)):
        for _ in range(times):
            RecognitionFactory(organization=organization, given_by=giver, given_for=cid, given_at=at(15))
    recognition = RecognitionFactory(organization=organization, given_by=cid, given_for=bob, given_at=at(15))
    Hi5Factory.create_batch(3, recognition=recognition, given_at=at(16))
    client = as_user(org_admin)

    given = client.get("/insights/leaderboard", {"by": "given"}).json()["data"]
    assert [(entry["user"]["id"], entry["count"]) for entry in given][:3] == [(ann.pk, 2), (bob.pk, 1), (cid.pk, 1)]
    hidden = RecognitionFactory(organization=organization, given_for=ann, given_at=at(15), hidden=True)
    Hi5Factory.create_batch(5, recognition=hidden, given_at=at(16))  # on a hidden recognition: left out
    gone = UserFactory(organization=organization, deleted=True)
    Hi5Factory.create_batch(
        4, recognition=RecognitionFactory(organization=organization, given_for=gone, given_at=at(15)), given_at=at(16)
    )  # a deleted member: left out of rankings
    hi5s = client.get("/insights/leaderboard", {"by": "hi5s_received"}).json()["data"]
    assert [(entry["rank"], entry["user"]["id"], entry["count"]) for entry in hi5s] == [(1, bob.pk, 3)]
    unknown = client.get("/insights/leaderboard", {"core_value_id": "999999"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "unknown_reference")


def test_members_read_the_leaderboard_only_where_it_is_visible(as_user, organization, employee):
    refused = as_user(employee).get("/insights/leaderboard")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "access_denied")
    organization.leaderboard_visible = True
    organization.save()
    RecognitionFactory(organization=organization, given_for=employee, given_at=at(15))
    board = as_user(employee).get("/insights/leaderboard").json()["data"]
    assert [(entry["rank"], entry["user"]["id"], entry["count"]) for entry in board] == [(1, employee.pk, 1)]
    for path in ("/insights/summary", "/insights/timeline"):  # those stay the admins'
        assert as_user(employee).get(path).status_code == 403


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/insights/summary", {"from": "2026-06-10", "to": "2026-06-01"}, "to"),
        ("/insights/timeline", {"interval": "year"}, "interval"),
        ("/insights/timeline", {"from": "2020-01-01"}, "from"),
        ("/insights/leaderboard", {"limit": "51"}, "limit"),
        ("/insights/leaderboard", {"by": "hi5s_given"}, "by"),
        ("/insights/leaderboard", {"core_value_id": "0"}, "core_value_id"),
    ],
)
def test_bad_parameters_are_400_naming_the_field(as_user, org_admin, path, params, field):
    response = as_user(org_admin).get(path, params)
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]


def test_another_organisation_is_for_super_admins_only(as_user, org_admin, super_admin, other_organization):
    RecognitionFactory(organization=other_organization, given_at=at(15))
    refused = as_user(org_admin).get("/insights/summary", {"org_id": other_organization.pk})
    assert refused.status_code == 403
    summary = as_user(super_admin).get("/insights/summary", {"org_id": other_organization.pk}).json()["data"]
    assert summary["recognitions"] == 1


def test_the_insights_cost_the_same_queries_for_any_amount_of_data(organization):
    def queries(run) -> int:
        with CaptureQueriesContext(connection) as captured:
            run()
        return len(captured)

    period = period_of(organization, first_day=date(2026, 5, 1), last_day=date(2026, 6, 17))

    def everything():
        insights_summary(organization, period)
        insights_timeline(organization, period, "week")

    before = queries(everything)
    RecognitionFactory.create_batch(30, organization=organization, given_at=at(5))
    Hi5.objects.bulk_create(
        Hi5(recognition=recognition, given_by=UserFactory(organization=organization), given_at=at(6))
        for recognition in Recognition.objects.filter(organization=organization)[:10]
    )
    CoreValueFactory.create_batch(3, organization=organization)
    assert queries(everything) == before
