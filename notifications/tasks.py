"""The notification jobs (procrastinate), thin: each takes ids and calls notifications.services.

A failed job is retried with exponential backoff: 7 attempts in all, the retries after 5 s, 25 s,
2 min, 10 min, 52 min and 4.3 h (5.4 h from the first). Then it stays failed, listed in the admin
(Procrastinate > Jobs) with a "Retry" action.
"""

from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from notifications import services
from peerly.events import DELIVER_TASK

RETRY = RetryStrategy(max_attempts=6, exponential_wait=5)
QUEUE = "notifications"


@app.task(name=DELIVER_TASK, queue=QUEUE, retry=RETRY)
def event_deliver(event: dict) -> None:
    services.event_fan_out(event=event)


@app.task(name="notifications.email_send", queue=QUEUE, retry=RETRY)
def email_send(kind: str, event: dict, recipient_id: int) -> None:
    services.email_deliver(kind=kind, event=event, recipient_id=recipient_id)
