"""Reads for moderation, always scoped to the actor's organisation (a super admin sees every one)."""

from django.db.models import Case, Count, Exists, IntegerField, Max, OuterRef, Q, QuerySet, Subquery, Value, When

from accounts.models import User
from accounts.scoping import scope_to_actor
from moderation.models import Report, ReportStatus
from peerly.api.exceptions import NotFound
from recognitions import selectors as recognition_selectors
from recognitions.models import Recognition


def recognition_get_for_report(*, actor: User, recognition_id: int) -> Recognition:
    """A recognition the actor can see: like `GET /recognitions/:id`, a hidden one is 404 for members."""
    return recognition_selectors.recognition_get(actor=actor, recognition_id=recognition_id)


def recognition_get_for_moderation(*, actor: User, recognition_id: int) -> Recognition:
    """A recognition of the actor's organisation (any for a super admin), hidden or not; else 404."""
    recognition = recognition_selectors.recognitions_visible_to(actor).filter(pk=recognition_id).first()
    if recognition is None:
        raise NotFound("Recognition not found")
    return recognition


def report_list(*, actor: User, status: str | None = None, mark_as: str | None = None) -> QuerySet[Report]:
    """The moderation queue: open reports first, then newest first."""
    queryset = Report.objects.select_related(
        "reported_by", "recognition__given_by", "recognition__given_for", "recognition__core_value"
    )
    queryset = scope_to_actor(actor, queryset, lookup="recognition__organization_id")
    if status:
        queryset = queryset.filter(status=status)
    if mark_as:
        queryset = queryset.filter(mark_as=mark_as)
    # Annotated rather than ordered by the expression: each report then carries its sort key (its cursor).
    is_open = Case(When(status=ReportStatus.OPEN, then=Value(1)), default=Value(0), output_field=IntegerField())
    return queryset.annotate(queue_open=is_open).order_by("-queue_open", "-created_at", "-id")


def reported_recognitions_ordering() -> list:
    """The queue's order, as expressions (the admin orders before it annotates): open first, then newest."""
    reports = Report.objects.filter(recognition=OuterRef("pk"))
    last_reported = Subquery(reports.order_by("-created_at").values("created_at")[:1])
    return [Exists(reports.filter(status=ReportStatus.OPEN)).desc(), last_reported.desc(nulls_last=True), "-id"]


def reported_recognitions(queryset: QuerySet[Recognition]) -> QuerySet[Recognition]:
    """Recognitions with at least one report, those with open reports first, the most recently reported first.

    Annotates `has_open_reports`, `open_reports`, `total_reports` and `last_reported_at` (the admin queue
    shows them).
    """
    return (
        queryset.filter(Exists(Report.objects.filter(recognition=OuterRef("pk"))))
        .annotate(
            has_open_reports=Exists(Report.objects.filter(recognition=OuterRef("pk"), status=ReportStatus.OPEN)),
            open_reports=Count("reports", filter=Q(reports__status=ReportStatus.OPEN), distinct=True),
            total_reports=Count("reports", distinct=True),
            last_reported_at=Max("reports__created_at"),
        )
        .order_by(*reported_recognitions_ordering())
    )
