"""The back office's second factor: what a password sign-in must pass before any admin page opens.

With PEERLY_STAFF_TOTP_REQUIRED (on whenever debug is off) a session opened with a password is
"pending" until it presents a TOTP code from the staff member's authenticator app, or one of their
one-use recovery codes (django-otp marks the session verified). Sessions opened by the Google sign-in
are not pending: the Google Workspace's own policy (its 2-step verification) applies to them.

The pages are accounts/two_factor_views.py; the rules that change state (enrol, verify, reset) are in
accounts.services. This module holds the pure parts: the pending check, recovery code format and
hashing, and the enrolment QR code.
"""

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.http import HttpRequest
from django.utils.safestring import SafeString, mark_safe

GOOGLE_BACKOFFICE_BACKEND = "accounts.backends.GoogleBackOfficeBackend"

RECOVERY_CODE_COUNT = 10
# 31 letters and digits with the look-alikes (0/o, 1/l/i) left out; 10 of them carry ~49 bits.
RECOVERY_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 10


def second_factor_pending(request: HttpRequest) -> bool:
    """True while a signed-in session still owes its second factor (and may open no admin page)."""
    if not settings.PEERLY_STAFF_TOTP_REQUIRED:
        return False
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    # Every backend but Google's is a password (an unknown one too: it must not skip the factor).
    if request.session.get(BACKEND_SESSION_KEY) == GOOGLE_BACKOFFICE_BACKEND:
        return False
    # django-otp's middleware gives request.user `is_verified`; a user just signed in by login() has
    # none yet, and is not verified.
    is_verified = getattr(user, "is_verified", None)
    return not (is_verified is not None and is_verified())


def recovery_codes_generate() -> list[str]:
    """Fresh recovery codes, as shown to the staff member once: `abcde-fghjk`."""
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        code = "".join(secrets.choice(RECOVERY_CODE_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        codes.append(f"{code[:5]}-{code[5:]}")
    return codes


def recovery_code_normalise(code: str) -> str:
    """What a person typed, as stored: case, spaces and dashes do not matter."""
    return "".join(ch for ch in str(code).lower() if ch not in " -\t")


def recovery_code_hash(code: str) -> str:
    """The stored form of a recovery code. The codes are random (not chosen by people), so one round
    of SHA-256 is enough: the table reveals nothing an attacker could use."""
    return hashlib.sha256(recovery_code_normalise(code).encode()).hexdigest()


def is_totp_code(code: str) -> bool:
    code = str(code).replace(" ", "")
    return len(code) == 6 and code.isascii() and code.isdigit()


def qr_code_svg(data: str) -> SafeString:
    """An inline <svg> of `data` as a QR code: no image request, no script, nothing the CSP refuses.
    Safe to put in a page as it is: qrcode writes only rectangles and paths, never `data` itself."""
    import qrcode  # only the enrolment page draws one (accounts.models imports this module in every process)
    import qrcode.image.svg

    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=16, border=4)
    return mark_safe(image.to_string(encoding="unicode"))  # noqa: S308 (markup of qrcode's own making)
