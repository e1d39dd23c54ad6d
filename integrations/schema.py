"""OpenAPI: API keys, listed only on the operations whose view declares a scope for them."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from integrations.scopes import required_scope


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "integrations.authentication.ApiKeyAuthentication"
    name = ["apiKeyHeader", "apiKeyBearer"]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-API-Key",
                "description": "An organisation's API key (`pk_live_...`), for server-to-server integrations.",
            },
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "pk_live_...",
                "description": "The same API key sent as `Authorization: Bearer pk_live_...`.",
            },
        ]

    def get_security_requirement(self, auto_schema):
        if required_scope(auto_schema.view, auto_schema.method) is None:
            return None
        return [{"apiKeyHeader": []}, {"apiKeyBearer": []}]
