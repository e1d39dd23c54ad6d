"""Outgoing webhooks (#11): organisation admins subscribe endpoints (API and admin), each event is
POSTed signed to a local HTTP server standing in for the receiver, every attempt is logged, failures
are retried, and an endpoint failing for 3 days is switched off. Public addresses come from a stub
resolver: no test resolves a real name or sends a request beyond loopback. The worker as a real
process (retries, a worker killed mid-delivery, two workers sharing 200 events) is in test_worker.py."""

import hashlib
import hmac
import io
import json
import re
import socket
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob

from accounts.tests.factories import UserFactory
from audit.models import AuditEvent
from conftest import client_for
from corevalues.tests.factories import CoreValueFactory
from moderation.services import review_create
from notifications import outbound, services, webhooks
from notifications.models import WebhookDelivery, WebhookEndpoint
from notifications.tasks import RETRY
from recognitions.services import hi5_give, recognition_create
from tests.live import HttpSink

pytestmark = pytest.mark.django_db

ROOT = Path(django_settings.BASE_DIR)
ALL_EVENTS = ["recognition.created", "hi5.created", "recognition.hidden", "recognition.restored"]


def readme_receiver():
    """The README's receiver function, `peerly_event(secret, signature, body)`, as the README prints it."""
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"<!-- webhook-receiver:.*?-->\n```python\n(.*?)```", readme, re.S).group(1)
    namespace: dict = {}
    exec(code, namespace)
    return namespace["peerly_event"]


@pytest.fixture
def receiver(settings):
    settings.PEERLY_OUTBOUND_ALLOW_LOOPBACK_HTTP = True
    server = HttpSink().start()
    yield server
    server.stop()


@pytest.fixture
def people(organization):
    giver = UserFactory(organization=organization, first_name="Grace")
    receiver = UserFactory(organization=organization, first_name="Rita")
    return giver, receiver, CoreValueFactory(organization=organization, text="Courage")


def endpoint_for(organization, url: str, events=None) -> tuple[WebhookEndpoint, str]:
    return webhooks.webhook_create(actor=None, organization=organization, url=url, events=events or ALL_EVENTS)


def deliveries_deferred() -> list[dict]:
    jobs = ProcrastinateJob.objects.filter(task_name="notifications.webhook_send").order_by("id")
    return [job.args for job in jobs]


def fan_out_last_event() -> dict:
    """What a worker does with the newest event: fan it out (the deliveries become jobs)."""
    job = ProcrastinateJob.objects.filter(task_name="notifications.event_deliver").latest("id")
    services.event_fan_out(event=job.args["event"])
    return job.args["event"]


# --- the API ------------------------------------------------------------------------


