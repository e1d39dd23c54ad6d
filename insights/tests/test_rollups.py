"""The insights' rollups (insights/models.py, kept by the triggers of migration insights/0001) against a
direct count over the tables, after random sequences of writes of every kind (gives, Hi5s, hides and
restores, edits, deletes, soft deletes, quota renewals, timezone changes)."""

import io
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models.signals import pre_save
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Organization, User
from accounts.services import organization_save
from accounts.tests.factories import OrganizationFactory, UserFactory
from corevalues.tests.factories import CoreValueFactory
from insights.models import GiverCount, MemberDays, MemberValueDays, OrganizationDay
from insights.periods import Period
from insights.selectors import EPOCH, insights_leaderboard, insights_summary, insights_timeline, span_of
from insights.services import rollups_rebuild
from moderation.services import review_create
from recognitions.models import Hi5, Recognition
from recognitions.services import hi5_quotas_renew, recognition_create
from recognitions.tests.factories import Hi5Factory, RecognitionFactory

TIMEZONES = ("UTC", "Asia/Kolkata", "America/Los_Angeles")
# Around a new year that starts a four-year span of the members' days (a week across two years and two
# spans), and the United States' spring DST change of 2026.
ORIGINS = (datetime(2027, 12, 27, tzinfo=UTC), datetime(2026, 3, 5, tzinfo=UTC))


# --- the direct count --------------------------------------------------------------------------------------


def _bucket_end(start: date, interval: str) -> date:
    """The last day of the day, week or month that starts on `start`."""
    if interval == "day":
        return start
    if interval == "week":
        return start + timedelta(days=6)
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return following - timedelta(days=1)


def _buckets(day: date) -> list[tuple[str, date]]:
    return [("day", day), ("week", day - timedelta(days=day.weekday())), ("month", day.replace(day=1))]


def expected_rollups(organization: Organization) -> tuple[dict, dict, dict, dict]:
    """What the four rollup tables must hold for the organisation, counted in Python from the rows."""
    tz = ZoneInfo(Organization.objects.get(pk=organization.pk).timezone)
    days: Counter = Counter()
    members: dict = defaultdict(list)  # (member, kind, span) -> day numbers
    per_value: dict = defaultdict(list)  # (member, core value, kind, span) -> day numbers
    givers: dict = defaultdict(set)

    def count(member_id: int, kind: str, core_value_id: int, day: date) -> None:
        members[(member_id, kind, span_of(day.year))].append((day - EPOCH).days)
        per_value[(member_id, core_value_id, kind, span_of(day.year))].append((day - EPOCH).days)

    for recognition in Recognition.objects.filter(organization=organization, is_hidden=False):
        day = recognition.given_at.astimezone(tz).date()
        days[(day, recognition.core_value_id, "recognitions")] += 1
        count(recognition.given_by_id, "given", recognition.core_value_id, day)
        count(recognition.given_for_id, "received", recognition.core_value_id, day)
        for unit, start in _buckets(day):
            givers[(unit, start)].add(recognition.given_by_id)
    hi5s = Hi5.objects.filter(recognition__organization=organization, recognition__is_hidden=False)
    for hi5 in hi5s.select_related("recognition"):
        day = hi5.given_at.astimezone(tz).date()
        days[(day, hi5.recognition.core_value_id, "hi5s")] += 1
        count(hi5.recognition.given_for_id, "hi5s", hi5.recognition.core_value_id, day)
    per_day = defaultdict(lambda: [0, 0])
    for (day, value, kind), number in days.items():
        per_day[(day, value)][kind == "hi5s"] = number
    return (
        {key: tuple(counts) for key, counts in per_day.items()},
        {key: tuple(sorted(numbers)) for key, numbers in members.items()},
        {key: tuple(sorted(numbers)) for key, numbers in per_value.items()},
        {key: len(people) for key, people in givers.items()},
    )


