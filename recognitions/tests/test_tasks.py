"""The periodic jobs that replace cron (#11): their schedules, and one renewal per period however many
workers run it at once."""

import pytest
from procrastinate.contrib.django import app

from accounts.tests.factories import UserFactory
from recognitions.models import QuotaRenewal
from recognitions.tasks import renew_hi5_quotas
from tests.concurrency import run_together


def test_the_schedules():
    schedules = {entry.task.name: entry.cron for entry in app.periodic_registry.periodic_tasks.values()}
    assert schedules == {
        "recognitions.renew_hi5_quotas": "*/5 * * * *",
        "accounts.purge_revoked_tokens": "17 3 * * *",
        "peerly.purge_idempotency_keys": "27 3 * * *",
        "audit.purge_audit_events": "37 3 * * *",
        "peerly.retry_stalled_jobs": "* * * * *",
        "notifications.weekly_digests": "5 * * * *",
        "notifications.purge_webhook_deliveries": "47 3 * * *",
        "notifications.purge_hi5_notes": "57 3 * * *",
    }
    # One job of each waiting at a time (a slow run is not stacked up behind itself).
    for entry in app.periodic_registry.periodic_tasks.values():
        assert entry.task.queueing_lock


@pytest.mark.django_db(transaction=True)
def test_two_workers_running_one_periods_renewal_renew_once(organization):
    members = UserFactory.create_batch(3, organization=organization, hi5_quota_balance=0)

    renewed = run_together(lambda index: renew_hi5_quotas(timestamp=0), threads=2)

    assert sorted(renewed) == [0, 1]
    assert QuotaRenewal.objects.filter(organization=organization).count() == 1
    for member in members:
        member.refresh_from_db()
        assert member.hi5_quota_balance == organization.hi5_limit
