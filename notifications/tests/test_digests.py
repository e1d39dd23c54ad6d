"""The weekly digests (#11): due on Monday from 09:00 in the organisation's timezone, once a week per
organisation, telling of the seven days before. Emails land in Django's test outbox."""

from datetime import UTC, datetime
from functools import partial

import pytest
import time_machine
from django.core import mail
from procrastinate.contrib.django.models import ProcrastinateJob

from accounts.tests.factories import OrganizationFactory, UserFactory
from corevalues.tests.factories import CoreValueFactory
from notifications import digests, services
from notifications.models import DigestRun
from recognitions.models import Hi5
from recognitions.tests.factories import RecognitionFactory
from tests.concurrency import run_together

MONDAY = "2026-12-07"  # London is on GMT in December: local time = UTC


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def deferred(task: str) -> list[dict]:
    return [job.args for job in ProcrastinateJob.objects.filter(task_name=task).order_by("id")]


@pytest.fixture
def london(db):
    return OrganizationFactory(name="London", timezone="Europe/London")


@pytest.mark.django_db
def test_digests_are_deferred_once_from_monday_nine_local(london):
    tokyo = OrganizationFactory(name="Tokyo", timezone="Asia/Tokyo")
    admin = UserFactory(organization=london, org_admin=True)
    member = UserFactory(organization=london)
    UserFactory(organization=london, deleted=True)

    assert digests.weekly_digests_run(now=at("2026-12-07T08:30")) == 1  # 17:30 in Tokyo; 08:30 in London
    assert DigestRun.objects.get().organization == tokyo
    assert digests.weekly_digests_run(now=at("2026-12-07T09:05")) == 1  # London's turn
    assert digests.weekly_digests_run(now=at("2026-12-07T10:05")) == 0
    assert digests.weekly_digests_run(now=at("2026-12-09T10:05")) == 0  # the rest of the week: done

    members = [args for args in deferred(digests.MEMBER_TASK) if args["user_id"] in (admin.pk, member.pk)]
    assert sorted(args["user_id"] for args in members) == sorted([admin.pk, member.pk])  # not the deleted one
    assert {args["week_start"] for args in members} == {MONDAY}
    assert [args["user_id"] for args in deferred(digests.ADMIN_TASK)] == [admin.pk]
    assert DigestRun.objects.get(organization=london).members == 2


@pytest.mark.django_db
def test_a_worker_down_on_monday_catches_up_that_week(london):
    UserFactory(organization=london)
    assert digests.weekly_digests_run(now=at("2026-12-10T15:00")) == 1  # Thursday
    assert DigestRun.objects.get().week_start.isoformat() == MONDAY


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_one_weeks_digests_once(london):
    UserFactory.create_batch(2, organization=london)
    started = run_together(lambda index: digests.weekly_digests_run(now=at("2026-12-07T09:30")), threads=2)
    assert sorted(started) == [0, 1]
    assert len(deferred(digests.MEMBER_TASK)) == 2


