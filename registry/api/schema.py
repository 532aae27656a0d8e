"""OpenAPI descriptions that drf-spectacular cannot infer by itself."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "registry.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An Arbiter API token (`arb_...`), created on the API tokens page or with "
            "`manage.py token create`.",
        }
