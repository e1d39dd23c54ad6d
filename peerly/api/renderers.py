import re
from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

# orjson writes datetimes, dates and times itself unless passed through: through DRF's encoder instead, so
# they read exactly as before (`...Z` for UTC); dataclasses too (DRF refuses them: so do we, below).
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_DRF_DEFAULT = JSONEncoder().default
# Where orjson and Python's json write a float differently: below 1e-4, which Python writes with an
# exponent (`1e-05`, `2.5e-07`) and orjson as `0.00001` or `2.5e-7`.
_SMALL_FLOAT = re.compile(rb"[0-9]e-[0-9]|(?<![0-9.])0\.0000[0-9]")


class EnvelopeJSONRenderer(JSONRenderer):
    """Wraps a successful body in {"data": ...}.

    Errors (from the exception handler) and paginated lists (from the paginator)
    arrive already enveloped and are marked so, and pass through untouched.

    The JSON is written by orjson, about ten times faster than the json module on a feed page, and byte for
    byte as DRF's JSONRenderer writes it (compact, UTF-8, U+2028/U+2029 escaped, dates, Decimals and lazy
    strings through DRF's encoder; peerly/tests/test_renderer.py compares the two). Whatever orjson would
    write differently or refuses (a small float's exponent, an integer beyond 64 bits, a value neither
    knows) goes to DRF's renderer, which then answers or fails exactly as before.
    """

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: dict | None = None):
        response = (renderer_context or {}).get("response")
        if response is not None and not getattr(response, "peerly_enveloped", False) and response.status_code < 400:
            data = {"data": data}
        if data is None or self.get_indent(accepted_media_type, renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            rendered = orjson.dumps(data, default=_DRF_DEFAULT, option=_ORJSON_OPTIONS)
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            return super().render(data, accepted_media_type, renderer_context)
        if (b"e-" in rendered or b"0.0000" in rendered) and _SMALL_FLOAT.search(rendered):
            return super().render(data, accepted_media_type, renderer_context)
        if b"\xe2\x80\xa8" in rendered or b"\xe2\x80\xa9" in rendered:
            # As DRF does: JSON that is also a strict subset of JavaScript.
            rendered = rendered.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
        return rendered
