from django.core.management import call_command

from moderation.models import Report, ReportStatus


def test_the_demo_fills_the_moderators_queue(db):
    call_command("seed_demo")

    reports = list(Report.objects.select_related("recognition"))
    assert len(reports) == 2
    for report in reports:
        assert report.status == ReportStatus.OPEN
        assert report.reported_by_id not in (report.recognition.given_by_id, report.recognition.given_for_id)
        assert report.reported_by.organization.name == "Acme"
