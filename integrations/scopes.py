"""Which API-key scope a view needs: the one mechanism that opens an endpoint to API keys.

A view declares `api_key_scopes`: ViewSets per action (`{"list": "users:read", "retrieve": "users:read"}`),
plain APIViews per HTTP method (`{"POST": "users:sync"}`; HEAD counts as GET). Anything not declared is
closed to API keys (403 `access_denied`), so a new endpoint never becomes reachable with a key by accident.
The check runs in `ApiKeyAuthentication`, before any permission class, so a view that overrides
`permission_classes` cannot open itself to keys without declaring a scope.
"""

from integrations.models import ApiKeyScope


def required_scope(view, method: str) -> str | None:
    """The scope a key needs for this view and method, or None when keys may not call it at all."""
    from rest_framework.viewsets import ViewSetMixin  # imported late: DRF's settings import this module

    declared: dict[str, str] = getattr(view, "api_key_scopes", None) or {}
    if isinstance(view, ViewSetMixin):  # a ViewSet: declared per action, so `GET /users/me` is not `GET /users`
        scope = declared.get(getattr(view, "action", None) or "")
    else:
        scope = declared.get("GET" if method.upper() == "HEAD" else method.upper())
    return scope if scope in ApiKeyScope.values else None
