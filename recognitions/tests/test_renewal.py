from datetime import UTC, date, datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

from accounts.models import Organization, User
from accounts.tests.factories import OrganizationFactory, UserFactory
from recognitions.models import QuotaRenewal
from recognitions.quota import quota_period_start
from recognitions.services import hi5_quotas_renew
from recognitions.tests.factories import NO_PASSWORD

KOLKATA = ZoneInfo("Asia/Kolkata")  # UTC+05:30
LOS_ANGELES = ZoneInfo("America/Los_Angeles")  # UTC-08:00 in winter, -07:00 in summer

# 2026-11-23 and 2026-11-30 are Mondays.
LAST_MONDAY, MONDAY = date(2026, 11, 23), date(2026, 11, 30)


def local(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)


class TestPeriodStart:
    @pytest.mark.parametrize(
        ("now", "tz", "expected"),
        [
            # Kolkata: Monday 00:30 local is still Sunday 19:00 in UTC.
            (local(KOLKATA, 2026, 11, 29, 23, 0), "Asia/Kolkata", LAST_MONDAY),
            (local(KOLKATA, 2026, 11, 29, 23, 59, 59), "Asia/Kolkata", LAST_MONDAY),
            (local(KOLKATA, 2026, 11, 30, 0, 0), "Asia/Kolkata", MONDAY),
            (local(KOLKATA, 2026, 11, 30, 0, 30), "Asia/Kolkata", MONDAY),
            # Los Angeles: Sunday 23:00 local is already Monday 07:00 in UTC.
            (local(LOS_ANGELES, 2026, 11, 29, 23, 0), "America/Los_Angeles", LAST_MONDAY),
            (local(LOS_ANGELES, 2026, 11, 30, 0, 30), "America/Los_Angeles", MONDAY),
            (local(LOS_ANGELES, 2026, 12, 6, 23, 59), "America/Los_Angeles", MONDAY),
            # A Monday right after the spring-forward Sunday (2026-03-08) in Los Angeles.
            (local(LOS_ANGELES, 2026, 3, 9, 0, 0), "America/Los_Angeles", date(2026, 3, 9)),
            (local(LOS_ANGELES, 2026, 3, 8, 23, 59), "America/Los_Angeles", date(2026, 3, 2)),
        ],
    )
    def test_weekly_starts_on_monday_midnight_local(self, now, tz, expected):
        assert quota_period_start(now=now.astimezone(UTC), frequency="weekly", timezone_name=tz) == expected

    @pytest.mark.parametrize(
        ("now", "tz", "expected"),
        [
            (local(KOLKATA, 2026, 11, 30, 23, 59), "Asia/Kolkata", date(2026, 11, 1)),
            # Kolkata's December 1st, 00:30 is still November 30th, 19:00 in UTC.
            (local(KOLKATA, 2026, 12, 1, 0, 30), "Asia/Kolkata", date(2026, 12, 1)),
            # Los Angeles' November 30th, 23:00 is already December 1st, 07:00 in UTC.
            (local(LOS_ANGELES, 2026, 11, 30, 23, 0), "America/Los_Angeles", date(2026, 11, 1)),
            (local(LOS_ANGELES, 2026, 12, 1, 0, 0), "America/Los_Angeles", date(2026, 12, 1)),
            (datetime(2027, 1, 1, 0, 0, tzinfo=UTC), "UTC", date(2027, 1, 1)),
            (datetime(2028, 2, 29, 12, 0, tzinfo=UTC), "UTC", date(2028, 2, 1)),
        ],
    )
    def test_monthly_starts_on_the_first_midnight_local(self, now, tz, expected):
        assert quota_period_start(now=now.astimezone(UTC), frequency="monthly", timezone_name=tz) == expected

    def test_refuses_naive_datetimes_and_unknown_frequencies(self):
        with pytest.raises(ValueError, match="aware"):
            quota_period_start(now=datetime(2026, 11, 30), frequency="weekly", timezone_name="UTC")
        with pytest.raises(ValueError, match="frequency"):
            quota_period_start(now=datetime(2026, 11, 30, tzinfo=UTC), frequency="daily", timezone_name="UTC")


def balances(*users: User) -> list[int]:
    return [User.objects.values_list("hi5_quota_balance", flat=True).get(pk=user.pk) for user in users]


def spend_all(organization: Organization, to: int = 0) -> None:
    User.objects.filter(organization=organization).update(hi5_quota_balance=to)


