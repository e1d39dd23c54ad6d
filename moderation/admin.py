"""The moderators' queue: reported recognitions, their reports, and the two review actions."""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from accounts.admin_mixins import MODERATORS, NOBODY, ReadOnlyTabularInline, ScopedModelAdmin, staff_role
from moderation import selectors, services
from moderation.models import Report, ReportedRecognition, ReportReason, ReportStatus, Review
from moderation.serializers import COMMENT_MAX_LENGTH
from peerly.api.exceptions import PeerlyError


def short(text: str, length: int = 80) -> str:
    return text if len(text) <= length else text[: length - 1] + "\u2026"


def link_to_recognition(recognition, view: str = "admin:moderation_reportedrecognition_change") -> str:
    """A link to the recognition's page (in the queue by default), labelled with the start of its text."""
    url = reverse(view, args=[recognition.pk])
    return format_html('<a href="{}">#{} {}</a>', url, recognition.pk, short(recognition.text, 50))


class ReportInline(ReadOnlyTabularInline):
    model = Report
    fields = ["reported_by", "mark_as", "reason", "status", "created_at", "review"]
    organization_lookup = "recognition__organization"
    view_roles = MODERATORS

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        # "open" sorts after "closed": descending puts open reports first.
        return super().get_queryset(request).select_related("reported_by", "review").order_by("-status", "-created_at")


class ReviewInline(ReadOnlyTabularInline):
    model = Review
    fields = ["reviewed_by", "is_inappropriate", "comment", "reviewed_at"]
    organization_lookup = "recognition__organization"
    view_roles = MODERATORS
    verbose_name_plural = "review history"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Review]:
        return super().get_queryset(request).select_related("reviewed_by")


