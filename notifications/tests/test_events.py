"""Events are deferred with the change that causes them, and fan out to the emails that still hold (#11).

In process: the jobs are read back from procrastinate's table; the emails land in Django's test outbox.
The worker as a real process, with a real SMTP server, is in test_worker.py.
"""

from datetime import UTC, datetime

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from procrastinate import sql
from procrastinate.contrib.django.models import ProcrastinateEvent, ProcrastinateJob
from procrastinate.jobs import Job

from accounts.tests.factories import UserFactory
from corevalues.tests.factories import CoreValueFactory
from moderation.services import review_create
from notifications import services
from notifications.tasks import RETRY
from peerly.events import DELIVER_TASK, TaskDefer, jobs, task_defer
from recognitions.services import hi5_give, recognition_create
from recognitions.tests.factories import RecognitionFactory

pytestmark = pytest.mark.django_db


def events() -> list[dict]:
    jobs = ProcrastinateJob.objects.filter(task_name="notifications.event_deliver").order_by("id")
    return [job.args["event"] for job in jobs]


def emails_deferred() -> list[tuple[str, int]]:
    jobs = ProcrastinateJob.objects.filter(task_name="notifications.email_send").order_by("id")
    return [(job.args["kind"], job.args["recipient_id"]) for job in jobs]


@pytest.fixture
def people(organization):
    giver, receiver = UserFactory(organization=organization), UserFactory(organization=organization)
    return giver, receiver


def test_a_recognition_announces_itself_once_with_ids_only(organization, people):
    giver, receiver = people
    value = CoreValueFactory(organization=organization)
    recognition = recognition_create(actor=giver, given_for=receiver.pk, core_value_id=value.pk, text="Great demo")
    [event] = events()
    assert event["type"] == "recognition.created"
    assert (event["organization_id"], event["recognition_id"]) == (organization.pk, recognition.pk)
    assert len(event["id"]) == 36 and event["created_at"]  # noqa: PT018 (a uuid4, an ISO 8601 time)
    assert "Great demo" not in str(event)  # the content is re-read when delivering


def test_a_rolled_back_change_announces_nothing(organization, people):
    giver, receiver = people
    value = CoreValueFactory(organization=organization)

    def failing_request() -> None:
        with transaction.atomic():
            recognition_create(actor=giver, given_for=receiver.pk, core_value_id=value.pk, text="t")
            raise RuntimeError("the request failed after the write")

    with pytest.raises(RuntimeError):
        failing_request()
    assert events() == []


def test_hi5s_and_reviews_announce_themselves(organization, people, moderator):
    giver, receiver = people
    recognition = RecognitionFactory(organization=organization, given_by=receiver)
    hi5 = hi5_give(actor=giver, recognition=recognition)
    review_create(actor=moderator, recognition=recognition, is_inappropriate=False)  # already visible: no event
    review_create(actor=moderator, recognition=recognition, is_inappropriate=True)
    review_create(actor=moderator, recognition=recognition, is_inappropriate=True)  # already hidden: no event
    review_create(actor=moderator, recognition=recognition, is_inappropriate=False)
    assert [(e["type"], e["recognition_id"], e.get("hi5_id")) for e in events()] == [
        ("hi5.created", recognition.pk, hi5.pk),
        ("recognition.hidden", recognition.pk, None),
        ("recognition.restored", recognition.pk, None),
    ]


def test_an_event_fans_out_to_one_job_per_email(organization, people, moderator):
    giver, receiver = people
    value = CoreValueFactory(organization=organization)
    recognition = recognition_create(actor=giver, given_for=receiver.pk, core_value_id=value.pk, text="t")
    review_create(actor=moderator, recognition=recognition, is_inappropriate=True)
    created, hidden = events()
    assert services.event_fan_out(event=created) == 1
    assert services.event_fan_out(event=hidden) == 1
    assert emails_deferred() == [("recognition_received", receiver.pk), ("recognition_hidden", giver.pk)]
    # An event of another organisation's id (a forged or stale job) reaches nobody.
    assert services.event_fan_out(event={**created, "organization_id": organization.pk + 1000}) == 0


def test_the_recognised_member_gets_an_email_in_text_and_html(organization, people):
    giver, receiver = people
    value = CoreValueFactory(organization=organization, text="Courage")
    recognition = recognition_create(
        actor=giver, given_for=receiver.pk, core_value_id=value.pk, text="Fixed prod at 3am & told us <why>"
    )
    [event] = events()
    assert services.email_deliver(kind="recognition_received", event=event, recipient_id=receiver.pk) is True
    [message] = mail.outbox
    assert message.to == [receiver.email]
    assert message.subject == f"{giver.display_name} recognised you for Courage"
    assert "Fixed prod at 3am & told us <why>" in message.body  # plain text is not HTML-escaped
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "Fixed prod at 3am &amp; told us &lt;why&gt;" in html  # HTML is
    assert message.extra_headers["Peerly-Event-Id"] == event["id"]
    assert recognition.pk == event["recognition_id"]