@pytest.mark.django_db
class TestRenew:
    @pytest.fixture
    def kolkata(self):
        return OrganizationFactory(timezone="Asia/Kolkata", hi5_quota_renewal_frequency="weekly", hi5_limit=5)

    @pytest.fixture
    def los_angeles(self):
        return OrganizationFactory(timezone="America/Los_Angeles", hi5_quota_renewal_frequency="weekly", hi5_limit=7)

    def test_weekly_in_kolkata_renews_at_local_monday_while_utc_is_still_sunday(self, kolkata):
        # given: a member who spent everything, and the first run of the week already done on Sunday night
        member = UserFactory(organization=kolkata, password=NO_PASSWORD)
        with time_machine.travel(local(KOLKATA, 2026, 11, 29, 23, 0), tick=False):
            hi5_quotas_renew()
        spend_all(kolkata)
        # when: Sunday 23:59 local, still the same week: nothing happens
        with time_machine.travel(local(KOLKATA, 2026, 11, 29, 23, 59), tick=False):
            assert [outcome.renewed for outcome in hi5_quotas_renew()] == [False]
        assert balances(member) == [0]
        # when: Monday 00:30 local (Sunday 19:00 UTC): a new week
        with time_machine.travel(local(KOLKATA, 2026, 11, 30, 0, 30), tick=False):
            (outcome,) = hi5_quotas_renew()
        # then
        assert (outcome.renewed, outcome.period_start, outcome.users_renewed) == (True, MONDAY, 1)
        assert balances(member) == [5]
        assert list(QuotaRenewal.objects.values_list("period_start", flat=True)) == [MONDAY, LAST_MONDAY]

    def test_weekly_in_los_angeles_waits_for_local_monday_while_utc_is_already_monday(self, los_angeles):
        member = UserFactory(organization=los_angeles, password=NO_PASSWORD)
        with time_machine.travel(local(LOS_ANGELES, 2026, 11, 28, 12, 0), tick=False):
            hi5_quotas_renew()
        spend_all(los_angeles, to=2)
        # Sunday 23:00 local = Monday 07:00 UTC: not yet
        with time_machine.travel(local(LOS_ANGELES, 2026, 11, 29, 23, 0), tick=False):
            assert [outcome.renewed for outcome in hi5_quotas_renew()] == [False]
        assert balances(member) == [2]
        # Monday 00:30 local: renewed to the limit, no rollover of the 2 left
        with time_machine.travel(local(LOS_ANGELES, 2026, 11, 30, 0, 30), tick=False):
            assert [outcome.renewed for outcome in hi5_quotas_renew()] == [True]
        assert balances(member) == [7]

    def test_each_organisation_on_its_own_clock(self, kolkata, los_angeles):
        # given: both renewed last week
        in_kolkata = UserFactory(organization=kolkata, password=NO_PASSWORD)
        in_la = UserFactory(organization=los_angeles, password=NO_PASSWORD)
        with time_machine.travel(datetime(2026, 11, 25, 12, 0, tzinfo=UTC), tick=False):
            hi5_quotas_renew()
        spend_all(kolkata)
        spend_all(los_angeles)
        # when: Monday 08:00 UTC = Monday 13:30 in Kolkata, Monday 00:00 in Los Angeles
        with time_machine.travel(datetime(2026, 11, 30, 7, 59, tzinfo=UTC), tick=False):
            hi5_quotas_renew()
        # then: only Kolkata's week has begun
        assert balances(in_kolkata, in_la) == [5, 0]
        with time_machine.travel(datetime(2026, 11, 30, 8, 0, tzinfo=UTC), tick=False):
            hi5_quotas_renew()
        assert balances(in_kolkata, in_la) == [5, 7]

    def test_monthly_on_the_first(self):
        org = OrganizationFactory(timezone="Asia/Kolkata", hi5_quota_renewal_frequency="monthly", hi5_limit=3)
        member = UserFactory(organization=org, password=NO_PASSWORD)
        with time_machine.travel(local(KOLKATA, 2026, 11, 2, 9, 0), tick=False):
            hi5_quotas_renew()
        spend_all(org)
        # Monday the 30th: a weekly org would renew, a monthly one does not
        with time_machine.travel(local(KOLKATA, 2026, 11, 30, 23, 59), tick=False):
            hi5_quotas_renew()
        assert balances(member) == [0]
        with time_machine.travel(local(KOLKATA, 2026, 12, 1, 0, 30), tick=False):
            (outcome,) = hi5_quotas_renew()
        assert (outcome.renewed, outcome.period_start) == (True, date(2026, 12, 1))
        assert balances(member) == [3]

    def test_first_run_renews_a_new_organisation_and_reruns_change_nothing(self, kolkata):
        member = UserFactory(organization=kolkata, password=NO_PASSWORD)
        spend_all(kolkata, to=1)
        with time_machine.travel(local(KOLKATA, 2026, 11, 26, 10, 0), tick=False):
            (first,) = hi5_quotas_renew()
        assert (first.renewed, first.period_start, balances(member)) == (True, LAST_MONDAY, [5])
        spend_all(kolkata, to=2)
        # when: run again many times in the same week
        for hour in (11, 12, 23):
            with time_machine.travel(local(KOLKATA, 2026, 11, 26, hour, 0), tick=False):
                (again,) = hi5_quotas_renew()
            assert (again.renewed, again.reason) == (False, "already renewed")
        # then: what was spent since stays spent
        assert balances(member) == [2]
        assert QuotaRenewal.objects.get().users_renewed == 1

    def test_deleted_users_and_other_organisations_are_left_alone(self, kolkata):
        active = UserFactory(organization=kolkata, password=NO_PASSWORD)
        deleted = UserFactory(organization=kolkata, deleted=True, password=NO_PASSWORD)
        super_admin = UserFactory(super_admin=True, password=NO_PASSWORD)
        spend_all(kolkata)
        with time_machine.travel(local(KOLKATA, 2026, 11, 26, 10, 0), tick=False):
            (outcome,) = hi5_quotas_renew()
        assert outcome.users_renewed == 1
        assert balances(active, deleted, super_admin) == [5, 0, 0]

    def test_lowered_limit_lowers_balances(self, kolkata):
        member = UserFactory(organization=kolkata, password=NO_PASSWORD, hi5_quota_balance=5)
        Organization.objects.filter(pk=kolkata.pk).update(hi5_limit=2)
        hi5_quotas_renew()
        assert balances(member) == [2]

    def test_dry_run_writes_nothing(self, kolkata):
        member = UserFactory(organization=kolkata, password=NO_PASSWORD)
        spend_all(kolkata)
        (outcome,) = hi5_quotas_renew(dry_run=True)
        assert (outcome.renewed, outcome.users_renewed) == (True, 1)
        assert balances(member) == [0]
        assert not QuotaRenewal.objects.exists()

    def test_a_misconfigured_organisation_does_not_stop_the_others(self, kolkata):
        broken = OrganizationFactory()
        Organization.objects.filter(pk=broken.pk).update(timezone="Mars/Olympus")
        member = UserFactory(organization=kolkata, password=NO_PASSWORD)
        spend_all(kolkata)
        outcomes = {outcome.organization.pk: outcome for outcome in hi5_quotas_renew()}
        assert outcomes[kolkata.pk].renewed
        assert (outcomes[broken.pk].renewed, outcomes[broken.pk].period_start) == (False, None)
        assert balances(member) == [5]