def actual_rollups(organization: Organization) -> tuple[dict, dict, dict, dict]:
    """The rollup tables' rows of the organisation (rows that count nothing any more left aside)."""
    per_day = {
        (row.day, row.core_value_id): (row.recognitions, row.hi5s)
        for row in OrganizationDay.objects.filter(organization=organization)
        if (row.recognitions, row.hi5s) != (0, 0)
    }
    members = {
        (row.member_id, row.kind, row.span): tuple(row.days)
        for row in MemberDays.objects.filter(organization=organization)
        if row.days
    }
    per_value = {
        (row.member_id, row.core_value_id, row.kind, row.span): tuple(row.days)
        for row in MemberValueDays.objects.filter(organization=organization)
        if row.days
    }
    givers = {
        (row.unit, row.start): row.givers for row in GiverCount.objects.filter(organization=organization) if row.givers
    }
    return per_day, members, per_value, givers


def naive_summary(organization: Organization, period: Period) -> dict:
    visible = Recognition.objects.filter(
        organization=organization, is_hidden=False, given_at__gte=period.start, given_at__lt=period.end
    )
    active = set(User.objects.active().filter(organization=organization).values_list("id", flat=True))
    giving = set(visible.values_list("given_by_id", flat=True))
    receiving = set(visible.values_list("given_for_id", flat=True))
    return {
        "recognitions": visible.count(),
        "hi5s": Hi5.objects.filter(
            recognition__organization=organization,
            recognition__is_hidden=False,
            given_at__gte=period.start,
            given_at__lt=period.end,
        ).count(),
        "givers": len(giving),
        "receivers": len(receiving),
        "participation_rate": round(len((giving | receiving) & active) / len(active), 4) if active else 0.0,
    }


def naive_leaderboard(organization: Organization, period: Period, by: str, core_value) -> list[tuple[int, int]]:
    """(member, count) read from the recognitions and Hi5s themselves: active members, count then id."""
    if by == "hi5s_received":
        rows = Hi5.objects.filter(
            recognition__organization=organization,
            recognition__is_hidden=False,
            given_at__gte=period.start,
            given_at__lt=period.end,
            recognition__given_for__soft_delete_at__isnull=True,
        )
        if core_value is not None:
            rows = rows.filter(recognition__core_value=core_value)
        people = rows.values_list("recognition__given_for_id", flat=True)
    else:
        person = "given_for" if by == "received" else "given_by"
        rows = Recognition.objects.filter(
            organization=organization,
            is_hidden=False,
            given_at__gte=period.start,
            given_at__lt=period.end,
            **{f"{person}__soft_delete_at__isnull": True},
        )
        if core_value is not None:
            rows = rows.filter(core_value=core_value)
        people = rows.values_list(f"{person}_id", flat=True)
    return sorted(Counter(people).items(), key=lambda item: (-item[1], item[0]))


# --- random writes -------------------------------------------------------------------------------------------

moments = st.tuples(
    st.sampled_from(ORIGINS), st.integers(0, 12), st.sampled_from([0, 5, 12, 18, 23]), st.sampled_from([0, 1, 29, 59])
)
give = st.tuples(st.just("give"), st.integers(0, 4), st.integers(1, 4), st.integers(0, 1), moments)
hi5 = st.tuples(st.just("hi5"), st.integers(0, 3), st.integers(0, 4), moments)
hide = st.tuples(st.sampled_from(["hide", "restore"]), st.integers(0, 3))
operations = st.one_of(
    # the everyday writes, most often
    give,
    give,
    hi5,
    hi5,
    hide,
    hide,
    # and every other kind of write
    st.tuples(st.just("give_many"), st.lists(st.tuples(st.integers(0, 4), st.integers(1, 4), moments), max_size=4)),
    st.tuples(st.just("hide_all_of"), st.integers(0, 4)),
    st.tuples(st.just("move"), st.integers(0, 3), st.integers(0, 1), moments),
    st.tuples(st.just("delete"), st.integers(0, 3)),
    st.tuples(st.just("unhi5"), st.integers(0, 3)),
    st.tuples(st.just("soft_delete"), st.integers(0, 4)),
    st.tuples(st.just("timezone"), st.sampled_from(TIMEZONES)),
    st.tuples(st.just("renew"), moments),  # the quota renewal writes balances only: the rollups stay
)


