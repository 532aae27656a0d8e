"""The OpenAPI schema is complete and valid, and its Swagger UI works without the internet."""

import re

import pytest
import yaml
from django.core.management import call_command


@pytest.fixture(scope="module")
def schema(tmp_path_factory, django_db_blocker):
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    with django_db_blocker.unblock():
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def test_schema_is_valid_and_warning_free(schema):
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/models/" in schema["paths"]


def test_every_operation_documents_its_bodies(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in ("post", "put", "patch"):
                assert "requestBody" in operation, f"{method.upper()} {path} has no request body"
            success = [code for code in operation["responses"] if code.startswith("2")]
            assert success, f"{method.upper()} {path} documents no success response"
            for code in success:
                if code != "204":
                    assert "content" in operation["responses"][code], f"{method.upper()} {path} {code} has no body"


def test_bearer_tokens_are_documented(schema):
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_swagger_ui_is_served_from_our_own_static_files(admin_client):
    page = admin_client.get("/api/docs/").content.decode()
    assert "drf_spectacular_sidecar" in page
    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', page)
    assert external == [], f"Swagger UI must work offline, found {external}"
