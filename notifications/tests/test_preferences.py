"""Email switches (GET/PUT /users/me/notifications), the one-click unsubscribe of RFC 8058, and the
grouped Hi5 email (#11). Emails land in Django's test outbox; the jobs are called in process."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob

from accounts.tests.factories import UserFactory
from corevalues.tests.factories import CoreValueFactory
from notifications import services
from notifications.models import Hi5Note, NotificationPreferences
from recognitions.models import Hi5
from recognitions.services import hi5_give, recognition_create
from recognitions.tests.factories import RecognitionFactory

pytestmark = pytest.mark.django_db
SWITCHES = {
    "email_recognition_received": True,
    "email_hi5_received": True,
    "email_recognition_hidden": True,
    "email_weekly_digest": True,
}


def recognise(organization, receiver, text="Thanks!"):
    giver = UserFactory(organization=organization)
    value = CoreValueFactory(organization=organization)
    recognition = recognition_create(actor=giver, given_for=receiver.pk, core_value_id=value.pk, text=text)
    job = ProcrastinateJob.objects.filter(task_name="notifications.event_deliver").latest("id")
    return recognition, job.args["event"]


def fanned_out(hi5s) -> list[int]:
    """Fan out these Hi5s' events (as a worker would, from their jobs' arguments): what each scheduled."""
    events = {
        job.args["event"]["hi5_id"]: job
        for job in ProcrastinateJob.objects.filter(task_name="notifications.event_deliver")
    }
    return [services.event_fan_out(event=events[hi5.pk].args["event"]) for hi5 in hi5s]


def hi5_event(hi5) -> dict:
    """The event of a Hi5 written without the service (no job of its own)."""
    return {
        "id": f"event-of-{hi5.pk}",
        "type": "hi5.created",
        "created_at": hi5.given_at.isoformat(),
        "organization_id": hi5.recognition.organization_id,
        "recognition_id": hi5.recognition_id,
        "hi5_id": hi5.pk,
    }


def deliver(member) -> int:
    return services.hi5_email_deliver(recipient_id=member.pk)


def untaken(member) -> list[int]:
    return list(Hi5Note.objects.filter(recipient=member, taken_at__isnull=True).values_list("hi5_id", flat=True))


def test_every_email_is_on_until_the_member_turns_one_off(as_user, employee):
    client = as_user(employee)
    assert client.get("/users/me/notifications").json()["data"] == SWITCHES
    answer = client.put("/users/me/notifications", {"email_hi5_received": False}, format="json")
    assert answer.status_code == 200
    assert answer.json()["data"] == {**SWITCHES, "email_hi5_received": False}
    assert client.get("/users/me/notifications/").json()["data"]["email_hi5_received"] is False
    assert client.put("/users/me/notifications", {}, format="json").json()["data"]["email_hi5_received"] is False


@pytest.mark.parametrize("body", [{"email_hi5_received": "no"}, {"email_hi5_received": 0}, [True], None])
def test_switches_are_booleans(as_user, employee, body):
    answer = as_user(employee).put("/users/me/notifications", body, format="json")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_data"
    assert not NotificationPreferences.objects.filter(user=employee).exists()


def test_a_switched_off_email_is_not_sent(organization, employee):
    services.preferences_update(user=employee, email_recognition_received=False)
    _, event = recognise(organization, employee)
    assert services.email_deliver(kind="recognition_received", event=event, recipient_id=employee.pk) is False
    assert mail.outbox == []


def unsubscribe_url(message) -> str:
    return re.fullmatch(r"<(.+)>", message.extra_headers["List-Unsubscribe"]).group(1)


def test_each_email_carries_a_one_click_unsubscribe(organization, employee, settings):
    settings.PEERLY_PUBLIC_URL = "https://peerly.example.com"
    _, event = recognise(organization, employee)
    services.email_deliver(kind="recognition_received", event=event, recipient_id=employee.pk)
    [message] = mail.outbox
    url = unsubscribe_url(message)
    assert url.startswith("https://peerly.example.com/notifications/unsubscribe?token=")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert url in message.body
    assert url.replace("&", "&amp;") in message.alternatives[0][0] or url in message.alternatives[0][0]

    client = Client()
    path = urlsplit(url).path + "?" + urlsplit(url).query
    page = client.get(path)  # a link scanner, or the member opening it: nothing changes yet
    assert page.status_code == 200
    assert "Stop the &quot;you were recognised&quot; emails" in page.content.decode()
    assert services.preferences_of(employee).email_recognition_received is True

    # The mail client's one-click button (RFC 8058): a POST without cookies or CSRF token.
    one_click = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200
    assert "will no longer get" in one_click.content.decode()
    preferences = services.preferences_of(employee)
    assert preferences.email_recognition_received is False
    assert preferences.email_hi5_received is True  # only the email the link is about
    assert client.post(path).status_code == 200  # again: no harm


@pytest.mark.parametrize("tamper", ["", "garbage", "flip"])
def test_a_tampered_unsubscribe_link_changes_nothing(organization, employee, tamper):
    _, event = recognise(organization, employee)
    services.email_deliver(kind="recognition_received", event=event, recipient_id=employee.pk)
    token = parse_qs(urlsplit(unsubscribe_url(mail.outbox[0])).query)["token"][0]
    bad = {"": "", "garbage": "not-a-token", "flip": token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]}[
        tamper
    ]
    answer = Client().post(f"/notifications/unsubscribe?token={bad}")
    assert answer.status_code == 400
    assert "This link is not valid" in answer.content.decode()
    assert services.preferences_of(employee).email_recognition_received is True


def test_hi5s_are_grouped_into_one_email_per_ten_minutes(organization, employee):
    recognition = RecognitionFactory(organization=organization, given_for=employee)
    givers = UserFactory.create_batch(3, organization=organization)
    hi5s = [hi5_give(actor=giver, recognition=recognition, comment=f"Go {giver.first_name}") for giver in givers]
    with time_machine.travel(datetime(2026, 12, 4, 12, 0, tzinfo=UTC), tick=False):
        scheduled = fanned_out(hi5s)

    assert scheduled == [1, 0, 0]  # the first schedules the email; the next two join it
    [job] = ProcrastinateJob.objects.filter(task_name="notifications.hi5_email_send")
    assert job.args == {"recipient_id": employee.pk, "organization_id": organization.pk, "attempt": 0}
    assert job.scheduled_at == datetime(2026, 12, 4, 12, 10, tzinfo=UTC)

    assert deliver(employee) == 3
    [message] = mail.outbox
    assert message.to == [employee.email]
    assert message.subject == "3 Hi5s for your recognitions"
    for giver in givers:
        assert f"Go {giver.first_name}" in message.body
    # Told once: the next email lists only what came after.
    assert deliver(employee) == 0
    later = hi5_give(actor=UserFactory(organization=organization), recognition=recognition)
    fanned_out([later])
    assert deliver(employee) == 1
    assert "gave your recognition a Hi5" in mail.outbox[1].subject


def test_a_hi5_that_commits_after_a_later_one_was_emailed_is_emailed_too(organization, employee):
    """Ids are taken at insert, commits come in any order: the Hi5 with the smaller id can commit (and be
    fanned out) after an email listed the larger one."""
    recognition = RecognitionFactory(organization=organization, given_for=employee)
    earlier, later = (
        hi5_give(actor=UserFactory(organization=organization), recognition=recognition, comment=comment)
        for comment in ("Committed last", "Committed first")
    )
    assert earlier.pk < later.pk
    assert fanned_out([later]) == [1]
    assert deliver(employee) == 1
    assert fanned_out([earlier]) == [0]  # the email job still waits (a worker runs it): this one joins it
    assert deliver(employee) == 1
    assert ["Committed first" in message.body for message in mail.outbox] == [True, False]
    assert ["Committed last" in message.body for message in mail.outbox] == [False, True]


def test_a_retried_fan_out_notes_a_hi5_once_and_a_deleted_one_not_at_all(organization, employee):
    recognition = RecognitionFactory(organization=organization, given_for=employee)
    hi5 = hi5_give(actor=UserFactory(organization=organization), recognition=recognition)
    gone = Hi5.objects.create(recognition=recognition, given_by=UserFactory(organization=organization))
    gone_event = hi5_event(gone)
    gone.delete()
    assert services.event_fan_out(event=hi5_event(hi5)) == 1
    assert services.event_fan_out(event=hi5_event(hi5)) == 0  # the event delivered again
    assert services.event_fan_out(event=gone_event) == 0
    assert list(Hi5Note.objects.values_list("hi5_id", "recipient_id")) == [(hi5.pk, employee.pk)]
    assert ProcrastinateJob.objects.filter(task_name="notifications.hi5_email_send").count() == 1


def test_hi5s_on_a_hidden_recognition_or_switched_off_are_not_emailed(organization, employee):
    hidden = RecognitionFactory(organization=organization, given_for=employee)
    visible = RecognitionFactory(organization=organization, given_for=employee)
    on_hidden = hi5_give(actor=UserFactory(organization=organization), recognition=hidden)
    fanned_out([on_hidden])
    hidden.is_hidden = True
    hidden.save(update_fields=["is_hidden"])
    assert deliver(employee) == 0
    services.preferences_update(user=employee, email_hi5_received=False)
    fanned_out([hi5_give(actor=UserFactory(organization=organization), recognition=visible)])
    assert deliver(employee) == 0
    assert mail.outbox == []
    # Turned on again later: the Hi5s of the switched-off time are not bundled into the next email.
    services.preferences_update(user=employee, email_hi5_received=True)
    assert deliver(employee) == 0
    assert untaken(employee) == []


def test_a_fan_out_run_again_after_the_email_notes_nothing_twice(organization, employee):
    recognition = RecognitionFactory(organization=organization, given_for=employee)
    hi5 = hi5_give(actor=UserFactory(organization=organization), recognition=recognition)
    assert fanned_out([hi5]) == [1]
    assert deliver(employee) == 1
    assert fanned_out([hi5]) == [0]  # e.g. its worker died after committing, and it was started again
    assert deliver(employee) == 0
    assert len(mail.outbox) == 1


def test_a_hi5_fanned_out_while_the_email_is_being_sent_schedules_the_next_one(organization, employee):
    recognition = RecognitionFactory(organization=organization, given_for=employee)
    first, second = (hi5_give(actor=UserFactory(organization=organization), recognition=recognition) for _ in "ab")
    assert fanned_out([first]) == [1]
    with connection.cursor() as cursor:  # a worker took the email: it no longer holds the queueing lock
        cursor.execute("UPDATE procrastinate_jobs SET status = 'doing' WHERE task_name = %s", [services.HI5_EMAIL_TASK])
    assert fanned_out([second]) == [1]
    assert ProcrastinateJob.objects.filter(task_name=services.HI5_EMAIL_TASK, status="todo").count() == 1


def test_taken_notes_are_kept_a_week(organization, employee):
    recognition = RecognitionFactory(organization=organization, given_for=employee)
    old, recent, waiting = (
        hi5_give(actor=UserFactory(organization=organization), recognition=recognition) for _ in "abc"
    )
    fanned_out([old, recent, waiting])
    now = timezone.now()
    Hi5Note.objects.filter(hi5=old).update(taken_at=now - timedelta(days=services.HI5_NOTE_DAYS, minutes=1))
    Hi5Note.objects.filter(hi5=recent).update(taken_at=now - timedelta(days=services.HI5_NOTE_DAYS - 1))
    assert services.hi5_notes_purge() == 1
    assert set(Hi5Note.objects.values_list("hi5_id", flat=True)) == {recent.pk, waiting.pk}
    assert app.tasks["notifications.purge_hi5_notes"].queue == "periodic"


def test_a_member_who_moved_gets_the_hi5s_of_their_organisation_now(organization, other_organization, employee):
    employee.organization = other_organization
    employee.save(update_fields=["organization"])
    recognition = RecognitionFactory(organization=other_organization, given_for=employee)
    fanned_out([hi5_give(actor=UserFactory(organization=other_organization), recognition=recognition)])
    assert deliver(employee) == 1


def test_a_deleted_members_noted_hi5s_are_dropped(organization, employee):
    recognition = RecognitionFactory(organization=organization, given_for=employee)
    fanned_out([hi5_give(actor=UserFactory(organization=organization), recognition=recognition)])
    employee.soft_delete_at = datetime(2026, 12, 4, tzinfo=UTC)
    employee.save(update_fields=["soft_delete_at"])
    assert deliver(employee) == 0
    assert mail.outbox == []
    assert untaken(employee) == []  # not sent later if they are restored


@pytest.mark.parametrize(
    ("url", "warned"),
    [("http://127.0.0.1:8000", True), ("http://peerly.example.com", True), ("https://peerly.example.com", False)],
)
def test_the_deploy_check_wants_the_public_https_address(settings, url, warned):
    from notifications.checks import public_url_check

    settings.PEERLY_PUBLIC_URL = url
    assert [warning.id for warning in public_url_check(None)] == (["notifications.W001"] if warned else [])


def test_a_members_first_hi5_email_does_not_list_their_past(organization, employee):
    recognition = RecognitionFactory(organization=organization, given_for=employee)
    Hi5.objects.create(recognition=recognition, given_by=UserFactory(organization=organization))  # long ago
    fanned_out([hi5_give(actor=UserFactory(organization=organization), recognition=recognition)])
    assert deliver(employee) == 1


def test_a_failed_hi5_email_schedules_its_next_try_itself(organization, employee, settings):
    from tests.live import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens: refused
    recognition = RecognitionFactory(organization=organization, given_for=employee)
    fanned_out([hi5_give(actor=UserFactory(organization=organization), recognition=recognition)])
    with connection.cursor() as cursor:  # the email the fan-out scheduled: this test runs it itself
        cursor.execute("DELETE FROM procrastinate_jobs WHERE task_name = %s", [services.HI5_EMAIL_TASK])
    args = {"recipient_id": employee.pk, "organization_id": organization.pk}

    assert services.hi5_email_job(**args, attempt=0) == 0  # no exception: the job itself succeeds
    [retry] = ProcrastinateJob.objects.filter(task_name="notifications.hi5_email_send")
    assert retry.args == {**args, "attempt": 1}
    assert retry.queueing_lock == f"hi5_email:{employee.pk}"
    # A try whose next one (or a newer Hi5's email) is already waiting leaves it at that.
    assert services.hi5_email_job(**args, attempt=1) == 0
    assert ProcrastinateJob.objects.filter(task_name="notifications.hi5_email_send").count() == 1
    with pytest.raises(ConnectionRefusedError):  # the last attempt fails the job (the admin lists it)
        services.hi5_email_job(**args, attempt=services.HI5_EMAIL_ATTEMPTS - 1)
    assert len(untaken(employee)) == 1  # nothing counted as told


@pytest.mark.django_db(transaction=True)
def test_the_hi5_emails_waiting_at_the_upgrade_keep_their_hi5s(organization, employee):
    """notifications/0005: an email scheduled before the notes lists what it would have listed."""
    from django.db.migrations.executor import MigrationExecutor

    from peerly.events import jobs

    before = [("notifications", "0004_webhooks")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        # given: waiting emails as the code before 0005 deferred them, each bounded differently
        recognition = RecognitionFactory(organization=organization, given_for=employee)
        other, running = UserFactory.create_batch(2, organization=organization)
        told, between, scheduler, joined = (
            Hi5.objects.create(recognition=recognition, given_by=UserFactory(organization=organization)) for _ in "abcd"
        )
        others = RecognitionFactory(organization=organization, given_for=other)
        others_told, others_new = (
            Hi5.objects.create(recognition=others, given_by=UserFactory(organization=organization)) for _ in "ab"
        )
        Hi5.objects.create(recognition=RecognitionFactory(organization=organization, given_for=running), given_by=other)
        preferences = executor.loader.project_state(before).apps.get_model("notifications", "NotificationPreferences")
        preferences.objects.create(user_id=employee.pk, hi5_emailed_through=told.pk)  # from_hi5_id bounds it
        preferences.objects.create(user_id=other.pk, hi5_emailed_through=others_told.pk)  # this bounds it
        for member, first in ((employee, scheduler.pk), (other, 0), (running, 0)):
            jobs(services.HI5_EMAIL_TASK, queueing_lock=f"hi5_email:{member.pk}", schedule_in={"minutes": 10}).defer(
                recipient_id=member.pk, organization_id=organization.pk, from_hi5_id=first, attempt=0
            )
        with connection.cursor() as cursor:  # an email running while migrating: its Hi5s are its own
            cursor.execute(
                "UPDATE procrastinate_jobs SET status = 'doing' WHERE args ->> 'recipient_id' = %s", [str(running.pk)]
            )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    # then each waiting email's Hi5s are noted, as it would have listed them
    assert set(Hi5Note.objects.values_list("hi5_id", "recipient_id")) == {
        (scheduler.pk, employee.pk),
        (joined.pk, employee.pk),
        (others_new.pk, other.pk),
    }
    assert between.pk < scheduler.pk
    from notifications.tasks import hi5_email_send

    job = ProcrastinateJob.objects.get(task_name=services.HI5_EMAIL_TASK, args__recipient_id=employee.pk)
    hi5_email_send(**job.args)  # the old job's arguments, run by the new task
    [message] = mail.outbox
    assert message.subject == "2 Hi5s for your recognitions"
    NotificationPreferences.objects.create(user=running)  # the column left in the table has a default