def _moment(value: tuple) -> datetime:
    origin, days, hour, minute = value
    return origin + timedelta(days=days, hours=hour, minutes=minute)


def _apply(operation: tuple, organization: Organization, people: list[User], values: list) -> None:
    kind, *args = operation
    pick = None
    if kind in ("hi5", "hide", "restore", "move", "delete", "unhi5"):
        recognitions = list(Recognition.objects.filter(organization=organization).order_by("-id")[:4])
        if not recognitions:
            return
        pick = recognitions[args[0] % len(recognitions)]  # one of the newest: where the Hi5s and hides are
    if kind == "give":
        giver, step, value, moment = args
        Recognition.objects.create(
            organization=organization,
            given_by=people[giver],
            given_for=people[(giver + step) % len(people)],
            core_value=values[value],
            text="Thanks",
            given_at=_moment(moment),
        )
    elif kind == "give_many":  # one INSERT of several rows: a statement's changes are applied together
        Recognition.objects.bulk_create(
            Recognition(
                organization=organization,
                given_by=people[giver],
                given_for=people[(giver + step) % len(people)],
                core_value=values[0],
                text="Thanks",
                given_at=_moment(moment),
            )
            for giver, step, moment in args[0]
        )
    elif kind == "hi5":  # from the first colleague at or after args[1] who may still give one
        taken = {pick.given_by_id, pick.given_for_id, *pick.hi5s.values_list("given_by_id", flat=True)}
        eligible = [person for person in people[args[1] :] + people[: args[1]] if person.pk not in taken]
        if eligible:
            Hi5.objects.create(recognition=pick, given_by=eligible[0], given_at=_moment(args[2]))
    elif kind in ("hide", "restore"):
        Recognition.objects.filter(pk=pick.pk).update(is_hidden=kind == "hide")
    elif kind == "hide_all_of":  # one UPDATE of several rows, as a bulk moderation would
        Recognition.objects.filter(organization=organization, given_by=people[args[0]]).update(is_hidden=True)
    elif kind == "move":  # an admin's edit: another core value, another moment
        Recognition.objects.filter(pk=pick.pk).update(core_value=values[args[1]], given_at=_moment(args[2]))
    elif kind == "delete":
        pick.delete()  # its Hi5s first (Django's cascade), then the recognition
    elif kind == "unhi5":
        Hi5.objects.filter(pk__in=pick.hi5s.values("pk")[:1]).delete()
    elif kind == "soft_delete":
        User.objects.filter(pk=people[args[0]].pk).update(soft_delete_at=timezone.now())
    elif kind == "timezone":
        Organization.objects.filter(pk=organization.pk).update(timezone=args[0])
    elif kind == "renew":
        hi5_quotas_renew(now=_moment(args[0]) + timedelta(days=7))


@pytest.mark.django_db
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first_timezone=st.sampled_from(TIMEZONES),
    steps=st.lists(operations, min_size=12, max_size=40),
    first_day=st.integers(0, 12),
    length=st.integers(1, 40),
    today=st.integers(0, 16),
    through_days=st.booleans(),
)
def test_the_rollups_equal_a_direct_count_after_any_writes(
    first_timezone, steps, first_day, length, today, through_days
):
    with transaction.atomic():
        # given: an organisation, and another one whose rollups must not move
        organization = OrganizationFactory(timezone=first_timezone)
        people = UserFactory.create_batch(5, organization=organization, password="!")
        values = CoreValueFactory.create_batch(2, organization=organization)
        bystander = RecognitionFactory(given_at=ORIGINS[0] + timedelta(days=1))
        Hi5Factory(recognition=bystander, given_at=ORIGINS[0] + timedelta(days=2))
        others = actual_rollups(bystander.organization)
        # when
        for operation in steps:
            _apply(operation, organization, people, values)
        # then: the tables hold the direct count, the other organisation's did not move
        organization.refresh_from_db()
        assert actual_rollups(organization) == expected_rollups(organization)
        assert actual_rollups(bystander.organization) == others == expected_rollups(bystander.organization)
        # and the reads agree with reading the recognitions themselves, "today" anywhere around the period (the
        # closed days' answers cached, the live ones read), partial buckets' givers read either way
        start = (ORIGINS[0] + timedelta(days=first_day)).date()
        period = Period(
            first_day=start, last_day=start + timedelta(days=length - 1), tz=ZoneInfo(organization.timezone)
        )
        reading = (
            mock.patch("insights.selectors.timezone.now", return_value=ORIGINS[0] + timedelta(days=today, hours=12)),
            mock.patch("insights.selectors.DIRECT_GIVERS_MAX", -1 if through_days else 10_000),
        )
        with reading[0], reading[1]:
            _reads_agree(organization, period, values)
        # and a rebuild from the tables writes the same
        rollups_rebuild(organization_id=organization.pk)
        assert actual_rollups(organization) == expected_rollups(organization)
        transaction.set_rollback(True)