def test_an_org_admin_subscribes_an_endpoint_and_sees_its_secret_once(dns, org_admin, organization):
    client = client_for(org_admin)
    response = client.post(
        "/webhooks",
        {"url": "https://hooks.example/peerly", "events": ["recognition.created"], "description": "HRIS"},
        format="json",
    )

    assert response.status_code == 201, response.content
    created = response.json()["data"]
    assert created["secret"].startswith("whsec_") and len(created["secret"]) == 54  # noqa: PT018
    assert (created["url"], created["events"], created["description"]) == (
        "https://hooks.example/peerly",
        ["recognition.created"],
        "HRIS",
    )
    assert (created["org_id"], created["created_by"], created["enabled"]) == (organization.pk, org_admin.pk, True)

    listed = client.get("/webhooks").json()
    one = client.get(f"/webhooks/{created['id']}").json()["data"]
    assert listed["meta"]["total"] == 1
    assert listed["data"] == [one]
    assert "secret" not in one
    assert created["secret"] not in json.dumps(listed) + json.dumps(one)
    event = AuditEvent.objects.get(action="webhook.created")
    assert event.after["url"] == "https://hooks.example/peerly"
    assert created["secret"] not in json.dumps([event.before, event.after])


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"url": "http://hooks.example/x", "events": ["hi5.created"]}, "url", "https"),
        ({"url": "https://internal.example/x", "events": ["hi5.created"]}, "url", "private or reserved"),
        ({"url": "https://metadata.example/x", "events": ["hi5.created"]}, "url", "private or reserved"),
        ({"url": "https://nowhere.example/x", "events": ["hi5.created"]}, "url", "does not resolve"),
        ({"url": "https://127%2e0%2e0%2e1/x", "events": ["hi5.created"]}, "url", "plain name"),  # urllib decodes %
        ({"url": "https://hooks%2eexample/x", "events": ["hi5.created"]}, "url", "plain name"),
        ({"url": "https://[::1]/x", "events": ["hi5.created"]}, "url", "private or reserved"),
        ({"url": "https://[fd00::7]:8443/x", "events": ["hi5.created"]}, "url", "private or reserved"),
        ({"url": "https://hooks.example:0/x", "events": ["hi5.created"]}, "url", "Not a valid URL"),
        ({"url": "not a url", "events": ["hi5.created"]}, "url", "https"),
        ({"url": "https://hooks.example/x", "events": ["user.deleted"]}, "events", "valid choice"),
        ({"url": "https://hooks.example/x", "events": []}, "events", ""),
        ({"url": "https://hooks.example/x", "events": "hi5.created"}, "events", ""),
        ({"events": ["hi5.created"]}, "url", "required"),
        ({"url": "https://hooks.example/x", "events": ["hi5.created"], "description": "x" * 201}, "description", ""),
    ],
)
def test_bad_endpoints_are_refused_naming_the_field(dns, org_admin, body, field, message):
    dns["internal.example"] = ["10.0.0.7"]
    dns["metadata.example"] = ["169.254.169.254"]
    response = client_for(org_admin).post("/webhooks", body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_data"
    [(name, detail)] = error["fields"].items()
    assert name.split(".")[0] == field  # `events.0`: the first item of `events`
    assert message in json.dumps(detail)
    assert not WebhookEndpoint.objects.exists()


def test_only_organisation_admins_manage_webhooks(dns, employee, moderator, organization):
    endpoint, _ = endpoint_for(organization, "https://hooks.example/x")
    for member in (employee, moderator):
        client = client_for(member)
        assert client.get("/webhooks").status_code == 403
        assert client.get(f"/webhooks/{endpoint.pk}/deliveries").status_code == 403
        response = client.post("/webhooks", {"url": "https://hooks.example/y", "events": ALL_EVENTS}, format="json")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "access_denied"
        assert client.delete(f"/webhooks/{endpoint.pk}").status_code == 403
    assert WebhookEndpoint.objects.count() == 1


def test_a_super_admin_adds_one_for_any_organisation_and_no_one_else_may(
    dns, super_admin, org_admin, other_organization
):
    body = {"url": "https://hooks.example/x", "events": ALL_EVENTS, "org_id": other_organization.pk}
    created = client_for(super_admin).post("/webhooks", body, format="json")
    assert created.status_code == 201
    assert created.json()["data"]["org_id"] == other_organization.pk
    refused = client_for(org_admin).post("/webhooks", body, format="json")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "access_denied")


def test_deleting_an_endpoint_removes_it_and_its_log_and_is_audited(dns, org_admin, organization):
    endpoint, _ = endpoint_for(organization, "https://hooks.example/x")
    client = client_for(org_admin)
    response = client.delete(f"/webhooks/{endpoint.pk}")
    assert response.status_code == 200
    assert response.json()["data"]["id"] == endpoint.pk
    assert not WebhookEndpoint.objects.exists()
    assert AuditEvent.objects.get(action="webhook.deleted").before["url"] == "https://hooks.example/x"
    assert client.delete(f"/webhooks/{endpoint.pk}").status_code == 404


def test_an_organisation_has_at_most_20_endpoints(dns, org_admin, organization):
    for n in range(webhooks.MAX_ENDPOINTS_PER_ORGANIZATION):
        endpoint_for(organization, f"https://hooks.example/{n}")
    response = client_for(org_admin).post(
        "/webhooks", {"url": "https://hooks.example/one-more", "events": ALL_EVENTS}, format="json"
    )
    assert response.status_code == 400
    assert "at most 20" in response.json()["error"]["fields"]["url"]


# --- deliveries ----------------------------------------------------------------------


