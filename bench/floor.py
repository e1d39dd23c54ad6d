"""The floor the feed is measured against: the feed's own SQL and nothing else.

A bare Django view (no DRF, no token, no serializer): the same two queries as `GET /recognitions` runs for
its data, built by the same selector (the exact total from the counters, then the one page query), read
with `.values()` and answered with `JsonResponse`. What the API costs above it is authentication, DRF and
rendering. Mounted only by `bench/urls.py`.
"""

from django.http import HttpRequest, JsonResponse

from accounts.models import Role, User
from peerly.api.pagination import MAX_LIMIT
from recognitions.selectors import recognition_feed


def feed_floor(request: HttpRequest) -> JsonResponse:
    """`GET /bench/floor?org=ID[&offset=N&limit=N]`: one organisation's feed page as plain values."""
    offset = int(request.GET.get("offset", 0))
    limit = min(int(request.GET.get("limit", 10)), MAX_LIMIT)
    # An unsaved member of the organisation: the selector only reads its organisation and role.
    feed = recognition_feed(actor=User(organization_id=int(request.GET["org"]), role_id=Role.EMPLOYEE))
    total = feed.count()
    rows = feed.page(offset=offset, limit=limit, total=total)
    following = feed.keyset.cursor(rows[-1]) if rows and offset + len(rows) < total else None
    return JsonResponse({"data": rows, "meta": {"total": total, "limit": limit, "offset": offset, "next": following}})