def _reads_agree(organization: Organization, period: Period, values: list) -> None:
    """The summary, every leaderboard and every timeline equal reading the recognitions themselves."""
    summary = insights_summary(organization, period)
    assert {key: summary[key] for key in naive_summary(organization, period)} == naive_summary(organization, period)
    earlier = naive_summary(organization, period.previous())
    assert {key: summary["previous"][key] for key in earlier} == earlier
    for by in ("received", "given", "hi5s_received"):
        for value in (None, values[0]):
            ranking = insights_leaderboard(organization, period, by=by, core_value_id=value and value.pk, limit=50)
            naive = naive_leaderboard(organization, period, by, value)
            assert [(entry["user"].pk, entry["count"]) for entry in ranking] == naive
            # equal counts share a rank: 1, 2, 2, 4
            assert [entry["rank"] for entry in ranking] == [
                1 + sum(other > count for _, other in naive) for _, count in naive
            ]
    for interval in ("day", "week", "month"):
        for point in insights_timeline(organization, period, interval):
            # the point's days within the period (a first or last bucket may be partial)
            first = max(point["start"], period.first_day)
            last = min(_bucket_end(point["start"], interval), period.last_day)
            within = naive_summary(organization, Period(first_day=first, last_day=last, tz=period.tz))
            assert (point["recognitions"], point["hi5s"], point["givers"]) == (
                within["recognitions"],
                within["hi5s"],
                within["givers"],
            ), (interval, point)


@pytest.mark.django_db
def test_a_timezone_change_moves_recognitions_to_their_new_days():
    # given: 23:30 UTC on 31 December 2027, the last day of a four-year span in UTC, already 2028 in Kolkata
    organization = OrganizationFactory(timezone="UTC")
    recognition = RecognitionFactory(organization=organization, given_at=datetime(2027, 12, 31, 23, 30, tzinfo=UTC))
    assert list(OrganizationDay.objects.filter(organization=organization).values_list("day", flat=True)) == [
        date(2027, 12, 31)
    ]
    assert set(MemberDays.objects.filter(member=recognition.given_by).values_list("span", flat=True)) == {2024}
    # when
    organization.timezone = "Asia/Kolkata"
    organization.save()
    # then
    assert list(OrganizationDay.objects.filter(organization=organization).values_list("day", flat=True)) == [
        date(2028, 1, 1)
    ]
    assert list(MemberDays.objects.filter(member=recognition.given_by).values_list("span", "days")) == [
        (2028, [(date(2028, 1, 1) - EPOCH).days])
    ]
    assert set(GiverCount.objects.filter(organization=organization).values_list("unit", "start")) == {
        ("day", date(2028, 1, 1)),
        ("week", date(2027, 12, 27)),
        ("month", date(2028, 1, 1)),
    }
    assert actual_rollups(organization) == expected_rollups(organization)


