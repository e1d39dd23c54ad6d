"""The notifications end to end: `manage.py procrastinate worker` as a separate process on the test
database, mailing a real SMTP server (aiosmtpd) and posting webhooks to a local HTTP server, both on
loopback ports (#11)."""

import asyncio
import json
import time
from types import SimpleNamespace

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, connections
from procrastinate.contrib.django import app

from accounts.tests.factories import UserFactory
from conftest import client_for
from corevalues.tests.factories import CoreValueFactory
from moderation.services import review_create
from notifications.models import WebhookDelivery
from notifications.tests.test_webhooks import readme_receiver
from notifications.webhooks import webhook_create
from peerly.tasks import retry_stalled_jobs
from recognitions.services import recognition_create
from tests.live import HttpSink, SmtpSink, Worker, free_port, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def pending_jobs() -> list[tuple[str, str, int]]:
    """The notifications' jobs still to run (the periodic ones, which these workers leave alone, aside)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT task_name, status, attempts FROM procrastinate_jobs"
            " WHERE status IN ('todo', 'doing') AND queue_name IN ('notifications', 'webhooks') ORDER BY id"
        )
        return cursor.fetchall()


def run_stalled_jobs_retry() -> int:
    """What the periodic `peerly.retry_stalled_jobs` does, here in the test's process: how many it retried."""

    async def periodic_run() -> int:
        try:
            return await retry_stalled_jobs.func(SimpleNamespace(app=app), timestamp=0)
        finally:
            await sync_to_async(connections.close_all)()  # the executor thread's connection

    return asyncio.run(periodic_run())


@pytest.fixture
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def workers():
    started: list[Worker] = []

    def start(smtp_port: int, **env: str) -> Worker:
        worker = Worker(smtp_port=smtp_port, name=f"test-worker-{len(started)}", **env)
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()  # (the jobs they leave are cleared after the test: conftest.py)


@pytest.fixture
def people(organization):
    giver = UserFactory(organization=organization, first_name="Grace")
    receiver = UserFactory(organization=organization, first_name="Rita")
    return giver, receiver, CoreValueFactory(organization=organization, text="Courage")


def test_a_recognition_reaches_its_receiver_by_email(workers, smtp, people):
    giver, receiver, value = people
    workers(smtp.port)

    response = client_for(giver).post(
        "/recognitions",
        {"given_for": receiver.pk, "core_value_id": value.pk, "text": "Saved the launch"},
        format="json",
    )

    assert response.status_code == 201
    [(recipients, message)] = smtp.wait_for(1)
    assert recipients == [receiver.email]
    assert message["Subject"] == f"{giver.display_name} recognised you for Courage"
    assert message["Peerly-Event-Id"]
    assert "Saved the launch" in message.get_body(preferencelist=("plain",)).get_content()
    assert "Saved the launch" in message.get_body(preferencelist=("html",)).get_content()
    wait_until(lambda: pending_jobs() == [], timeout=30, what="the queue to drain")


def test_a_recognition_hidden_before_the_worker_runs_is_not_announced(workers, smtp, people, moderator):
    giver, receiver, value = people
    recognition = recognition_create(actor=giver, given_for=receiver.pk, core_value_id=value.pk, text="Oops")
    review_create(actor=moderator, recognition=recognition, is_inappropriate=True)

    workers(smtp.port)
    wait_until(lambda: smtp.messages and pending_jobs() == [], timeout=30, what="the deliveries")

    assert [(recipients, message["Subject"]) for recipients, message in smtp.messages] == [
        ([giver.email], f"Your recognition of {receiver.display_name} was hidden")
    ]


def test_an_email_the_smtp_server_refused_is_retried_until_it_arrives(workers, people):
    giver, receiver, value = people
    port = free_port()  # nothing listens there yet: the SMTP server is down
    workers(port)
    recognition_create(actor=giver, given_for=receiver.pk, core_value_id=value.pk, text="Persistent")

    def retry_scheduled() -> bool:
        return ("notifications.email_send", "todo", 1) in pending_jobs()

    wait_until(retry_scheduled, timeout=30, what="the failed email to be scheduled again")
    late = SmtpSink(port=port).start()  # the SMTP server is back
    try:
        started = time.monotonic()
        [(recipients, _)] = late.wait_for(1, timeout=60)
        assert recipients == [receiver.email]
        assert time.monotonic() - started < 60
    finally:
        late.stop()


def test_a_worker_killed_mid_delivery_loses_nothing(workers, people, settings):
    giver, receiver, value = people
    smtp = SmtpSink(stall_first=True).start()  # takes the first message and sits on it
    try:
        doomed = workers(smtp.port)
        recognition_create(actor=giver, given_for=receiver.pk, core_value_id=value.pk, text="Never lost")
        wait_until(lambda: smtp.stalled, timeout=30, what="the delivery to start")
        assert ("notifications.email_send", "doing", 0) in pending_jobs()

        doomed.kill()  # SIGKILL in the middle of the SMTP conversation
        settings.PEERLY_WORKER_STALLED_SECONDS = 1
        time.sleep(2)  # its heartbeat is now older than that

        assert run_stalled_jobs_retry() == 1

        workers(smtp.port)  # another worker takes it
        [(recipients, message)] = smtp.wait_for(1, timeout=60)
        assert recipients == [receiver.email]
        assert "Never lost" in message.get_body(preferencelist=("plain",)).get_content()
    finally:
        smtp.stop()


