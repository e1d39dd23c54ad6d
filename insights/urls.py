from django.urls import re_path

from accounts.views import ID_PATTERN
from insights import views

urlpatterns = [
    re_path(r"^insights/summary/?$", views.SummaryView.as_view(), name="insights-summary"),
    re_path(r"^insights/timeline/?$", views.TimelineView.as_view(), name="insights-timeline"),
    re_path(r"^insights/leaderboard/?$", views.LeaderboardView.as_view(), name="insights-leaderboard"),
    re_path(r"^recognitions/export/?$", views.RecognitionExportView.as_view(), name="recognition-export"),
    re_path(r"^users/me/stats/?$", views.MemberStatsView.as_view(), name="my-stats"),
    re_path(rf"^users/(?P<pk>{ID_PATTERN})/stats/?$", views.MemberStatsView.as_view(), name="member-stats"),
]
