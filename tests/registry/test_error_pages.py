"""Error answers: the app's own 404 and 500 pages in the browser, the API's JSON error shape under /api/ and
MLflow's under /api/2.0/, whatever failed (issue 14.7 and 14.12)."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.decorators import login_not_required
from django.test import Client
from django.urls import include, path

from config import urls as project_urls
from registry import services
from tests.conftest import bearer

ROOT = Path(__file__).resolve().parent.parent.parent


@login_not_required
def _fail(request):
    raise RuntimeError("an unexpected bug")


# A URL configuration with views that fail, under the API and the MLflow API and in the browser.
urlpatterns = [
    path("api/v1/boom/", _fail),
    path("api/2.0/mlflow/boom", _fail),
    path("boom/", _fail),
    path("", include(project_urls)),
]
handler404 = project_urls.handler404
handler500 = project_urls.handler500


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_unmatched_api_urls_answer_the_api_error_shape(db, api, owner, method):
    for client_setup in (lambda: None, lambda: api.force_login(owner)):
        client_setup()
        response = getattr(api, method)("/api/v1/no-such-thing/", {}, format="json")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        error = response.json()["error"]
        assert error["code"] == "not_found" and "/api/v1/no-such-thing/" in error["message"]
        assert error["fields"] == {}


def test_unmatched_mlflow_urls_answer_mlflow_s_shape(db, api, owner):
    _, secret = services.token_create(actor=owner, user=owner, name="pipeline", scopes=["read"])
    api.credentials(**bearer(secret))
    for url in ("/api/2.0/mlflow/registered-models/creat", "/api/2.0/mlflow/experiments/list", "/api/2.0/nothing"):
        response = api.post(url, {}, format="json")
        assert response.status_code == 404
        body = response.json()
        assert body["error_code"] == "ENDPOINT_NOT_FOUND" and url in body["message"]
        assert set(body) == {"error_code", "message"}


def test_wrong_methods_answer_405_in_each_api_s_shape(db, api, owner):
    _, secret = services.token_create(actor=owner, user=owner, name="pipeline", scopes=["write"])
    api.credentials(**bearer(secret))
    response = api.put("/api/v1/models/", {}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (405, "method_not_allowed")
    response = api.delete("/api/2.0/mlflow/registered-models/search")
    assert (response.status_code, response.json()["error_code"]) == (405, "ENDPOINT_NOT_FOUND")


def test_pages_keep_the_app_s_own_html_404(db, owner):
    client = Client()
    client.force_login(owner)
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "<h1>Not found</h1>" in page and "Back to the catalog" in page


@pytest.mark.urls("tests.registry.test_error_pages")
def test_unexpected_errors_answer_500_in_the_shape_of_where_they_happen(db, owner):
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    api_error = client.get("/api/v1/boom/")
    assert api_error.status_code == 500 and api_error.json()["error"]["code"] == "server_error"
    mlflow_error = client.get("/api/2.0/mlflow/boom")
    assert mlflow_error.status_code == 500 and mlflow_error.json()["error_code"] == "INTERNAL_ERROR"
    page = client.get("/boom/")
    assert page.status_code == 500 and "Something went wrong" in page.content.decode()
    assert "an unexpected bug" not in page.content.decode() + api_error.content.decode()


def _missing_page(debug: str | None) -> str:
    """What an unknown URL shows with the settings `make run` uses: no DEBUG set (or the given value)."""
    code = (
        "from django.test import Client; r = Client().get('/no-such-page/'); "
        "print(r.status_code, 'URLconf' in r.content.decode(), 'Not found' in r.content.decode())"
    )
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": "sqlite:////tmp/arbiter-error-pages.sqlite3"}
    if debug is not None:
        env["DEBUG"] = debug
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[-1].split()  # after the shell's "N objects imported automatically"


def test_make_run_shows_the_app_s_404_and_debug_pages_only_with_debug_set():
    assert _missing_page(None) == ["404", "False", "True"], "no DEBUG: the app's own page, no URL list"
    assert _missing_page("1") == ["404", "True", "False"], "DEBUG=1: Django's debug page, for developers"