@pytest.mark.django_db
def test_a_members_digest_tells_of_their_week(london):
    member = UserFactory(organization=london, first_name="Mia", hi5_quota_balance=3)
    value = CoreValueFactory(organization=london, text="Courage")
    RecognitionFactory(
        organization=london, given_for=member, core_value=value, text="In the week", given_at=at("2026-12-02T10:00")
    )
    RecognitionFactory(organization=london, given_for=member, text="Sunday night", given_at=at("2026-12-06T23:30"))
    RecognitionFactory(
        organization=london, given_for=member, text="Hidden", hidden=True, given_at=at("2026-12-03T10:00")
    )
    RecognitionFactory(organization=london, given_for=member, text="Too early", given_at=at("2026-11-29T23:59"))
    RecognitionFactory(organization=london, given_for=member, text="Too late", given_at=at("2026-12-07T00:00"))

    with time_machine.travel(at("2026-12-07T09:30"), tick=False):
        assert digests.member_digest_deliver(user_id=member.pk, week_start=MONDAY) is True

    [message] = mail.outbox
    assert message.to == [member.email]
    assert message.subject == "Your week in Peerly: 2 recognitions"
    for told in ("In the week", "Sunday night"):
        assert told in message.body
    for untold in ("Hidden", "Too early", "Too late"):
        assert untold not in message.body
    assert "From Monday 30 November to Sunday 6 December" in message.body
    london.refresh_from_db()
    renewal = "Monday 14 December" if london.hi5_quota_renewal_frequency == "weekly" else "Friday 1 January"
    assert f"You have 3 Hi5s left to give; they renew on {renewal}." in message.body
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.django_db
def test_an_admins_digest_tells_of_the_organisations_week(london):
    admin = UserFactory(organization=london, org_admin=True)
    people = UserFactory.create_batch(4, organization=london)  # 5 active members with the admin
    courage = CoreValueFactory(organization=london, text="Courage")
    care = CoreValueFactory(organization=london, text="Care")
    week = at("2026-12-02T10:00")
    first = RecognitionFactory(
        organization=london, given_by=people[0], given_for=people[1], core_value=courage, given_at=week
    )
    RecognitionFactory(organization=london, given_by=people[0], given_for=people[2], core_value=courage, given_at=week)
    RecognitionFactory(organization=london, given_by=people[1], given_for=people[0], core_value=care, given_at=week)
    RecognitionFactory(
        organization=london, given_by=people[3], given_for=admin, core_value=care, hidden=True, given_at=week
    )
    Hi5.objects.create(recognition=first, given_by=people[3], given_at=week)

    assert digests.admin_digest_deliver(user_id=admin.pk, week_start=MONDAY) is True
    assert digests.admin_digest_deliver(user_id=people[0].pk, week_start=MONDAY) is False  # not an admin

    [message] = mail.outbox
    assert message.subject == "London's week in Peerly: 3 recognitions, 60% taking part"
    assert "- 3 recognitions and 1 Hi5" in message.body
    assert "- 2 members gave, 3 received" in message.body
    assert "participation: 60% of 5 active members" in message.body
    assert "Top core values:\n- Courage: 2\n- Care: 1" in message.body


@pytest.mark.django_db
def test_no_digest_for_a_member_who_switched_it_off(london):
    member = UserFactory(organization=london)
    services.preferences_update(user=member, email_weekly_digest=False)
    assert digests.member_digest_deliver(user_id=member.pk, week_start=MONDAY) is False
    assert mail.outbox == []


@pytest.mark.django_db
def test_an_organisation_without_members_or_with_a_broken_timezone_does_not_stop_the_others(london):
    from accounts.models import Organization

    UserFactory(organization=london)
    empty = OrganizationFactory(name="Empty", timezone="UTC")
    broken = OrganizationFactory(name="Broken")
    Organization.objects.filter(pk=broken.pk).update(timezone="Mars/Olympus")  # bypassing validation

    assert digests.weekly_digests_run(now=at("2026-12-07T09:30")) == 2
    assert set(DigestRun.objects.values_list("organization__name", flat=True)) == {"London", "Empty"}
    assert DigestRun.objects.get(organization=empty).members == 0


@pytest.mark.django_db
def test_the_week_follows_local_midnights_across_a_clock_change(london):
    """British Summer Time begins on Sunday 28 March 2027: that week ends at 23:00 UTC."""
    member = UserFactory(organization=london)
    received = partial(RecognitionFactory, organization=london, given_for=member)
    received(text="Sunday 23:30 BST", given_at=at("2027-03-28T22:30"))
    received(text="Monday 00:30 BST", given_at=at("2027-03-28T23:30"))
    received(text="Monday 00:30 GMT", given_at=at("2027-03-22T00:30"))

    assert digests.weekly_digests_run(now=at("2027-03-29T08:05")) == 1  # 09:05 BST
    assert digests.member_digest_deliver(user_id=member.pk, week_start="2027-03-29") is True

    body = mail.outbox[0].body
    assert "Sunday 23:30 BST" in body
    assert "Monday 00:30 GMT" in body
    assert "Monday 00:30 BST" not in body
    assert "From Monday 22 March to Sunday 28 March" in body