class ReportStatusFilter(admin.SimpleListFilter):
    title = "report status"
    parameter_name = "report_status"

    def lookups(self, request, model_admin):
        return [("open", "Has open reports"), ("closed", "All reports closed")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(has_open_reports=True)
        if self.value() == "closed":
            return queryset.filter(has_open_reports=False)
        return queryset


class MarkAsFilter(admin.SimpleListFilter):
    title = "reported as"
    parameter_name = "mark_as"

    def lookups(self, request, model_admin):
        return ReportReason.choices

    def queryset(self, request, queryset):
        if self.value() in ReportReason.values:
            return queryset.filter(Exists(Report.objects.filter(recognition=OuterRef("pk"), mark_as=self.value())))
        return queryset


class VisibilityFilter(admin.SimpleListFilter):
    title = "visibility"
    parameter_name = "visibility"

    def lookups(self, request, model_admin):
        return [("visible", "Visible"), ("hidden", "Hidden")]

    def queryset(self, request, queryset):
        if self.value() in ("visible", "hidden"):
            return queryset.filter(is_hidden=self.value() == "hidden")
        return queryset


@admin.register(ReportedRecognition)
class ReportedRecognitionAdmin(ScopedModelAdmin):
    """The review queue: recognitions with reports, those with open reports first, newest report first."""

    list_display = [
        "id",
        "short_text",
        "giver",
        "receiver",
        "open_report_count",
        "report_summary",
        "last_reported",
        "visibility",
    ]
    list_display_links = ["id", "short_text"]
    list_filter = [ReportStatusFilter, MarkAsFilter, VisibilityFilter]
    search_fields = ["text", "given_by__email", "given_by__display_name", "given_for__email", "given_for__display_name"]
    fields = ["text", "core_value", "given_by", "given_for", "given_at", "visibility"]
    readonly_fields = fields
    inlines = [ReportInline, ReviewInline]
    list_select_related = ["given_by", "given_for"]
    actions = ["hide_recognitions", "keep_recognitions"]
    view_roles = MODERATORS
    add_roles = change_roles = delete_roles = NOBODY

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReportedRecognition]:
        return selectors.reported_recognitions(super().get_queryset(request)).prefetch_related("reports__reported_by")

    def get_ordering(self, request: HttpRequest):
        return selectors.reported_recognitions_ordering()

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        """The page of one recognition, with a review form (a comment and the two verdicts)."""
        if request.method == "POST" and ("_hide" in request.POST or "_keep" in request.POST):
            return self._review_from_page(request, object_id)
        extra_context = {**(extra_context or {}), "can_review": self.has_moderate_permission(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _review_from_page(self, request: HttpRequest, object_id: str) -> HttpResponseRedirect:
        if not self.has_moderate_permission(request):
            raise PermissionDenied
        recognition = self.get_object(request, unquote(object_id))
        if recognition is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        comment = request.POST.get("review_comment", "").strip()[:COMMENT_MAX_LENGTH]
        is_inappropriate = "_hide" in request.POST
        try:
            services.review_create(
                actor=request.user, recognition=recognition, is_inappropriate=is_inappropriate, comment=comment
            )
        except PeerlyError as error:
            self.message_user(request, f"Not reviewed: {error.message}", messages.ERROR)
            return HttpResponseRedirect(request.path)
        verdict = "hidden" if is_inappropriate else "kept (reports dismissed)"
        self.message_user(request, f"Recognition #{recognition.pk} {verdict}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:moderation_reportedrecognition_changelist"))

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        return staff_role(request) in MODERATORS

    @admin.display(description="text")
    def short_text(self, recognition: ReportedRecognition) -> str:
        return short(recognition.text)

    @admin.display(description="given by", ordering="given_by__display_name")
    def giver(self, recognition: ReportedRecognition) -> str:
        return recognition.given_by.display_name

    @admin.display(description="given for", ordering="given_for__display_name")
    def receiver(self, recognition: ReportedRecognition) -> str:
        return recognition.given_for.display_name

    @admin.display(description="open reports", ordering="open_reports")
    def open_report_count(self, recognition: ReportedRecognition) -> int:
        return recognition.open_reports

    @admin.display(description="reports")
    def report_summary(self, recognition: ReportedRecognition) -> str:
        return format_html_join(
            mark_safe("<br>"),
            "{} — <strong>{}</strong>{}: {}",
            (
                (
                    report.reported_by.display_name,
                    report.get_mark_as_display(),
                    "" if report.status == ReportStatus.OPEN else " (closed)",
                    short(report.reason, 60),
                )
                for report in recognition.reports.all()
            ),
        )

    @admin.display(description="last reported", ordering="last_reported_at")
    def last_reported(self, recognition: ReportedRecognition):
        return recognition.last_reported_at

    @admin.display(description="visibility", ordering="is_hidden")
    def visibility(self, recognition: ReportedRecognition) -> str:
        return "Hidden" if recognition.is_hidden else "Visible"

    def _review(self, request: HttpRequest, queryset: QuerySet, *, is_inappropriate: bool) -> None:
        done, refused = 0, []
        for recognition in queryset:
            try:
                services.review_create(actor=request.user, recognition=recognition, is_inappropriate=is_inappropriate)
            except PeerlyError as error:
                refused.append(f"#{recognition.pk}: {error.message}")
            else:
                done += 1
        verdict = "hidden" if is_inappropriate else "kept (reports dismissed)"
        if done:
            self.message_user(request, f"{done} recognition(s) {verdict}.", messages.SUCCESS)
        if refused:
            self.message_user(request, "Not reviewed: " + "; ".join(refused), messages.WARNING)

    @admin.action(description="Mark inappropriate (hide)", permissions=["moderate"])
    def hide_recognitions(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._review(request, queryset, is_inappropriate=True)

    @admin.action(description="Dismiss reports (keep)", permissions=["moderate"])
    def keep_recognitions(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._review(request, queryset, is_inappropriate=False)


@admin.register(Report)
class ReportAdmin(ScopedModelAdmin):
    """Every report, one per line (read-only; reports are closed by reviewing the recognition)."""

    list_display = ["id", "recognition_link", "reported_by", "mark_as", "short_reason", "status", "created_at"]
    list_filter = ["status", "mark_as"]
    search_fields = ["reason", "reported_by__email", "reported_by__display_name", "recognition__text"]
    fields = ["recognition", "reported_by", "mark_as", "reason", "status", "created_at", "review"]
    readonly_fields = fields
    list_select_related = ["recognition", "reported_by", "review"]
    organization_lookup = "recognition__organization"
    view_roles = MODERATORS
    add_roles = change_roles = delete_roles = NOBODY

    def get_ordering(self, request: HttpRequest):
        return ["-status", "-created_at", "-id"]  # "open" > "closed": open reports first

    @admin.display(description="reason")
    def short_reason(self, report: Report) -> str:
        return short(report.reason)

    @admin.display(description="recognition")
    def recognition_link(self, report: Report) -> str:
        return link_to_recognition(report.recognition)


@admin.register(Review)
class ReviewAdmin(ScopedModelAdmin):
    """The history of moderators' decisions (read-only)."""

    list_display = ["id", "recognition_link", "reviewed_by", "is_inappropriate", "comment", "reviewed_at"]
    list_filter = ["is_inappropriate"]
    search_fields = ["comment", "reviewed_by__email", "recognition__text"]
    fields = ["recognition", "reviewed_by", "is_inappropriate", "comment", "reviewed_at"]
    readonly_fields = fields
    list_select_related = ["recognition", "reviewed_by"]
    organization_lookup = "recognition__organization"
    view_roles = MODERATORS
    add_roles = change_roles = delete_roles = NOBODY

    @admin.display(description="recognition")
    def recognition_link(self, review: Review) -> str:
        # A recognition can be reviewed without reports, so link to its page outside the queue.
        return link_to_recognition(review.recognition, "admin:recognitions_recognition_change")
