"""Failed jobs stay visible in the admin, with a retry action, for the platform's super admins (#11)."""

import pytest
from django.db import connection
from django.test import Client
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/procrastinate/procrastinatejob/"


@pytest.fixture
def failed_job():
    job_id = app.configure_task(name="notifications.email_send").defer(
        kind="recognition_received", event={}, recipient_id=1
    )
    with connection.cursor() as cursor:  # as a worker leaves a job after its last attempt
        cursor.execute("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = %s", [job_id])
        cursor.execute("UPDATE procrastinate_jobs SET status = 'failed', attempts = 7 WHERE id = %s", [job_id])
    return job_id


def test_a_super_admin_sees_a_failed_job_and_retries_it(super_admin, failed_job):
    client = Client()
    client.force_login(super_admin)
    listing = client.get(CHANGELIST + "?status__exact=failed")
    assert listing.status_code == 200
    assert "notifications.email_send" in listing.content.decode()

    client.post(CHANGELIST, {"action": "retry", "_selected_action": [failed_job]})

    assert ProcrastinateJob.objects.get(pk=failed_job).status == "todo"


def test_organisation_staff_do_not_see_the_platforms_jobs(org_admin, moderator, failed_job):
    for member in (org_admin, moderator):
        client = Client()
        client.force_login(member)
        assert client.get(CHANGELIST).status_code == 403
