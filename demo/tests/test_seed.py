"""The demo data: loaded once, consistent balances, a moderators' queue to review."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count

from accounts.models import Role, User
from corevalues.models import CoreValue
from moderation.models import Report, ReportStatus
from recognitions.models import Hi5, Recognition

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_seed_demo_loads_values_recognitions_and_spends_balances_consistently():
    run("seed_demo")
    assert CoreValue.objects.count() == 4
    assert CoreValue.objects.filter(parent__isnull=False).count() == 1
    assert Recognition.objects.count() == 5
    assert Hi5.objects.count() == 6
    people = User.objects.filter(organization__name="Acme").annotate(
        given=Count("recognitions_given", distinct=True), hi5s=Count("hi5s_given", distinct=True)
    )
    for person in people:
        assert person.hi5_quota_balance == 5 - person.given - person.hi5s, person.email


def test_the_demo_fills_the_moderators_queue():
    run("seed_demo")

    reports = list(Report.objects.select_related("recognition"))
    assert len(reports) == 2
    for report in reports:
        assert report.status == ReportStatus.OPEN
        assert report.reported_by_id not in (report.recognition.given_by_id, report.recognition.given_for_id)
        assert report.reported_by.organization.name == "Acme"


def test_seed_demo_is_idempotent():
    run("seed_demo")
    counts = User.objects.count()
    assert "already" in run("seed_demo")
    assert User.objects.count() == counts
    assert User.objects.filter(email="alice@acme.example", role_id=Role.EMPLOYEE).exists()
