"""Browser hardening over every endpoint of the matrix: CSRF on every session-authenticated write, API
included, and a nonce'd Content-Security-Policy on every page."""

from __future__ import annotations

import dataclasses
import re

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from governance.models import AuditEvent
from registry.choices import Visibility
from tests.permission_matrix import PERSONAS
from tests.permission_matrix.test_matrix import ENDPOINTS, _kwargs, expected_status, send

WRITES = [e for e in ENDPOINTS if e.method != "get"]
PAGES = [e for e in ENDPOINTS if e.method == "get" and not e.api]


def _allowed_persona(endpoint) -> str:
    """Someone for whom the request would succeed, so a 403 can only come from the missing CSRF token."""
    for persona in ("administrator", *PERSONAS):
        if persona != "anonymous" and expected_status(endpoint, persona, Visibility.INTERNAL) < 400:
            return persona
    raise AssertionError(f"nobody may call {endpoint.name}")


@pytest.mark.parametrize("endpoint", WRITES, ids=lambda e: f"{e.method}-{e.name}")
def test_session_writes_without_csrf_token_are_refused(world, endpoint):
    persona = _allowed_persona(endpoint)
    user = world["people"][persona]
    url = reverse(endpoint.name, kwargs=_kwargs(endpoint, world, Visibility.INTERNAL, user))
    client = APIClient(enforce_csrf_checks=True) if endpoint.api else Client(enforce_csrf_checks=True)
    client.force_login(user)
    if callable(endpoint.data):  # build what the body refers to first, so only the request itself is counted
        endpoint = dataclasses.replace(endpoint, data=endpoint.data(world, Visibility.INTERNAL))
    events = AuditEvent.objects.count()
    response = send(client, endpoint, url, world, Visibility.INTERNAL)
    assert response.status_code == 403, f"{endpoint.method.upper()} {url} as {persona}: {response.status_code}"
    if endpoint.api:
        body = response.json()  # the v1 shape, or the MLflow-compatible API's {"error_code", "message"}
        assert "CSRF" in (body["error"]["message"] if "error" in body else body["message"])
    assert AuditEvent.objects.count() == events, "nothing changed"


CSP_REQUIRED = ("object-src 'none'", "frame-ancestors 'none'", "base-uri 'self'", "form-action 'self'")


def assert_hardened(response, where: str) -> None:
    """The policy's directives, and a page whose every script is a nonce'd file, with nothing inline. An htmx
    fragment (no <html>) carries no scripts at all; a download carries only the headers."""
    policy = response.get("Content-Security-Policy", "")
    for directive in CSP_REQUIRED:
        assert directive in policy, f"{where}: {directive} missing from {policy!r}"
    script_src = re.search(r"script-src ([^;]+)", policy).group(1)
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, where
    assert "'unsafe-inline'" not in re.search(r"style-src ([^;]+)", policy).group(1), where
    assert response["X-Frame-Options"] == "DENY", where
    if not response["Content-Type"].startswith("text/html"):
        return  # a download: the headers are all there is
    body = response.content.decode()
    executable = [tag for tag in re.findall(r"<script\b[^>]*>", body) if "application/json" not in tag]
    if "<html" in body:
        nonce = re.search(r"'nonce-([^']+)'", script_src)
        assert nonce, f"{where}: no nonce in {policy!r}"
        assert executable, f"{where}: no scripts at all?"
        for tag in executable:
            assert f'nonce="{nonce.group(1)}"' in tag and "src=" in tag, f"{where}: {tag}"
    else:
        assert executable == [], f"{where}: a fragment with scripts"
    assert not re.search(r"\son[a-z]+\s*=", body), f"{where}: inline event handler"
    assert not re.search(r"\sstyle\s*=", body), f"{where}: inline style attribute"


@pytest.mark.parametrize("endpoint", PAGES, ids=lambda e: e.name)
def test_every_page_carries_a_nonced_csp(world, endpoint):
    persona = _allowed_persona(endpoint)
    user = world["people"][persona]
    client = Client()
    client.force_login(user)
    url = reverse(endpoint.name, kwargs=_kwargs(endpoint, world, Visibility.INTERNAL, user))
    response = client.get(url)
    assert response.status_code == endpoint.ok  # 200, or a redirect (an evidence link points elsewhere)
    assert_hardened(response, url)


def test_pages_outside_the_matrix_are_hardened_too(world, client, settings):
    assert_hardened(client.get("/accounts/login/"), "login")
    client.force_login(world["people"]["outsider"])
    assert_hardened(client.get("/models/secret/"), "404 page")
    assert_hardened(client.get("/models/open/edit/"), "403 page")
    settings.AXES_FAILURE_LIMIT = 1
    locked = Client().post("/accounts/login/", {"username": "owner", "password": "wrong"})
    assert locked.status_code == 429
    assert_hardened(locked, "lockout page")


def test_api_and_admin_answers_carry_the_policy(world):
    admin = Client()
    admin.force_login(world["people"]["administrator"])
    for url in ("/admin/", "/api/docs/"):
        policy = admin.get(url)["Content-Security-Policy"]
        assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy, url
    api = APIClient()
    api.force_login(world["people"]["owner"])
    assert "frame-ancestors 'none'" in api.get("/api/v1/models/")["Content-Security-Policy"]