def test_each_event_reaches_the_endpoints_subscribed_to_it(dns, organization, other_organization, people, moderator):
    giver, receiver, value = people
    everything, _ = endpoint_for(organization, "https://hooks.example/all")
    hidden_only, _ = endpoint_for(organization, "https://hooks.example/hidden", ["recognition.hidden"])
    switched_off, _ = endpoint_for(organization, "https://hooks.example/off")
    webhooks.webhook_update(actor=None, endpoint=switched_off, events=ALL_EVENTS, description="", enabled=False)
    endpoint_for(other_organization, "https://hooks.example/theirs")

    recognition = recognition_create(actor=giver, given_for=receiver.pk, core_value_id=value.pk, text="Well done")
    created = fan_out_last_event()
    hi5_give(actor=UserFactory(organization=organization), recognition=recognition)
    fan_out_last_event()
    review_create(actor=moderator, recognition=recognition, is_inappropriate=True)
    fan_out_last_event()

    sent = [(args["endpoint_id"], args["event"]["type"]) for args in deliveries_deferred()]
    assert sent == [
        (everything.pk, "recognition.created"),
        (everything.pk, "hi5.created"),
        (everything.pk, "recognition.hidden"),
        (hidden_only.pk, "recognition.hidden"),
    ]
    assert deliveries_deferred()[0]["event"] == created


def test_a_delivery_is_signed_and_carries_the_event_as_the_api_shows_it(receiver, organization, people):
    giver, rita, value = people
    _, secret = endpoint_for(organization, f"{receiver.url}/peerly")
    recognition = recognition_create(actor=giver, given_for=rita.pk, core_value_id=value.pk, text="Saved the launch")
    event = fan_out_last_event()
    [job] = deliveries_deferred()

    delivery = webhooks.webhook_deliver(endpoint_id=job["endpoint_id"], event=job["event"], attempt=1)

    [request] = receiver.requests
    assert (request["method"], request["path"]) == ("POST", "/peerly")
    headers = request["headers"]
    assert headers["Content-Type"] == "application/json"
    assert headers["Peerly-Event-Id"] == event["id"]
    assert headers["Peerly-Event-Type"] == "recognition.created"
    # The signature, computed here by hand, and by the README's receiver function
    timestamp, signature = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", headers["Peerly-Signature"]).groups()
    assert abs(int(timestamp) - time.time()) < 60
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + request["body"], hashlib.sha256).hexdigest()
    assert signature == expected
    payload = readme_receiver()(secret, headers["Peerly-Signature"], request["body"])
    assert (payload["id"], payload["type"], payload["created_at"]) == (event["id"], event["type"], event["created_at"])
    as_the_api_shows_it = client_for(giver).get(f"/recognitions/{recognition.pk}").json()["data"]
    assert payload["data"] == {"recognition": as_the_api_shows_it}

    assert (delivery.attempt, delivery.succeeded, delivery.status_code, delivery.error) == (1, True, 200, "")
    assert delivery.event_id == event["id"]


def test_the_readme_receiver_refuses_what_peerly_did_not_sign():
    peerly_event = readme_receiver()
    body = b'{"id": "e1"}'
    now = int(time.time())
    good = webhooks.signature_header(secret="whsec_x", timestamp=now, body=body)
    assert peerly_event("whsec_x", good, body) == {"id": "e1"}
    with pytest.raises(ValueError, match="Not signed"):
        peerly_event("whsec_x", good, b'{"id": "e2"}')  # tampered with
    with pytest.raises(ValueError, match="Not signed"):
        peerly_event("whsec_other", good, body)
    with pytest.raises(ValueError, match="Not signed"):
        peerly_event("whsec_x", "v1=" + good.split("v1=")[1], body)  # no timestamp
    old = webhooks.signature_header(secret="whsec_x", timestamp=now - 3600, body=body)
    with pytest.raises(ValueError, match="replay"):
        peerly_event("whsec_x", old, body)


def test_a_hi5_delivery_carries_the_hi5_and_its_recognition(receiver, organization, people):
    giver, rita, value = people
    endpoint_for(organization, f"{receiver.url}/peerly", ["hi5.created"])
    recognition = recognition_create(actor=giver, given_for=rita.pk, core_value_id=value.pk, text="t")
    fan_out_last_event()
    carol = UserFactory(organization=organization, first_name="Carol")
    hi5 = hi5_give(actor=carol, recognition=recognition, comment="Seconded")
    fan_out_last_event()
    [job] = deliveries_deferred()

    webhooks.webhook_deliver(endpoint_id=job["endpoint_id"], event=job["event"], attempt=1)

    payload = json.loads(receiver.requests[0]["body"])
    assert payload["type"] == "hi5.created"
    assert payload["data"]["hi5"]["id"] == hi5.pk
    assert payload["data"]["hi5"]["given_by"]["first_name"] == "Carol"
    assert payload["data"]["hi5"]["comment"] == "Seconded"
    assert payload["data"]["recognition"]["hi5_count"] == 1


