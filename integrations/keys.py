"""The shape of an API key secret: `pk_live_<43 URL-safe characters>`.

Only a hash of the secret is stored. SHA-256 (not a slow password hash such as PBKDF2 or argon2) is
deliberate: the secret is 256 random bits from `secrets.token_urlsafe(32)`, so there is no dictionary
or brute-force attack for a slow hash to slow down, and a fast hash keeps authenticating every
request cheap. The first characters after `pk_live_` are stored in clear as a lookup prefix, so a
key is found by an indexed lookup (then compared in constant time) and a leaked key can be
identified and revoked from its beginning alone.
"""

import hashlib
import re
import secrets

KEY_PREFIX = "pk_live_"
LOOKUP_CHARS = 12
# token_urlsafe(32): 32 random bytes as unpadded URL-safe base64 = 43 characters.
KEY_PATTERN = re.compile(rf"^{KEY_PREFIX}[A-Za-z0-9_-]{{43}}$")


def key_generate() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def key_lookup_prefix(secret: str) -> str:
    """The non-secret, unique beginning of a key, e.g. `pk_live_AbCdEfGhIjKl`."""
    return secret[: len(KEY_PREFIX) + LOOKUP_CHARS]


def key_is_well_formed(secret: str) -> bool:
    return bool(KEY_PATTERN.match(secret))


def looks_like_api_key(credential: str) -> bool:
    return credential.startswith(KEY_PREFIX)
