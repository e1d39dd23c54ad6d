"""Demo reports for `manage.py seed_demo`, so the moderators' queue has something to review."""

from accounts.models import Organization, User
from moderation.models import ReportReason
from moderation.services import report_create
from recognitions.models import Recognition

DEMO_REPORTS = [
    (ReportReason.NOT_RELEVANT, "This is about lunch plans, not about our values."),
    (ReportReason.FRAUD, "I think these two agreed to recognise each other for the Hi5s."),
]


def seed_moderation_demo(*, organization: Organization, people: list[User]) -> None:
    """Two open reports, each by a member who neither gave nor received the recognition."""
    recognitions = Recognition.objects.filter(organization=organization).order_by("id")[: len(DEMO_REPORTS)]
    for recognition, (mark_as, reason) in zip(recognitions, DEMO_REPORTS, strict=False):
        reporter = next(
            person
            for person in people
            if not person.can_moderate and person.pk not in (recognition.given_by_id, recognition.given_for_id)
        )
        report_create(actor=reporter, recognition=recognition, mark_as=mark_as, reason=reason)