def test_two_workers_share_200_events_and_deliver_each_once(workers, smtp, organization, webhook_receiver):
    receiver = UserFactory(organization=organization)
    value = CoreValueFactory(organization=organization)
    _, secret = webhook_create(
        actor=None, organization=organization, url=f"{webhook_receiver.url}/in", events=["recognition.created"]
    )
    givers = UserFactory.create_batch(20, organization=organization, hi5_quota_balance=10)
    for giver in givers:
        for n in range(10):
            recognition_create(actor=giver, given_for=receiver.pk, core_value_id=value.pk, text=f"#{n}")

    workers(smtp.port, queues="notifications,webhooks", PEERLY_OUTBOUND_ALLOW_LOOPBACK_HTTP="true")
    workers(smtp.port, queues="notifications,webhooks", PEERLY_OUTBOUND_ALLOW_LOOPBACK_HTTP="true")
    smtp.wait_for(200, timeout=120)
    wait_until(lambda: len(webhook_receiver.requests) >= 200, timeout=120, what="200 webhook deliveries")
    wait_until(lambda: pending_jobs() == [], timeout=60, what="the queue to drain")

    event_ids = [message["Peerly-Event-Id"] for _, message in smtp.messages]
    assert len(event_ids) == 200
    assert len(set(event_ids)) == 200  # every event once, none twice
    # The receiver verifies each request as the README shows, and sees each event once.
    peerly_event = readme_receiver()
    verified = [
        peerly_event(secret, request["headers"]["Peerly-Signature"], request["body"])["id"]
        for request in webhook_receiver.requests
    ]
    assert sorted(verified) == sorted(event_ids)
    succeeded = WebhookDelivery.objects.filter(succeeded=True).values_list("event_id", flat=True)
    assert sorted(succeeded) == sorted(event_ids)  # the log of attempts that succeeded: each event once


@pytest.fixture
def webhook_receiver(settings):
    settings.PEERLY_OUTBOUND_ALLOW_LOOPBACK_HTTP = True  # here, to save the endpoint; the workers get it below
    server = HttpSink().start()
    yield server
    server.stop()


def webhook_deliveries() -> list[tuple[int, bool, int | None]]:
    return list(WebhookDelivery.objects.order_by("id").values_list("attempt", "succeeded", "status_code"))


def test_a_webhook_receiver_that_fails_is_retried_until_it_takes_the_event(workers, smtp, people, webhook_receiver):
    giver, receiver, value = people
    endpoint, _ = webhook_create(
        actor=None, organization=giver.organization, url=f"{webhook_receiver.url}/in", events=["recognition.created"]
    )
    webhook_receiver.answers = [(500, {})]  # down at first, then 200
    workers(smtp.port, queues="notifications,webhooks", PEERLY_OUTBOUND_ALLOW_LOOPBACK_HTTP="true")

    recognition_create(actor=giver, given_for=receiver.pk, core_value_id=value.pk, text="Signed and sent")

    wait_until(lambda: len(webhook_receiver.requests) == 2, timeout=60, what="the webhook's retry")
    wait_until(lambda: len(webhook_deliveries()) == 2, timeout=30, what="the delivery log")
    assert webhook_deliveries() == [(1, False, 500), (2, True, 200)]
    first, retried = webhook_receiver.requests
    assert first["headers"]["Peerly-Event-Id"] == retried["headers"]["Peerly-Event-Id"]
    assert json.loads(retried["body"])["data"]["recognition"]["text"] == "Signed and sent"
    wait_until(lambda: pending_jobs() == [], timeout=30, what="the queue to drain")
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_a_worker_killed_mid_webhook_delivery_loses_nothing(workers, smtp, people, webhook_receiver, settings):
    giver, receiver, value = people
    webhook_create(
        actor=None, organization=giver.organization, url=f"{webhook_receiver.url}/in", events=["recognition.created"]
    )
    webhook_receiver.delays = [30]  # the receiver takes the first request and sits on it
    doomed = workers(smtp.port, queues="notifications,webhooks", PEERLY_OUTBOUND_ALLOW_LOOPBACK_HTTP="true")
    recognition_create(actor=giver, given_for=receiver.pk, core_value_id=value.pk, text="Never lost")
    wait_until(lambda: len(webhook_receiver.requests) == 1, timeout=30, what="the delivery to start")
    assert ("notifications.webhook_send", "doing", 0) in pending_jobs()

    doomed.kill()  # SIGKILL while the request is in flight
    settings.PEERLY_WORKER_STALLED_SECONDS = 1
    time.sleep(2)  # its heartbeat is now older than that
    assert run_stalled_jobs_retry() >= 1

    workers(
        smtp.port, queues="notifications,webhooks", PEERLY_OUTBOUND_ALLOW_LOOPBACK_HTTP="true"
    )  # another worker takes it
    wait_until(lambda: len(webhook_receiver.requests) == 2, timeout=60, what="the delivery to be retried")
    wait_until(lambda: webhook_deliveries() != [], timeout=30, what="the delivery log")
    wait_until(lambda: pending_jobs() == [], timeout=30, what="the queue to drain")
    first, *again = webhook_receiver.requests
    assert {request["headers"]["Peerly-Event-Id"] for request in again} == {first["headers"]["Peerly-Event-Id"]}
    assert webhook_deliveries()[-1] == (2, True, 200)  # the killed attempt left no row; the retry's is the second
