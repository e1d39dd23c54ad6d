import functools
from datetime import UTC, datetime

from django.db import connection
from rest_framework_simplejwt.authentication import JWTAuthentication

from accounts.models import Organization, User
from accounts.tokens import token_decode
from peerly.api.exceptions import InvalidToken


class PeerlyJWTAuthentication(JWTAuthentication):
    """`Authorization: Bearer <jwt>`; the user, their role and revocations are read from the database."""

    www_authenticate_realm = "peerly"

    def authenticate(self, request):
        header = self.get_header(request)
        if header is None:
            return None
        raw_token = self.get_raw_token(header)
        if raw_token is None:
            raise InvalidToken()
        payload = token_decode(raw_token)
        user = self.user_for_payload(payload)
        request._request.peerly_user = user
        return user, payload

    @staticmethod
    def user_for_payload(payload: dict) -> User:
        user, token_revoked = _user_and_revocation(user_id=int(payload["sub"]), jti=payload["jti"])
        if user is None or token_revoked or not user.is_active:
            raise InvalidToken()
        issued_at = datetime.fromtimestamp(payload["iat"], tz=UTC)
        if user.tokens_valid_after is not None and issued_at < user.tokens_valid_after:
            raise InvalidToken()
        return user


@functools.cache
def _user_and_revocation_sql() -> str:
    """The one query of every authenticated request, written once from the models' columns.

    It runs on every request, and having the ORM build it each time (select_related plus an EXISTS
    annotation) cost about four times as long as PostgreSQL took to answer it (see BENCHMARKS.md).
    """
    quote = connection.ops.quote_name
    user_columns = ", ".join(f"u.{quote(field.column)}" for field in User._meta.concrete_fields)
    organization_columns = ", ".join(f"o.{quote(field.column)}" for field in Organization._meta.concrete_fields)
    # Identifiers only come from the models; the values are bound parameters. The organisation's member
    # directory version rides along (accounts.selectors.member_search: the answers it may reuse), unless this
    # transaction has written already: PostgreSQL moves the version when a change commits
    # (accounts/migrations/0007), so a transaction that changed members would see them under the version
    # everyone else still reads (NULL: its member search reads the database, and caches nothing).
    return (
        f"SELECT {user_columns}, {organization_columns}, "  # noqa: S608
        'EXISTS (SELECT 1 FROM "accounts_revokedtoken" r WHERE r."jti" = %s AND r."user_id" = u."id"), '
        "CASE WHEN txid_current_if_assigned() IS NULL THEN "
        'COALESCE((SELECT d."version" FROM "accounts_memberdirectoryversion" d '
        'WHERE d."organization_id" = u."organization_id"), 0) END '
        'FROM "accounts_user" u LEFT OUTER JOIN "accounts_organization" o ON o."id" = u."organization_id" '
        'WHERE u."id" = %s'
    )


def _user_and_revocation(*, user_id: int, jti: str) -> tuple[User | None, bool]:
    """The user (with their organisation and its member directory version, in
    `user.member_directory_version`) and whether this token was revoked, in one query."""
    with connection.cursor() as cursor:
        cursor.execute(_user_and_revocation_sql(), [jti, user_id])
        row = cursor.fetchone()
    if row is None:
        return None, False
    user_fields, organization_fields = User._meta.concrete_fields, Organization._meta.concrete_fields
    user = User.from_db(connection.alias, [field.attname for field in user_fields], row[: len(user_fields)])
    organization_row = row[len(user_fields) : len(user_fields) + len(organization_fields)]
    if organization_row[0] is not None:
        user.organization = Organization.from_db(
            connection.alias, [field.attname for field in organization_fields], organization_row
        )
    user.member_directory_version = row[-1] if user.organization_id is not None else None
    return user, row[-2]