@pytest.mark.django_db
def test_the_rebuild_command_repairs_damaged_rollups():
    # given: rollups damaged (as after a bulk load with the triggers disabled)
    recognition = RecognitionFactory()
    Hi5Factory(recognition=recognition)
    organization = recognition.organization
    right = actual_rollups(organization)
    OrganizationDay.objects.update(recognitions=7)
    MemberDays.objects.update(days=[1, 2, 3])
    MemberValueDays.objects.all().delete()
    GiverCount.objects.all().delete()
    out = io.StringIO()
    # when
    call_command("rebuild_insights", stdout=out)
    # then
    assert actual_rollups(organization) == right == expected_rollups(organization)
    assert out.getvalue().startswith("Rebuilt the insights of ")


@pytest.mark.django_db
def test_the_rebuild_command_names_an_unknown_organisation():
    with pytest.raises(CommandError, match="No organisation 999999"):
        call_command("rebuild_insights", "--org-id", "999999")


@pytest.mark.django_db(transaction=True)
def test_concurrent_hides_and_gives_of_one_giver_keep_the_givers_exact():
    """Trial after trial, from a week with nothing visible: a moderator shows again a giver's recognition
    of 30 December 2027 while, at the same moment, the giver gives another on 1 January 2028: one week
    (from Monday 27 December), two four-year spans (two rows of the giver's days) and two core values, so
    no row of the rollups serialises the two. Each side decides the week's distinct givers from the table:
    without the giver's lock, each would miss the other's uncommitted change and count the giver twice."""
    organization = OrganizationFactory()
    giver, receiver = UserFactory.create_batch(2, organization=organization, password="!")
    value, other_value = CoreValueFactory.create_batch(2, organization=organization)
    december = RecognitionFactory(
        organization=organization,
        given_by=giver,
        given_for=receiver,
        core_value=other_value,
        given_at=datetime(2027, 12, 30, 12, tzinfo=UTC),
        hidden=True,
    )
    trials = 25
    barrier = threading.Barrier(3, timeout=60)
    errors: list[BaseException] = []

    def run(work):
        try:
            for _ in range(trials):
                barrier.wait()  # the trial starts
                work()
                barrier.wait()  # the trial is over
        except BaseException as exc:  # reported below, from the test's own thread
            errors.append(exc)
            barrier.abort()
        finally:
            connection.close()

    def give() -> None:
        Recognition.objects.create(
            organization=organization,
            given_by=giver,
            given_for=receiver,
            core_value=value,
            text="Thanks",
            given_at=datetime(2028, 1, 1, 12, tzinfo=UTC),
        )

    def show() -> None:
        Recognition.objects.filter(pk=december.pk).update(is_hidden=False)

    threads = [threading.Thread(target=run, args=(work,)) for work in (give, show)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(trials):
            Recognition.objects.filter(given_by=giver).update(is_hidden=True)  # nothing visible in the week
            barrier.wait()
            barrier.wait()
    except BaseException:
        barrier.abort()  # the sides waiting for this thread stop too
        raise
    finally:
        for thread in threads:
            thread.join()
    assert errors == []
    assert actual_rollups(organization) == expected_rollups(organization)


# --- one lock order for every writer (migration insights/0004) ---------------------------------------------


@pytest.mark.django_db
def test_the_insights_triggers_fire_before_the_feed_counters():
    """PostgreSQL fires a table's triggers of one event in the order of their names."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'recognitions_recognition'::regclass "
            "AND NOT tgisinternal ORDER BY tgname"
        )
        names = [name for (name,) in cursor.fetchall()]
    for event in ("insert", "update", "delete"):
        assert names.index(f"insights_on_{event}") < names.index(f"recognitions_counter_on_{event}")


class _Side(threading.Thread):
    """One transaction of a race on a connection of its own: its backend's pid is known before it works,
    so the test can see it wait for a lock; whatever it raises is kept for the test to report."""

    def __init__(self, work):
        super().__init__()
        self.work = work
        self.pid = None
        self.started_up = threading.Event()
        self.errors: list[BaseException] = []

    def run(self):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.pid = cursor.fetchone()[0]
            self.started_up.set()
            self.work()
        except BaseException as exc:  # reported by the test's own thread
            self.errors.append(exc)
        finally:
            self.started_up.set()
            connection.close()

    def finish(self, timeout: float = 20) -> list[BaseException]:
        """Wait for the side to end; what it raised."""
        self.join(timeout)
        assert not self.is_alive(), "the side did not end"
        return self.errors

    def waits_or_ends(self, timeout: float = 10, *, reached: threading.Event | None = None) -> bool:
        """Until the side waits for a lock (True), or has ended or `reached` a point of its own (False)."""
        self.started_up.wait(timeout)
        deadline = time.monotonic() + timeout
        while self.is_alive() and not (reached and reached.is_set()) and time.monotonic() < deadline:
            with connection.cursor() as cursor:
                cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted)", [self.pid])
                if cursor.fetchone()[0]:
                    return True
            time.sleep(0.02)
        assert not self.is_alive() or (reached and reached.is_set()), "the side neither waited for a lock nor went on"
        return False


@pytest.mark.django_db(transaction=True)
def test_a_review_hiding_a_givers_recognition_while_the_giver_gives_does_not_deadlock():
    """The giver's creation holds the giver's row (the balance) when the review, hiding one of the giver's
    recognitions of the same core value, waits for it; then the creation's insert reaches the feed counter
    of that core value. Had the review taken that counter row first (its counter trigger before its
    insights trigger), each would wait for the other."""
    organization = OrganizationFactory()
    giver, receiver = UserFactory.create_batch(2, organization=organization, hi5_quota_balance=5)
    moderator = UserFactory(organization=organization, moderator=True)
    value = CoreValueFactory(organization=organization)
    earlier = RecognitionFactory(organization=organization, given_by=giver, given_for=receiver, core_value=value)
    spent, go = threading.Event(), threading.Event()

    def pause_before_the_insert(sender, instance, **kwargs):
        if instance.pk is None:
            spent.set()  # the balance is spent: the giver's row is locked
            assert go.wait(10)

    def give() -> None:
        recognition_create(actor=giver, given_for=receiver.pk, core_value_id=value.pk, text="Again, thanks")

    def hide() -> None:
        review_create(actor=moderator, recognition=earlier, is_inappropriate=True)

    pre_save.connect(pause_before_the_insert, sender=Recognition)
    giving, reviewing = _Side(give), _Side(hide)
    try:
        giving.start()
        assert spent.wait(10)
        reviewing.start()
        assert reviewing.waits_or_ends()  # for the giver's row
        go.set()
        giving_errors, reviewing_errors = giving.finish(), reviewing.finish()
    finally:
        go.set()
        pre_save.disconnect(pause_before_the_insert, sender=Recognition)
    assert giving_errors == reviewing_errors == []
    assert Recognition.objects.get(pk=earlier.pk).is_hidden
    assert Recognition.objects.filter(given_by=giver, is_hidden=False).count() == 1
    assert actual_rollups(organization) == expected_rollups(organization)


@pytest.mark.django_db(transaction=True)
def test_a_timezone_change_while_a_recognition_is_given_does_not_deadlock():
    """The admin's save locks the organisation, then a colleague's insert checks its foreign key to it (a
    key share lock), then the timezone's rebuild waits for that insert's transaction. FOR UPDATE on the
    organisation would make the insert wait for the save: each would wait for the other."""
    organization = OrganizationFactory(timezone="UTC")
    giver, receiver = UserFactory.create_batch(2, organization=organization, hi5_quota_balance=5)
    value = CoreValueFactory(organization=organization)
    locked, inserted, go = threading.Event(), threading.Event(), threading.Event()

    def pause_before_the_update(sender, instance, **kwargs):
        locked.set()  # the organisation's row is locked
        assert go.wait(10)

    def change_timezone() -> None:
        with transaction.atomic():
            edited = Organization.objects.get(pk=organization.pk)
            edited.timezone = "Asia/Kolkata"
            organization_save(actor=None, organization=edited)

    def give() -> None:
        with transaction.atomic():
            recognition_create(actor=giver, given_for=receiver.pk, core_value_id=value.pk, text="Thanks")
            inserted.set()
            assert go.wait(10)  # committed only once the timezone's update goes on

    pre_save.connect(pause_before_the_update, sender=Organization)
    changing, giving = _Side(change_timezone), _Side(give)
    try:
        changing.start()
        assert locked.wait(10)
        giving.start()
        # the insert goes through (or waits for the organisation's row: the deadlock to come) ...
        giving.waits_or_ends(reached=inserted)
        go.set()  # ... then the timezone's update and rebuild, the insert's transaction still open
        changing_errors, giving_errors = changing.finish(), giving.finish()
    finally:
        go.set()
        pre_save.disconnect(pause_before_the_update, sender=Organization)
    assert changing_errors == giving_errors == []
    organization.refresh_from_db()
    assert organization.timezone == "Asia/Kolkata"
    assert Recognition.objects.filter(given_by=giver).count() == 1
    assert actual_rollups(organization) == expected_rollups(organization)


@pytest.mark.django_db(transaction=True)
def test_a_hi5_written_while_its_recognition_is_hidden_is_not_counted():
    """Whoever writes the Hi5 (here the ORM, without the service's lock): its trigger waits for the hide
    in flight and then sees the recognition hidden; read from its own snapshot, it would count the Hi5 of
    a recognition whose hide subtracted every Hi5 it could see."""
    recognition = RecognitionFactory()
    organization = recognition.organization
    colleague = UserFactory(organization=organization)
    hi5ing = _Side(lambda: Hi5.objects.create(recognition=recognition, given_by=colleague))
    with transaction.atomic():
        Recognition.objects.filter(pk=recognition.pk).update(is_hidden=True)
        hi5ing.start()
        waited = hi5ing.waits_or_ends()
    assert hi5ing.finish() == []
    assert waited
    assert Hi5.objects.filter(recognition=recognition).count() == 1
    assert actual_rollups(organization) == expected_rollups(organization)


@pytest.mark.django_db(transaction=True)
def test_two_deletes_of_older_recognitions_do_not_deadlock_on_the_history_version():
    """Django deletes a recognition's Hi5s, then the recognition: two statements of one transaction. Each
    changes closed days, so each moves the organisation's history version (insights/0005), whose row is then
    held to the commit. It is taken before any rollup row: the second deleter waits there holding none, so
    the first one's second statement can take the day row both need."""
    organization = OrganizationFactory()
    value = CoreValueFactory(organization=organization)
    people = UserFactory.create_batch(6, organization=organization)
    ten_days_ago = timezone.now() - timedelta(days=10)
    first = RecognitionFactory(
        organization=organization, core_value=value, given_by=people[0], given_for=people[1], given_at=ten_days_ago
    )
    second = RecognitionFactory(
        organization=organization,
        core_value=value,
        given_by=people[2],
        given_for=people[3],
        given_at=ten_days_ago - timedelta(days=10),
    )
    Hi5Factory(recognition=first, given_by=people[4], given_at=ten_days_ago + timedelta(days=5))
    Hi5Factory(recognition=second, given_by=people[5], given_at=ten_days_ago)  # the first one's day and value
    hi5s_gone, go = threading.Event(), threading.Event()

    def delete_the_first() -> None:
        with transaction.atomic():
            Hi5.objects.filter(recognition=first).delete()
            hi5s_gone.set()
            assert go.wait(10)
            Recognition.objects.filter(pk=first.pk).delete()

    def delete_the_seconds_hi5s() -> None:
        with transaction.atomic():
            Hi5.objects.filter(recognition=second).delete()

    deleting, other = _Side(delete_the_first), _Side(delete_the_seconds_hi5s)
    try:
        deleting.start()
        assert hi5s_gone.wait(10)
        other.start()
        assert other.waits_or_ends()  # for the history version
        go.set()
        deleting_errors, other_errors = deleting.finish(), other.finish()
    finally:
        go.set()
    assert deleting_errors == other_errors == []
    assert not Recognition.objects.filter(pk=first.pk).exists()
    assert not Hi5.objects.filter(recognition=second).exists()
    assert actual_rollups(organization) == expected_rollups(organization)
