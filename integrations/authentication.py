from rest_framework.authentication import BaseAuthentication

from integrations import selectors, services
from integrations.keys import looks_like_api_key
from integrations.models import ApiKey
from integrations.scopes import required_scope
from peerly.api.exceptions import AccessDenied, InvalidToken


class ApiKeyPrincipal:
    """`request.user` for a request made with an API key: the organisation acting through the key, not a person.

    It is not a User and has no row: it carries just what selectors scope reads by (`organization_id`)
    and answers False to every role check (`is_super_admin`, `is_org_admin`, `can_moderate`), so
    admin-only and moderation code refuses it. `pk` is None, so it can never be saved as anyone's
    giver, reporter or reviewer. `request.auth` is the ApiKey.
    """

    pk = None
    id = None
    role_id = None
    is_api_key = True
    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_super_admin = False
    is_org_admin = False
    can_moderate = False
    is_staff = False
    is_superuser = False

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.organization_id = api_key.organization_id
        self.organization = api_key.organization

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix}"

    def has_perm(self, perm: str, obj=None) -> bool:
        return False

    def has_module_perms(self, app_label: str) -> bool:
        return False


class ApiKeyAuthentication(BaseAuthentication):
    """`X-API-Key: pk_live_...` or `Authorization: Bearer pk_live_...`; other Bearer values are left to JWT.

    Refuses (401 `invalid_token`) malformed, unknown, revoked and expired keys, an empty X-API-Key and a
    request carrying both an X-API-Key and an Authorization header (present counts, empty or not);
    refuses (403 `access_denied`) a view or method that does not declare a scope the key holds (see
    integrations/scopes.py). Then counts the request in
    the key's usage (refused requests are not counted there).
    """

    keyword = "Bearer"

    def authenticate(self, request):
        secret = self._presented_key(request)
        if secret is None:
            return None
        key = selectors.api_key_for_secret(secret)
        principal = ApiKeyPrincipal(key)
        request._request.peerly_user = principal
        view = (request.parser_context or {}).get("view")
        scope = required_scope(view, request.method) if view is not None else None
        if scope is None:
            raise AccessDenied("API keys cannot use this endpoint")
        if not key.has_scope(scope):
            raise AccessDenied(f"This API key lacks the scope {scope}")
        # Usage (and last_used_at) counts what the key was allowed to call, not refused attempts.
        services.api_key_usage_record(key=key)
        return principal, key

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) to a request without credentials.
        return f'{self.keyword} realm="peerly"'

    @staticmethod
    def _presented_key(request) -> str | None:
        # A header that is present is a credential, empty or not: an empty one is invalid, not absent.
        if "HTTP_X_API_KEY" in request.META and "HTTP_AUTHORIZATION" in request.META:
            raise InvalidToken("Send either X-API-Key or Authorization, not both")
        if "HTTP_X_API_KEY" in request.META:
            header_key = request.META["HTTP_X_API_KEY"].strip()
            if not header_key:
                raise InvalidToken("The X-API-Key header is empty")
            return header_key
        authorization = request.META.get("HTTP_AUTHORIZATION", "").strip()
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if scheme.lower() == "bearer" and looks_like_api_key(credential):
            return credential
        return None
