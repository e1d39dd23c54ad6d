"""Version selection by Accept header: application/vnd.peerly.v<N>[+json]."""

import re

from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.versioning import AcceptHeaderVersioning

from peerly.api.renderers import EnvelopeJSONRenderer

NEWEST_VERSION = "1"
SUPPORTED_VERSIONS = frozenset({"1"})
VENDOR_TYPE = re.compile(r"^application/vnd\.peerly(?:\.v(?P<version>[^+;\s]*))?(?:\+json)?$", re.IGNORECASE)


class UnsupportedVersion(NotAcceptable):
    peerly_code = "unsupported_version"


def requested_version(accept_header: str) -> str | None:
    """The version named in an Accept header, or None when it names no Peerly version."""
    for part in accept_header.split(","):
        media_type = part.split(";", 1)[0].strip()
        match = VENDOR_TYPE.match(media_type)
        if match:
            return match.group("version") or NEWEST_VERSION
    return None


class _VendorAsJsonNegotiation(DefaultContentNegotiation):
    def get_accept_list(self, request):
        return [
            "application/json" if VENDOR_TYPE.match(item.split(";", 1)[0].strip()) else item
            for item in super().get_accept_list(request)
        ]


class VendorContentNegotiation(BaseContentNegotiation):
    """Every API response is JSON; an Accept naming an unknown Peerly version is refused."""

    def select_parser(self, request, parsers):
        content_type = request.content_type.split(";", 1)[0].strip().lower()
        for parser in parsers:
            if content_type == parser.media_type:
                return parser
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        version = requested_version(request.META.get("HTTP_ACCEPT", ""))
        if version is not None and version not in SUPPORTED_VERSIONS:
            raise UnsupportedVersion(
                f"API version {version!r} is not supported; use application/vnd.peerly.v{NEWEST_VERSION}"
            )
        if not isinstance(renderers[0], EnvelopeJSONRenderer):
            # Views with renderers of their own (the OpenAPI schema as YAML or JSON) negotiate as usual,
            # the vendor type reading as JSON.
            return _VendorAsJsonNegotiation().select_renderer(request, renderers, format_suffix)
        return renderers[0], renderers[0].media_type


class VendorMediaTypeVersioning(AcceptHeaderVersioning):
    """request.version from the vendor media type (subclassing AcceptHeaderVersioning keeps OpenAPI tooling happy)."""

    def determine_version(self, request, *args, **kwargs):
        return requested_version(request.META.get("HTTP_ACCEPT", "")) or NEWEST_VERSION
