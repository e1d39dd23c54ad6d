from datetime import UTC, datetime

from django.db.models import Exists, OuterRef
from rest_framework_simplejwt.authentication import JWTAuthentication

from accounts.models import RevokedToken, User
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
        user = (
            User.objects.select_related("organization")
            .annotate(token_revoked=Exists(RevokedToken.objects.filter(jti=payload["jti"], user=OuterRef("pk"))))
            .filter(pk=int(payload["sub"]))
            .first()
        )
        if user is None or user.token_revoked or not user.is_active:
            raise InvalidToken()
        issued_at = datetime.fromtimestamp(payload["iat"], tz=UTC)
        if user.tokens_valid_after is not None and issued_at < user.tokens_valid_after:
            raise InvalidToken()
        return user