def test_a_recognition_hidden_before_its_delivery_is_not_announced(receiver, organization, people, moderator):
    giver, rita, value = people
    endpoint, _ = endpoint_for(organization, f"{receiver.url}/peerly")
    recognition = recognition_create(actor=giver, given_for=rita.pk, core_value_id=value.pk, text="Oops")
    fan_out_last_event()
    [created] = deliveries_deferred()
    review_create(actor=moderator, recognition=recognition, is_inappropriate=True)

    assert webhooks.webhook_deliver(endpoint_id=endpoint.pk, event=created["event"], attempt=1) is None
    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()


def test_a_deleted_or_switched_off_endpoint_gets_nothing(receiver, organization, people):
    giver, rita, value = people
    gone, _ = endpoint_for(organization, f"{receiver.url}/gone")
    off, _ = endpoint_for(organization, f"{receiver.url}/off")
    recognition_create(actor=giver, given_for=rita.pk, core_value_id=value.pk, text="t")
    event = fan_out_last_event()
    webhooks.webhook_delete(actor=None, endpoint=gone)
    webhooks.webhook_update(actor=None, endpoint=off, events=ALL_EVENTS, description="", enabled=False)

    assert webhooks.webhook_deliver(endpoint_id=gone.pk, event=event, attempt=1) is None
    assert webhooks.webhook_deliver(endpoint_id=off.pk, event=event, attempt=1) is None
    assert receiver.requests == []


def test_an_endpoint_never_receives_another_organisations_event(receiver, organization, other_organization, people):
    giver, rita, value = people
    theirs, _ = endpoint_for(other_organization, f"{receiver.url}/theirs")
    recognition_create(actor=giver, given_for=rita.pk, core_value_id=value.pk, text="t")
    event = fan_out_last_event()
    assert deliveries_deferred() == []
    assert webhooks.webhook_deliver(endpoint_id=theirs.pk, event=event, attempt=1) is None  # a forged job
    assert receiver.requests == []


@pytest.fixture
def one_event(receiver, organization, people):
    giver, rita, value = people
    endpoint, _ = endpoint_for(organization, f"{receiver.url}/peerly")
    recognition_create(actor=giver, given_for=rita.pk, core_value_id=value.pk, text="t")
    return endpoint, fan_out_last_event()


def test_a_failing_receiver_is_logged_and_retried_and_a_success_forgives_it(receiver, one_event, org_admin):
    endpoint, event = one_event
    receiver.answers = [(500, {}), (302, {"Location": f"{receiver.url}/elsewhere"})]

    with pytest.raises(webhooks.WebhookDeliveryFailed, match="Answered 500"):
        webhooks.webhook_deliver(endpoint_id=endpoint.pk, event=event, attempt=1)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None and endpoint.enabled  # noqa: PT018
    with pytest.raises(webhooks.WebhookDeliveryFailed, match="Answered 302"):
        webhooks.webhook_deliver(endpoint_id=endpoint.pk, event=event, attempt=2)
    webhooks.webhook_deliver(endpoint_id=endpoint.pk, event=event, attempt=3)

    assert [request["path"] for request in receiver.requests] == ["/peerly"] * 3  # the redirect not followed
    assert {request["headers"]["Peerly-Event-Id"] for request in receiver.requests} == {event["id"]}
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None
    log = client_for(org_admin).get(f"/webhooks/{endpoint.pk}/deliveries").json()
    assert log["meta"]["total"] == 3
    rows = [(row["attempt"], row["succeeded"], row["status_code"], row["error"]) for row in log["data"]]
    assert rows == [(3, True, 200, ""), (2, False, 302, "Answered 302"), (1, False, 500, "Answered 500")]
    assert all(row["event_id"] == event["id"] and row["duration_ms"] >= 0 for row in log["data"])


