from django.urls import re_path

from accounts.views import ID_PATTERN
from moderation import views

# Paths exactly as the contract, a trailing slash tolerated, never a redirect.
urlpatterns = [
    re_path(
        rf"^recognitions/(?P<recognition_id>{ID_PATTERN})/report/?$",
        views.ReportCreateView.as_view(),
        name="recognition-report",
    ),
    re_path(
        rf"^recognitions/(?P<recognition_id>{ID_PATTERN})/review/?$",
        views.ReviewCreateView.as_view(),
        name="recognition-review",
    ),
    re_path(r"^reports/?$", views.ReportListView.as_view(), name="report-list"),
]
