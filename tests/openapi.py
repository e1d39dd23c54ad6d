"""The project's own OpenAPI schema as a test oracle: every operation, its parameters and request body.

Tests that iterate over `operations()` cover endpoints added later without being edited.
"""

import functools
import re
from dataclasses import dataclass
from typing import Any

from drf_spectacular.generators import SchemaGenerator

PARAM = re.compile(r"\{([^}]+)\}")


@functools.cache
def api_schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def path_params(self) -> list[str]:
        return PARAM.findall(self.path)

    @property
    def query_params(self) -> list[dict[str, Any]]:
        return [p for p in self.spec.get("parameters", []) if p["in"] == "query"]

    @property
    def body_schema(self) -> dict[str, Any] | None:
        content = self.spec.get("requestBody", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema")
        return resolve(schema) if schema else None

    @property
    def public(self) -> bool:
        return self.spec.get("security") == [{}] or {} in self.spec.get("security", [])

    def url(self, **values: str) -> str:
        return PARAM.sub(lambda m: values[m.group(1)], self.path)


def operations() -> list[Operation]:
    return [
        Operation(method.upper(), path, spec)
        for path, item in api_schema()["paths"].items()
        for method, spec in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def resolve(node: Any) -> Any:
    """Follow a `$ref` into components (one level at a time, as needed)."""
    while isinstance(node, dict) and "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = api_schema()["components"]["schemas"][name]
    return node


def plausible(node: Any) -> Any:
    """A value that passes the schema's types and formats, to get past validation into the code."""
    node = resolve(node)
    for combinator in ("allOf", "oneOf", "anyOf"):
        if combinator in node:
            return plausible(node[combinator][0])
    if "enum" in node:
        return next(value for value in node["enum"] if value is not None)
    kind = node.get("type", "object")
    if kind == "string":
        formats = {
            "uri": "https://example.com/a.png",
            "email": "someone@example.com",
            "date-time": "2030-01-01T00:00:00Z",
            "date": "2030-01-01",
        }
        if node.get("format") in formats:
            return formats[node["format"]]
        if node.get("pattern", "").startswith("^[0-9]"):
            return "1"
        return "x" * max(node.get("minLength", 1), 1)
    if kind == "integer":
        return max(node.get("minimum", 1), 1)
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    if kind == "array":
        return [plausible(node.get("items", {"type": "string"}))] * max(node.get("minItems", 1), 1)
    return {
        name: plausible(prop)
        for name, prop in node.get("properties", {}).items()
        if not resolve(prop).get("readOnly") and not prop.get("readOnly")
    }