def test_a_receiver_that_does_not_answer_in_time_is_a_failure(receiver, one_event, monkeypatch):
    endpoint, event = one_event
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 0.5)  # the delivery's 5 s, shortened for the test
    receiver.delays = [3]
    with pytest.raises(webhooks.WebhookDeliveryFailed, match="Timed out"):
        webhooks.webhook_deliver(endpoint_id=endpoint.pk, event=event, attempt=1)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.succeeded, delivery.status_code) == (False, None)
    assert delivery.duration_ms < 3000


def test_an_unreachable_receiver_is_a_failure(one_event, receiver):
    endpoint, event = one_event
    receiver.stop()  # nothing listens on its port any more
    with pytest.raises(webhooks.WebhookDeliveryFailed, match="Unreachable"):
        webhooks.webhook_deliver(endpoint_id=endpoint.pk, event=event, attempt=1)


def test_a_receiver_that_trickles_its_answer_is_cut_off_at_the_deadline(receiver, one_event, monkeypatch):
    endpoint, event = one_event
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 1)  # the delivery's 5 s, shortened for the test
    receiver.body, receiver.trickle = b"x" * 40, 0.1  # each byte in time, the whole answer 4 s late
    with pytest.raises(webhooks.WebhookDeliveryFailed, match="Timed out"):
        webhooks.webhook_deliver(endpoint_id=endpoint.pk, event=event, attempt=1)
    assert WebhookDelivery.objects.get().duration_ms < 2500


def test_at_most_64_kb_of_an_answer_is_read(receiver):
    receiver.body = b"x" * (1024 * 1024)
    request = urllib.request.Request(f"{receiver.url}/big", data=b"{}", method="POST")
    answer = outbound.send(request, addresses=["127.0.0.1"])
    assert (answer.status, len(answer.body)) == (200, outbound.MAX_RESPONSE_BYTES)


def test_a_malformed_answer_is_a_logged_failure(receiver, one_event):
    endpoint, event = one_event
    receiver.raw = [b"NOT HTTP AT ALL\r\n\r\n"]
    with pytest.raises(webhooks.WebhookDeliveryFailed, match="malformed answer: BadStatusLine"):
        webhooks.webhook_deliver(endpoint_id=endpoint.pk, event=event, attempt=1)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.succeeded, delivery.status_code) == (False, None)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None  # it counts towards switching the endpoint off


def test_the_delivery_connects_to_the_address_vetted_never_resolving_the_name_again(receiver, one_event, monkeypatch):
    endpoint, event = one_event
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=f"http://localhost:{receiver.port}/peerly")
    monkeypatch.setattr(outbound, "resolve", lambda host, port: ["127.0.0.1"])  # what the check vets
    names_resolved = []
    resolve_for_real = socket.getaddrinfo

    def addresses_only(host, *args, **kwargs):  # a second resolution of the name would fail (rebinding)
        if host == "localhost":
            names_resolved.append(host)
            raise socket.gaierror(socket.EAI_NONAME, "resolved again")
        return resolve_for_real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", addresses_only)
    delivery = webhooks.webhook_deliver(endpoint_id=endpoint.pk, event=event, attempt=1)
    assert delivery.succeeded, delivery.error
    assert names_resolved == []
    assert receiver.requests[0]["headers"]["Host"] == f"localhost:{receiver.port}"  # still addressed by name


def test_the_delivery_log_keeps_30_days(organization):
    endpoint = WebhookEndpoint.objects.create(organization=organization, url="https://h.example/", secret="s")
    for days in (31, 29):
        with time_machine.travel(timezone.now() - timedelta(days=days)):
            WebhookDelivery.objects.create(
                endpoint=endpoint, event_id=str(days), event_type="hi5.created", event={}, attempt=1,
                duration_ms=1, succeeded=True,
            )  # fmt: skip
    out = io.StringIO()
    call_command("purge_webhook_deliveries", stdout=out)
    assert list(WebhookDelivery.objects.values_list("event_id", flat=True)) == ["29"]
    assert "Deleted 1 webhook delivery log row(s)" in out.getvalue()
    assert app.tasks["notifications.purge_webhook_deliveries"].queue == "periodic"
    with pytest.raises(ValueError, match="at least one day"):
        webhooks.webhook_deliveries_purge(days=0)


