from typing import Any

from rest_framework.renderers import JSONRenderer


class EnvelopeJSONRenderer(JSONRenderer):
    """Wraps a successful body in {"data": ...}.

    Errors (from the exception handler) and paginated lists (from the paginator)
    arrive already enveloped and are marked so, and pass through untouched.
    """

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: dict | None = None):
        response = (renderer_context or {}).get("response")
        if response is not None and not getattr(response, "peerly_enveloped", False) and response.status_code < 400:
            data = {"data": data}
        return super().render(data, accepted_media_type, renderer_context)
