"""How fast the workers deliver: N queued "you were recognised" emails drained by W workers (real
`manage.py procrastinate worker` processes) to a local SMTP server (aiosmtpd, loopback).

    DJANGO_SETTINGS_MODULE=bench.settings DATABASE_URL=... python -m bench.drain --emails 10000 --workers 2

The workers start first and register; then the N jobs are deferred in one transaction, and the clock
runs from its commit to the N-th message received. Prints one JSON object.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import django

django.setup()

from aiosmtpd.controller import Controller  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from notifications.services import EMAIL_TASK  # noqa: E402
from peerly.events import EventType, jobs  # noqa: E402
from recognitions.models import Recognition  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


class Sink:
    """aiosmtpd's handler: counts the messages (their content is the tests' business)."""

    def __init__(self) -> None:
        self.received = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            self.received += 1
        return "250 Message accepted for delivery"


def registered_workers() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_workers")
        return cursor.fetchone()[0]


def wait(check, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    with connection.cursor() as cursor:  # the writes' events of the run so far are not this measurement
        cursor.execute("TRUNCATE procrastinate_jobs, procrastinate_events, procrastinate_workers CASCADE")
    receivers = list(
        Recognition.objects.filter(is_hidden=False, given_for__soft_delete_at__isnull=True)
        .exclude(given_for__notification_preferences__email_recognition_received=False)  # each one is sent
        .order_by("-id")
        .values_list("pk", "organization_id", "given_for_id")[: args.emails]
    )
    if len(receivers) < args.emails:
        raise SystemExit(f"only {len(receivers)} recognitions to announce, {args.emails} asked")

    sink = Sink()
    with socket.socket() as probe:  # a free port (aiosmtpd needs one named)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    env = {**os.environ, "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port), "PEERLY_LOG_LEVEL": "WARNING"}
    workers = []
    log = open(args.out / "drain-workers.log", "w")  # noqa: SIM115 (closed below)
    try:
        for n in range(args.workers):
            command = [sys.executable, "manage.py", "procrastinate", "worker", "--name", f"bench-worker-{n}"]
            command += ["--queues", "notifications"]
            workers.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))  # noqa: S603
        wait(lambda: registered_workers() >= args.workers, timeout=60, what="the workers to start")

        now = timezone.now().isoformat()
        deferrer = jobs(EMAIL_TASK)
        with transaction.atomic():
            for start in range(0, len(receivers), 1000):
                deferrer.batch_defer(
                    *(
                        {
                            "kind": "recognition_received",
                            "recipient_id": receiver_id,
                            "event": {
                                "id": str(uuid.uuid4()),
                                "type": str(EventType.RECOGNITION_CREATED),
                                "created_at": now,
                                "organization_id": organization_id,
                                "recognition_id": recognition_id,
                            },
                        }
                        for recognition_id, organization_id, receiver_id in receivers[start : start + 1000]
                    )
                )
        started = time.monotonic()
        wait(lambda: sink.received >= args.emails, timeout=1800, what=f"{args.emails} emails")
        seconds = time.monotonic() - started
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        controller.stop()
        log.close()
    result = {
        "emails": args.emails,
        "workers": args.workers,
        "seconds": round(seconds, 1),
        "emails_per_second": round(args.emails / seconds, 1),
        "received": sink.received,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