def test_the_address_is_checked_again_before_each_delivery(dns, organization, people):
    giver, rita, value = people
    endpoint, _ = endpoint_for(organization, "https://hooks.example/peerly")
    recognition_create(actor=giver, given_for=rita.pk, core_value_id=value.pk, text="t")
    event = fan_out_last_event()
    dns["hooks.example"] = ["10.0.0.9"]  # DNS changed since it was saved: nothing is sent there

    with pytest.raises(webhooks.WebhookDeliveryFailed, match="Refused"):
        webhooks.webhook_deliver(endpoint_id=endpoint.pk, event=event, attempt=1)
    delivery = WebhookDelivery.objects.get()
    assert delivery.error == "Refused: hooks.example resolves to a private or reserved address."  # no address named
    assert delivery.status_code is None


def test_an_endpoint_failing_for_3_days_is_switched_off_and_its_admins_emailed(receiver, one_event, organization):
    endpoint, event = one_event
    admins = UserFactory.create_batch(2, organization=organization, org_admin=True)
    UserFactory(organization=organization, org_admin=True, deleted=True)
    receiver.answers = [(503, {})] * 3
    start = timezone.now()
    with time_machine.travel(start, tick=False), pytest.raises(webhooks.WebhookDeliveryFailed):
        webhooks.webhook_deliver(endpoint_id=endpoint.pk, event=event, attempt=1)
    with (
        time_machine.travel(start + timedelta(days=2, hours=23), tick=False),
        pytest.raises(webhooks.WebhookDeliveryFailed),
    ):
        webhooks.webhook_deliver(endpoint_id=endpoint.pk, event=event, attempt=2)
    endpoint.refresh_from_db()
    assert endpoint.enabled

    with time_machine.travel(start + timedelta(days=3, minutes=1), tick=False):
        delivery = webhooks.webhook_deliver(endpoint_id=endpoint.pk, event=event, attempt=3)  # no raise: no retry
    assert delivery.succeeded is False
    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_reason) == (False, "Answered 503")
    assert AuditEvent.objects.get(action="webhook.updated").after["enabled"] is False

    emails = ProcrastinateJob.objects.filter(task_name=webhooks.DISABLED_EMAIL_TASK)
    assert sorted(job.args["user_id"] for job in emails) == sorted(admin.pk for admin in admins)
    for job in emails:
        assert webhooks.webhook_disabled_email_deliver(**job.args) is True
    assert sorted(message.to[0] for message in mail.outbox) == sorted(admin.email for admin in admins)
    message = mail.outbox[0]
    assert endpoint.url in message.body
    assert "Answered 503" in message.body
    assert "List-Unsubscribe" not in message.extra_headers  # an operational email, not a newsletter
    assert webhooks.webhook_deliver(endpoint_id=endpoint.pk, event=event, attempt=4) is None
    assert len(receiver.requests) == 3

    # Switched on again: its failures are forgiven, deliveries go out again.
    webhooks.webhook_update(actor=None, endpoint=endpoint, events=ALL_EVENTS, description="", enabled=True)
    endpoint.refresh_from_db()
    assert (endpoint.failing_since, endpoint.disabled_at) == (None, None)
    assert webhooks.webhook_deliver(endpoint_id=endpoint.pk, event=event, attempt=1).succeeded


def test_deliveries_are_retried_with_the_notifications_backoff():
    task = app.tasks["notifications.webhook_send"]
    assert task.retry_strategy is RETRY
    assert task.queue == "webhooks"  # workers can be set aside for them


# --- the admin -------------------------------------------------------------------------

WEBHOOK_ADMIN = "/admin/notifications/webhookendpoint/"
DELIVERY_ADMIN = "/admin/notifications/webhookdelivery/"