@pytest.mark.django_db
class TestCommand:
    def test_renews_then_reports_already_renewed(self):
        org = OrganizationFactory(name="Initech", timezone="Asia/Kolkata", hi5_quota_renewal_frequency="weekly")
        member = UserFactory(organization=org, password=NO_PASSWORD, hi5_quota_balance=0)
        with time_machine.travel(local(KOLKATA, 2026, 11, 30, 0, 30), tick=False):
            out = StringIO()
            call_command("renew_hi5_quotas", stdout=out)
            assert "Initech (weekly, Asia/Kolkata): renewed 1 user to 5 Hi5s for the period from 2026-11-30" in (
                out.getvalue()
            )
            again = StringIO()
            call_command("renew_hi5_quotas", stdout=again)
        assert "already renewed for the period from 2026-11-30" in again.getvalue()
        assert "0 of 1 organisations renewed" in again.getvalue()
        assert balances(member) == [5]

    def test_dry_run(self):
        org = OrganizationFactory(name="Initech")
        member = UserFactory(organization=org, password=NO_PASSWORD, hi5_quota_balance=0)
        out = StringIO()
        call_command("renew_hi5_quotas", "--dry-run", stdout=out)
        assert "would renew 1 user " in out.getvalue()
        assert balances(member) == [0]
        assert not QuotaRenewal.objects.exists()

    def test_fails_loudly_for_a_misconfigured_organisation(self):
        OrganizationFactory(name="Fine")
        broken = OrganizationFactory(name="Broken")
        Organization.objects.filter(pk=broken.pk).update(timezone="Mars/Olympus")
        with pytest.raises(CommandError, match="Could not renew: Broken"):
            call_command("renew_hi5_quotas", stdout=StringIO(), stderr=StringIO())
        assert QuotaRenewal.objects.filter(organization__name="Fine").exists()
