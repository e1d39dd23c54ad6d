"""Every write of moderation: reports by members, reviews by moderators."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.scoping import reaches
from audit.models import AuditAction, AuditTarget
from audit.services import audit_record
from moderation.errors import AlreadyReported
from moderation.models import Report, ReportStatus, Review
from peerly.api.exceptions import AccessDenied, NotFound
from peerly.events import EventType, event_emit
from recognitions.errors import OwnRecognition, RecognitionHidden
from recognitions.models import Recognition


def _ensure_same_organization(*, actor: User, recognition: Recognition) -> None:
    # Selectors already scope; this keeps the rule true for every caller (admin actions included).
    if not reaches(actor, recognition.organization_id):
        raise NotFound("Recognition not found")


def report_create(*, actor: User, recognition: Recognition, mark_as: str, reason: str) -> Report:
    """A member flags a recognition they did not give, once; a hidden one takes no more reports.

    (Members never reach a hidden recognition: the selector answers 404, as `GET /recognitions/:id` does.
    Moderators, who can see it, get `recognition_hidden`.)
    """
    _ensure_same_organization(actor=actor, recognition=recognition)
    if recognition.given_by_id == actor.pk:
        raise OwnRecognition("You cannot report a recognition you gave")
    if recognition.is_hidden:
        raise RecognitionHidden()
    if Report.objects.filter(recognition=recognition, reported_by=actor).exists():
        raise AlreadyReported()
    try:
        with transaction.atomic():
            report = Report.objects.create(recognition=recognition, reported_by=actor, mark_as=mark_as, reason=reason)
    except IntegrityError:
        # A concurrent submit of the same report won the race on the unique constraint.
        raise AlreadyReported() from None
    return report


@transaction.atomic
def review_create(*, actor: User, recognition: Recognition, is_inappropriate: bool, comment: str = "") -> Review:
    """Record a moderator's decision, close every open report on the recognition, and hide or show it.

    The latest review decides: an inappropriate verdict hides the recognition, a later "keep" verdict
    shows it again. The recognition row is locked, so concurrent reviews apply one after the other.
    Nobody (moderator, admin or super admin) reviews a recognition they gave or received.
    """
    if not actor.can_moderate or not actor.is_active:
        raise AccessDenied()
    _ensure_same_organization(actor=actor, recognition=recognition)
    if actor.pk in (recognition.given_by_id, recognition.given_for_id):
        raise OwnRecognition("You cannot review a recognition you gave or received")
    locked = Recognition.objects.select_for_update().get(pk=recognition.pk)
    review = Review.objects.create(
        recognition=locked,
        reviewed_by=actor,
        is_inappropriate=is_inappropriate,
        comment=comment,
        reviewed_at=timezone.now(),
    )
    closed = Report.objects.filter(recognition=locked, status=ReportStatus.OPEN).update(
        status=ReportStatus.CLOSED, review=review
    )
    audit_record(
        action=AuditAction.REVIEW_CREATED,
        target_type=AuditTarget.RECOGNITION,
        target_id=locked.pk,
        organization_id=locked.organization_id,
        actor=actor,
        before={"is_hidden": locked.is_hidden},
        after={
            "is_hidden": is_inappropriate,
            "review_id": review.pk,
            "is_inappropriate": is_inappropriate,
            "comment": comment,
            "reports_closed": closed,
        },
    )
    if locked.is_hidden != is_inappropriate:
        locked.is_hidden = is_inappropriate
        locked.save(update_fields=["is_hidden"])
        event_emit(
            EventType.RECOGNITION_HIDDEN if is_inappropriate else EventType.RECOGNITION_RESTORED,
            organization_id=locked.organization_id,
            recognition_id=locked.pk,
        )
    recognition.is_hidden = locked.is_hidden
    return review
