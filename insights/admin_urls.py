"""The back office's Insights page, under /admin/insights/ (before the admin's catch-all: peerly/urls.py)."""

from django.contrib import admin
from django.urls import path

from insights import admin_views

urlpatterns = [
    path("", admin.site.admin_view(admin_views.dashboard), name="admin-insights"),
    path("export/", admin.site.admin_view(admin_views.download), name="admin-insights-export"),
]
