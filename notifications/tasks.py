"""The notification jobs (procrastinate), thin: each takes ids and calls notifications.services.

A failed job is retried with exponential backoff: 7 attempts in all, the retries after 5 s, 25 s,
2 min, 10 min, 52 min and 4.3 h (5.4 h from the first). Then it stays failed, listed in the admin
(Procrastinate > Jobs) with a "Retry" action.
"""

from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from notifications import digests, services, slack, webhooks
from peerly.events import DELIVER_TASK

RETRY = RetryStrategy(max_attempts=6, exponential_wait=5)
QUEUE = "notifications"


@app.task(name=DELIVER_TASK, queue=QUEUE, retry=RETRY)
def event_deliver(event: dict) -> None:
    services.event_fan_out(event=event)


@app.task(name="notifications.email_send", queue=QUEUE, retry=RETRY)
def email_send(kind: str, event: dict, recipient_id: int) -> None:
    services.email_deliver(kind=kind, event=event, recipient_id=recipient_id)


@app.task(name=services.HI5_EMAIL_TASK, queue=QUEUE)  # retries itself: services.hi5_email_job
def hi5_email_send(recipient_id: int, organization_id: int, attempt: int = 0, from_hi5_id: int = 0) -> None:
    # from_hi5_id: what jobs deferred before notifications/0005 carry (their Hi5s were noted by the migration)
    services.hi5_email_job(recipient_id=recipient_id, organization_id=organization_id, attempt=attempt)


# Hourly: each organisation's digest goes out at the first run after Monday 09:00 in its timezone.
@app.periodic(cron="5 * * * *", periodic_id="weekly_digests")
@app.task(name="notifications.weekly_digests", queue="periodic", queueing_lock="weekly_digests")
def weekly_digests(timestamp: int) -> int:
    return digests.weekly_digests_run()


@app.task(name=digests.MEMBER_TASK, queue=QUEUE, retry=RETRY)
def member_digest_send(user_id: int, week_start: str) -> None:
    digests.member_digest_deliver(user_id=user_id, week_start=week_start)


@app.task(name=digests.ADMIN_TASK, queue=QUEUE, retry=RETRY)
def admin_digest_send(user_id: int, week_start: str) -> None:
    digests.admin_digest_deliver(user_id=user_id, week_start=week_start)


@app.task(name="notifications.slack_post", queue=QUEUE, retry=RETRY)
def slack_post(event: dict) -> None:
    slack.slack_deliver(event=event)


# Their own queue: workers can be set aside for them (`--queues webhooks`), so slow receivers (5 s each
# at most) never hold up the emails.
@app.task(name=services.WEBHOOK_TASK, queue="webhooks", retry=RETRY, pass_context=True)
def webhook_send(context, endpoint_id: int, event: dict, redelivery: bool = False) -> None:
    webhooks.webhook_deliver(
        endpoint_id=endpoint_id, event=event, attempt=context.job.attempts + 1, redelivery=redelivery
    )


@app.task(name=webhooks.DISABLED_EMAIL_TASK, queue=QUEUE, retry=RETRY)
def webhook_disabled_email(endpoint_id: int, user_id: int) -> None:
    webhooks.webhook_disabled_email_deliver(endpoint_id=endpoint_id, user_id=user_id)


@app.periodic(cron="57 3 * * *", periodic_id="purge_hi5_notes")  # daily, 03:57 UTC
@app.task(name="notifications.purge_hi5_notes", queue="periodic", queueing_lock="purge_hi5_notes")
def purge_hi5_notes(timestamp: int) -> int:
    return services.hi5_notes_purge()


@app.periodic(cron="47 3 * * *", periodic_id="purge_webhook_deliveries")  # daily, 03:47 UTC
@app.task(name="notifications.purge_webhook_deliveries", queue="periodic", queueing_lock="purge_webhook_deliveries")
def purge_webhook_deliveries(timestamp: int) -> int:
    return webhooks.webhook_deliveries_purge()
