"""`Idempotency-Key` on POSTs: a retried request gets the first answer and writes nothing again.

A view opts in by decorating its handler with `@idempotent` (the OpenAPI schema then declares the header
and the 409/422 answers). Without the header, nothing changes. With it, in ONE transaction:

1. the key is claimed: a row `IdempotencyRecord(user, key)` is inserted under a unique constraint. A
   concurrent request with the same key blocks on that unique index until the first one's transaction ends
   (at most `PEERLY_IDEMPOTENCY_WAIT_SECONDS`, then 409 `idempotency_in_progress`), then finds its row;
2. a key already answered is replayed: the stored status and body, with `Idempotent-Replayed: true`, and
   the view is not run. The same key with another body, endpoint or object is 422 `idempotency_key_reused`;
3. otherwise the view runs (in a savepoint) and its answer is stored in the claimed row.

The claim, the view's writes and the stored answer commit together or not at all, so a crash never leaves
"spent but no record" nor "record but not spent". Every answer below 500 is stored and replayed, business
errors included (as Stripe does: a key names one attempt; send a new key to try again). A 5xx is not
stored: the transaction is rolled back, claim included, so a retry runs afresh. Keys belong to the caller
(two users may use the same string) and expire after `PEERLY_IDEMPOTENCY_TTL_SECONDS`; an expired key is
used afresh. `manage.py purge_idempotency_keys` deletes expired rows.
"""

import functools
import hashlib
import json
import re
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from peerly.api.exceptions import Conflict, InvalidData, RuleViolation

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# 1-255 printable ASCII characters; spaces only inside (HTTP servers strip them at either end).
KEY_PATTERN = r"^[\x21-\x7e]([\x20-\x7e]{0,253}[\x21-\x7e])?$"
_KEY = re.compile(KEY_PATTERN)
# PostgreSQL's lock_not_available: lock_timeout expired while waiting for the first request.
_LOCK_NOT_AVAILABLE = "55P03"


class IdempotencyKeyReused(RuleViolation):
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was used for another request; send a new key for a new request"


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"
    message = "The first request with this Idempotency-Key is still running; retry in a moment"


def idempotent(handler: Callable) -> Callable:
    """Decorates a view handler (`create`, or an `@action` answering POST) to honour `Idempotency-Key` on POST."""

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        if request.method != "POST" or KEY_HEADER not in request.headers:
            return handler(view, request, *args, **kwargs)
        key = _valid_key(request.headers[KEY_HEADER])
        target = f"{request.method} {request.path.rstrip('/') or '/'}"
        fingerprint = request_fingerprint(request.data)
        with transaction.atomic():
            record = _claim(user=request.user, key=key, target=target, fingerprint=fingerprint)
            if record.status_code is not None:
                return _replay(record)
            try:
                with transaction.atomic():
                    response = handler(view, request, *args, **kwargs)
            except Exception as exc:
                # Rendered here, as DRF would, so that a business error is stored with the claim.
                response = view.handle_exception(exc)
            if response.status_code >= 500:
                transaction.set_rollback(True)  # the claim goes too: a retry runs afresh
                return response
            record.status_code = response.status_code
            record.response_body = _envelope_text(response)
            record.save(update_fields=["status_code", "response_body"])
        return response

    wrapper.idempotent = True
    return wrapper


def is_idempotent(handler: Any) -> bool:
    return bool(getattr(handler, "idempotent", False))


def request_fingerprint(data: Any) -> str:
    """sha256 of the body as canonical JSON (sorted keys, no whitespace): key order and spacing do not count."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _valid_key(value: str) -> str:
    if not _KEY.match(value):
        raise InvalidData(fields={KEY_HEADER: "Must be 1 to 255 printable ASCII characters (a UUID is a good key)"})
    return value


def _claim(*, user: Any, key: str, target: str, fingerprint: str):
    """The locked record of (user, key): a new one (status_code None) to complete, or a completed one to replay."""
    from peerly.models import IdempotencyRecord  # models load after this module's importers (the schema)

    now = timezone.now()
    fresh = {
        "request_target": target,
        "request_fingerprint": fingerprint,
        "status_code": None,
        "response_body": "",
        "created_at": now,
        "expires_at": now + timedelta(seconds=settings.PEERLY_IDEMPOTENCY_TTL_SECONDS),
    }
    with _bounded_lock_wait():
        for _attempt in range(3):
            try:
                with transaction.atomic():
                    return IdempotencyRecord.objects.create(user=user, key=key, **fresh)
            except IntegrityError:
                pass  # taken, and its transaction has ended: read it
            record = IdempotencyRecord.objects.select_for_update().filter(user=user, key=key).first()
            if record is None:
                continue  # purged between the two statements: claim again
            if _expired(record, now):
                for name, value in fresh.items():
                    setattr(record, name, value)
                record.save()
                return record
            if record.request_target != target:
                raise IdempotencyKeyReused(f"This Idempotency-Key was used for {record.request_target}")
            if record.request_fingerprint != fingerprint:
                raise IdempotencyKeyReused("This Idempotency-Key was used with another request body")
            return record
    raise IdempotencyInProgress()


def _expired(record: Any, now: datetime) -> bool:
    return record.expires_at <= now


@contextmanager
def _bounded_lock_wait():
    """Waits for the first request's transaction at most PEERLY_IDEMPOTENCY_WAIT_SECONDS, then 409.

    Only around the claim: the view's own statements keep the server's lock timeout.
    """
    milliseconds = max(1, int(settings.PEERLY_IDEMPOTENCY_WAIT_SECONDS * 1000))  # 0 would mean "forever"
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{milliseconds}ms"])
    try:
        yield
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
            raise IdempotencyInProgress() from None
        raise
    # Not reached after an error: the transaction is rolled back, and the setting with it.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout TO DEFAULT")


def _envelope_text(response: Response) -> str:
    """The JSON of the whole body as the renderer sends it: errors arrive enveloped, successes get {"data": ...}."""
    body = response.data
    if not getattr(response, "peerly_enveloped", False) and response.status_code < 400:
        body = {"data": body}
    return json.dumps(body, cls=JSONEncoder, ensure_ascii=True)  # escaped: PostgreSQL text holds no NUL


def _replay(record: Any) -> Response:
    response = Response(json.loads(record.response_body), status=record.status_code, headers={REPLAYED_HEADER: "true"})
    response.peerly_enveloped = True
    return response
