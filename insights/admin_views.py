"""The back office's Insights page: the API's insights for organisation admins (super admins pick an
organisation), with server-rendered SVG charts (insights/charts.py) and the exports as downloads.
Moderators have no access (403)."""

import re
from datetime import date
from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accounts.models import ADMIN_ROLES, Organization
from insights import charts, export, selectors
from insights.periods import Period, period_of
from peerly.api.exceptions import InvalidData

TOP = 10


def _organization(request: HttpRequest) -> Organization | None:
    """The organisation the page is about; None for a super admin who has not picked one."""
    user = request.user
    if user.role_id not in ADMIN_ROLES:
        raise PermissionDenied
    if user.is_super_admin:
        org_id = request.GET.get("org_id", "")
        if re.fullmatch(r"[0-9]{1,18}", org_id):
            return Organization.objects.filter(pk=int(org_id)).first()
        return user.organization
    return user.organization


def _period(request: HttpRequest, organization: Organization) -> tuple[Period, str]:
    """The period picked (the last 30 days by default), and what was wrong with the one asked for."""
    try:
        first_day = date.fromisoformat(request.GET["from"]) if request.GET.get("from") else None
        last_day = date.fromisoformat(request.GET["to"]) if request.GET.get("to") else None
        return period_of(organization, first_day=first_day, last_day=last_day), ""
    except (ValueError, OverflowError):
        problem = "Dates are YYYY-MM-DD."
    except InvalidData as error:
        problem = " ".join(f"{name}: {reason}" for name, reason in (error.fields or {}).items())
    return period_of(organization, first_day=None, last_day=None), f"{problem} Showing the last 30 days."


def _change(current: int | float, previous: int | float) -> str:
    if previous == 0:
        return "new" if current else "±0"
    percent = round((current - previous) * 100 / previous)
    return f"+{percent}%" if percent > 0 else f"{percent}%" if percent < 0 else "±0%"


def _interval(period: Period) -> str:
    days = (period.last_day - period.first_day).days + 1
    return "day" if days <= 62 else "week" if days <= 731 else "month"


def dashboard(request: HttpRequest) -> HttpResponse:
    organization = _organization(request)
    context = {
        **admin.site.each_context(request),
        "title": "Insights",
        "organization": organization,
        "organizations": Organization.objects.order_by("name") if request.user.is_super_admin else None,
    }
    if organization is None:
        return TemplateResponse(request, "admin/insights/dashboard.html", context)
    period, problem = _period(request, organization)
    summary = selectors.insights_summary(organization, period)
    previous = summary["previous"]
    interval = _interval(period)
    timeline = selectors.insights_timeline(organization, period, interval)
    values = summary["by_core_value"]
    tiles = [
        (label, summary[key], _change(summary[key], previous[key]))
        for label, key in (
            ("Recognitions", "recognitions"),
            ("Hi5s", "hi5s"),
            ("Givers", "givers"),
            ("Receivers", "receivers"),
        )
    ]
    rate, previous_rate = summary["participation_rate"], previous["participation_rate"]
    tiles.append(("Participation", f"{rate:.0%}", _change(round(rate * 100), round(previous_rate * 100))))
    query = {"from": period.first_day.isoformat(), "to": period.last_day.isoformat()}
    if request.user.is_super_admin:
        query["org_id"] = str(organization.pk)
    context.update(
        {
            "period": period,
            "problem": problem,
            "summary": summary,
            "tiles": tiles,
            "interval": interval,
            "timeline": timeline,
            "timeline_chart": charts.column_chart(
                chart_id="timeline",
                title=f"Recognitions per {interval}, {period.first_day} to {period.last_day}",
                labels=[point["start"].isoformat() for point in timeline],
                values=[point["recognitions"] for point in timeline],
            ),
            "values_chart": charts.bar_chart(
                chart_id="core-values",
                title="Recognitions per core value",
                labels=[value["text"] for value in values],
                values=[value["count"] for value in values],
            ),
            "receivers": selectors.insights_leaderboard(
                organization, period, by="received", core_value_id=None, limit=TOP
            ),
            "givers": selectors.insights_leaderboard(organization, period, by="given", core_value_id=None, limit=TOP),
            "query": urlencode(query),
        }
    )
    return TemplateResponse(request, "admin/insights/dashboard.html", context)


def download(request: HttpRequest) -> HttpResponse:
    """The export of the page's period (CSV or XLSX), for the signed-in admin."""
    organization = _organization(request)
    if organization is None:
        raise PermissionDenied
    period, problem = _period(request, organization)
    file_format = request.GET.get("format", "csv")
    if problem or file_format not in ("csv", "xlsx"):
        return HttpResponse("Choose a valid period and format=csv or format=xlsx.", status=400)
    try:
        return export.export_response(organization, period, file_format)
    except InvalidData as error:  # more rows than a spreadsheet holds
        return HttpResponse(" ".join((error.fields or {}).values()), status=400, content_type="text/plain")
