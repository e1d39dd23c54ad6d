"""Peerly's own URLs plus the benchmark's floor; used only with `DJANGO_SETTINGS_MODULE=bench.settings`."""

from django.urls import path

from bench.floor import feed_floor
from peerly.urls import urlpatterns as peerly_urlpatterns

urlpatterns = [path("bench/floor", feed_floor, name="bench-floor"), *peerly_urlpatterns]
