import io

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework.parsers import BaseParser

from peerly.api.parsers import StrictJSONParser


class SyncBatchJSONParser(BaseParser):
    """JSON up to PEERLY_SYNC_MAX_BODY_BYTES, for a batch of 1,000 employees (larger than PEERLY_MAX_BODY_BYTES).

    Not a JSONParser subclass on purpose: DRF reads `request.body` (capped by DATA_UPLOAD_MAX_MEMORY_SIZE)
    for those; this one reads the stream itself, one byte past its own limit, then parses as usual.
    """

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.PEERLY_SYNC_MAX_BODY_BYTES
        request = (parser_context or {}).get("request")
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else limit + 1
        except ValueError:
            declared = 0
        if declared > limit:
            raise RequestDataTooBig(f"The body is over {limit} bytes")
        # Never read past the declared length (chunked bodies without one are refused by the middleware).
        body = stream.read(min(declared, limit + 1)) if stream is not None else b""
        if len(body) > limit:
            raise RequestDataTooBig(f"The body is over {limit} bytes")
        return StrictJSONParser().parse(io.BytesIO(body), media_type, parser_context)