def test_an_org_admin_adds_an_endpoint_in_the_admin_and_sees_the_secret_once(dns, org_admin, organization):
    client = Client()
    client.force_login(org_admin)
    page = client.post(
        f"{WEBHOOK_ADMIN}add/",
        {"url": "https://hooks.example/hris", "description": "HRIS", "events": ["recognition.created"]},
        follow=True,
    )
    assert page.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.organization, endpoint.events, endpoint.created_by) == (
        organization,
        ["recognition.created"],
        org_admin,
    )
    assert endpoint.secret in page.content.decode()  # once, in the message after saving
    assert endpoint.secret not in client.get(f"{WEBHOOK_ADMIN}{endpoint.pk}/change/").content.decode()
    assert endpoint.secret not in client.get(WEBHOOK_ADMIN).content.decode()

    refused = client.post(f"{WEBHOOK_ADMIN}add/", {"url": "http://hooks.example/x", "events": ["hi5.created"]})
    assert refused.status_code == 200 and "https://" in refused.content.decode()  # noqa: PT018
    assert WebhookEndpoint.objects.count() == 1


def test_an_org_admin_redelivers_from_the_log(dns, org_admin, organization, other_organization):
    endpoint, _ = endpoint_for(organization, "https://hooks.example/x")
    event = {"id": "e1", "type": "recognition.created", "created_at": "t", "organization_id": organization.pk}
    attempts = [
        WebhookDelivery.objects.create(
            endpoint=endpoint, event_id="e1", event_type="recognition.created", event=event, attempt=n,
            duration_ms=1, succeeded=False, error="Answered 500",
        )
        for n in (1, 2)
    ]  # fmt: skip
    client = Client()
    client.force_login(org_admin)
    assert client.get(DELIVERY_ADMIN).context["cl"].result_count == 2
    ids = [attempt.pk for attempt in attempts]
    client.post(DELIVERY_ADMIN, {"action": "redeliver", "_selected_action": ids})

    [job] = deliveries_deferred()
    assert job == {"endpoint_id": endpoint.pk, "event": event, "redelivery": True}  # the same event, once

    webhooks.webhook_update(actor=None, endpoint=endpoint, events=ALL_EVENTS, description="", enabled=False)
    page = client.post(DELIVERY_ADMIN, {"action": "redeliver", "_selected_action": ids}, follow=True)
    assert "switched off" in page.content.decode()
    assert len(deliveries_deferred()) == 1


def test_an_org_admin_deletes_an_endpoint_with_its_log_in_the_admin(dns, org_admin, organization):
    endpoint, _ = endpoint_for(organization, "https://hooks.example/x")
    WebhookDelivery.objects.create(
        endpoint=endpoint, event_id="e1", event_type="hi5.created", event={}, attempt=1, duration_ms=1, succeeded=True
    )
    client = Client()
    client.force_login(org_admin)
    assert client.get(f"{WEBHOOK_ADMIN}{endpoint.pk}/delete/").status_code == 200
    assert client.post(f"{WEBHOOK_ADMIN}{endpoint.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not WebhookEndpoint.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert AuditEvent.objects.filter(action="webhook.deleted").count() == 1


def test_the_admin_refuses_an_endpoint_beyond_the_limit_with_a_message(dns, org_admin, organization):
    for n in range(webhooks.MAX_ENDPOINTS_PER_ORGANIZATION):
        endpoint_for(organization, f"https://hooks.example/{n}")
    client = Client()
    client.force_login(org_admin)
    page = client.post(f"{WEBHOOK_ADMIN}add/", {"url": "https://hooks.example/more", "events": ["hi5.created"]})
    assert page.status_code == 200
    assert "at most 20 webhook endpoints" in page.content.decode()
    assert WebhookEndpoint.objects.count() == webhooks.MAX_ENDPOINTS_PER_ORGANIZATION


def test_another_organisations_endpoints_and_log_are_out_of_reach_in_the_admin(dns, org_admin, other_organization):
    theirs, _ = endpoint_for(other_organization, "https://hooks.example/theirs")
    WebhookDelivery.objects.create(
        endpoint=theirs, event_id="e1", event_type="hi5.created", event={}, attempt=1, duration_ms=1, succeeded=True
    )
    client = Client()
    client.force_login(org_admin)
    assert client.get(WEBHOOK_ADMIN).context["cl"].result_count == 0
    assert client.get(DELIVERY_ADMIN).context["cl"].result_count == 0
    assert client.get(f"{WEBHOOK_ADMIN}{theirs.pk}/change/").status_code == 302


def test_a_moderator_does_not_see_webhooks_in_the_admin(moderator):
    client = Client()
    client.force_login(moderator)
    assert client.get(WEBHOOK_ADMIN).status_code == 403
    assert client.get(DELIVERY_ADMIN).status_code == 403
