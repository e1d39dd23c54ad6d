"""Email switches (GET/PUT /users/me/notifications), the one-click unsubscribe of RFC 8058, and the
grouped Hi5 email (#11). Emails land in Django's test outbox; the jobs are called in process."""

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.core import mail
from django.test import Client
from procrastinate.contrib.django.models import ProcrastinateJob

from accounts.tests.factories import UserFactory
from corevalues.tests.factories import CoreValueFactory
from notifications import services
from notifications.models import NotificationPreferences
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
    for giver in givers:
        hi5_give(actor=giver, recognition=recognition, comment=f"Go {giver.first_name}")
    events = [job.args["event"] for job in ProcrastinateJob.objects.filter(task_name="notifications.event_deliver")]
    with time_machine.travel(datetime(2026, 12, 4, 12, 0, tzinfo=UTC), tick=False):
        scheduled = [services.event_fan_out(event=event) for event in events]

    assert scheduled == [1, 0, 0]  # the first schedules the email; the next two join it
    [job] = ProcrastinateJob.objects.filter(task_name="notifications.hi5_email_send")
    first_hi5 = Hi5.objects.filter(recognition=recognition).order_by("pk").first()
    assert job.args == {
        "recipient_id": employee.pk,
        "organization_id": organization.pk,
        "from_hi5_id": first_hi5.pk,
        "attempt": 0,
    }
    assert job.scheduled_at == datetime(2026, 12, 4, 12, 10, tzinfo=UTC)

    assert services.hi5_email_deliver(recipient_id=employee.pk, organization_id=organization.pk) == 3
    [message] = mail.outbox
    assert message.to == [employee.email]
    assert message.subject == "3 Hi5s for your recognitions"
    for giver in givers:
        assert f"Go {giver.first_name}" in message.body
    # Told once: the next email lists only what came after.
    assert services.hi5_email_deliver(recipient_id=employee.pk, organization_id=organization.pk) == 0
    hi5_give(actor=UserFactory(organization=organization), recognition=recognition)
    assert services.hi5_email_deliver(recipient_id=employee.pk, organization_id=organization.pk) == 1
    assert "gave your recognition a Hi5" in mail.outbox[1].subject


def test_hi5s_on_a_hidden_recognition_or_switched_off_are_not_emailed(organization, employee):
    hidden = RecognitionFactory(organization=organization, given_for=employee, hidden=True)
    visible = RecognitionFactory(organization=organization, given_for=employee)
    Hi5.objects.create(recognition=hidden, given_by=UserFactory(organization=organization))
    assert services.hi5_email_deliver(recipient_id=employee.pk, organization_id=organization.pk) == 0
    services.preferences_update(user=employee, email_hi5_received=False)
    hi5_give(actor=UserFactory(organization=organization), recognition=visible)
    assert services.hi5_email_deliver(recipient_id=employee.pk, organization_id=organization.pk) == 0
    assert mail.outbox == []
    # Turned on again later: the Hi5s of the switched-off time are not bundled into the next email.
    services.preferences_update(user=employee, email_hi5_received=True)
    assert services.hi5_email_deliver(recipient_id=employee.pk, organization_id=organization.pk) == 0


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
    newest = hi5_give(actor=UserFactory(organization=organization), recognition=recognition)
    listed = services.hi5_email_deliver(
        recipient_id=employee.pk, organization_id=organization.pk, from_hi5_id=newest.pk
    )
    assert listed == 1


def test_a_failed_hi5_email_schedules_its_next_try_itself(organization, employee, settings):
    from tests.live import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens: refused
    recognition = RecognitionFactory(organization=organization, given_for=employee)
    hi5 = hi5_give(actor=UserFactory(organization=organization), recognition=recognition)
    args = {"recipient_id": employee.pk, "organization_id": organization.pk, "from_hi5_id": hi5.pk}

    assert services.hi5_email_job(**args, attempt=0) == 0  # no exception: the job itself succeeds
    [retry] = ProcrastinateJob.objects.filter(task_name="notifications.hi5_email_send")
    assert retry.args == {**args, "attempt": 1}
    assert retry.queueing_lock == f"hi5_email:{employee.pk}"
    # A try whose next one (or a newer Hi5's email) is already waiting leaves it at that.
    assert services.hi5_email_job(**args, attempt=1) == 0
    assert ProcrastinateJob.objects.filter(task_name="notifications.hi5_email_send").count() == 1
    with pytest.raises(ConnectionRefusedError):  # the last attempt fails the job (the admin lists it)
        services.hi5_email_job(**args, attempt=services.HI5_EMAIL_ATTEMPTS - 1)
    assert services.preferences_of(employee).hi5_emailed_through == 0  # nothing counted as told