def test_a_recognition_hidden_before_its_email_is_not_announced(organization, people, moderator):
    giver, receiver = people
    value = CoreValueFactory(organization=organization)
    recognition = recognition_create(actor=giver, given_for=receiver.pk, core_value_id=value.pk, text="t")
    review_create(actor=moderator, recognition=recognition, is_inappropriate=True)
    created, hidden = events()
    assert services.email_deliver(kind="recognition_received", event=created, recipient_id=receiver.pk) is False
    assert services.email_deliver(kind="recognition_hidden", event=hidden, recipient_id=giver.pk) is True
    [message] = mail.outbox
    assert message.to == [giver.email]
    assert "was hidden" in message.subject
    # Shown again before the "hidden" email went out: that one is not sent either.
    review_create(actor=moderator, recognition=recognition, is_inappropriate=False)
    assert services.email_deliver(kind="recognition_hidden", event=hidden, recipient_id=giver.pk) is False


def test_a_member_deleted_since_gets_nothing(organization, people):
    from accounts.services import user_soft_delete

    giver, receiver = people
    value = CoreValueFactory(organization=organization)
    recognition_create(actor=giver, given_for=receiver.pk, core_value_id=value.pk, text="t")
    user_soft_delete(actor=UserFactory(organization=organization, org_admin=True), user=receiver)
    [event] = events()
    assert services.email_deliver(kind="recognition_received", event=event, recipient_id=receiver.pk) is False
    assert mail.outbox == []


def test_failed_deliveries_are_retried_six_times_over_more_than_an_hour():
    def decision(attempts: int):
        job = Job(id=1, queue="q", lock=None, queueing_lock=None, task_name="t", attempts=attempts)
        return RETRY.get_retry_decision(exception=OSError(), job=job)

    waits = []
    with time_machine.travel(datetime(2026, 12, 1, tzinfo=UTC), tick=False):
        while (retry := decision(len(waits))) is not None:
            waits.append((retry.retry_at - datetime.now(UTC)).total_seconds())
    assert len(waits) == 6
    assert waits == sorted(waits)
    assert waits[0] <= 10  # backoff: starting fast, growing
    assert sum(waits) >= 3600


def test_events_are_on_and_only_the_benchmarks_baseline_turns_them_off(organization, people, settings):
    giver, receiver = people
    value = CoreValueFactory(organization=organization)
    assert settings.PEERLY_EVENTS_ENABLED is True
    settings.PEERLY_EVENTS_ENABLED = False  # as bench/settings_quiet.py has it
    recognition_create(actor=giver, given_for=receiver.pk, core_value_id=value.pk, text="Unannounced")
    assert events() == []
    settings.PEERLY_EVENTS_ENABLED = True
    recognition_create(actor=giver, given_for=receiver.pk, core_value_id=value.pk, text="Announced")
    assert len(events()) == 1


def test_an_events_job_is_the_job_procrastinates_own_deferrer_writes():
    # given the same arguments, deferred by procrastinate's deferrer and by the one statement events use
    event = {"id": "e1", "type": "recognition.created", "organization_id": 1, "recognition_id": 2}
    theirs = jobs(DELIVER_TASK).defer(event=event)
    ours = task_defer(DELIVER_TASK).defer(event=event)
    # then workers and the admin see the same job, deferred event included
    columns = [f.name for f in ProcrastinateJob._meta.fields if f.name != "id"]
    rows = {
        row[0]: row[1:] for row in ProcrastinateJob.objects.filter(pk__in=[theirs, ours]).values_list("id", *columns)
    }
    assert rows[ours] == rows[theirs]
    assert dict(zip(columns, rows[ours], strict=True))["status"] == "todo"
    deferred = ProcrastinateEvent.objects.filter(job_id__in=[theirs, ours], type="deferred")
    assert sorted(deferred.values_list("job_id", flat=True)) == [theirs, ours]


def test_events_defer_through_procrastinates_current_function():
    # An upgrade of procrastinate that defers through another function fails here: TaskDefer.SQL follows.
    assert "procrastinate_defer_jobs_v1(" in sql.queries["defer_jobs"]
    assert "procrastinate_defer_jobs_v1(" in TaskDefer.SQL


def test_tasks_with_a_queueing_lock_keep_procrastinates_deferrer():
    with pytest.raises(ValueError, match="queueing lock"):
        TaskDefer("notifications.weekly_digests")
