from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 32


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of a parsed JSON value, stopping once past limit."""
    depth, level = 0, [value]
    while level:
        depth += 1
        if depth > limit:
            return depth
        nxt: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                nxt.extend(item.values())
            elif isinstance(item, list):
                nxt.extend(item)
        level = nxt
    return depth - 1


class StrictJSONParser(JSONParser):
    """JSON bodies only; rejects absurd nesting and non-object top-level values early."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON nested too deeply") from None
        if _depth(data, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
            raise ParseError("JSON nested too deeply")
        if not isinstance(data, dict):
            raise ParseError("The request body must be a JSON object")
        return data
