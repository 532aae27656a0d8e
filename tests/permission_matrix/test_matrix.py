"""Runs the permission matrix (see tests/permission_matrix/__init__.py for how it is built)."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

import tests.permission_matrix as matrix
from registry import services
from registry.choices import Visibility
from registry.permissions import Action
from tests.conftest import bearer
from tests.factories import make_model
from tests.permission_matrix import (
    MODEL_ACTORS,
    PERSONAS,
    SCOPES_GRANTED,
    SEES_RESTRICTED,
    TOKEN_OWNER,
    TOKEN_PERSONAS,
    Endpoint,
)

ENDPOINTS: list[Endpoint] = [
    row
    for info in pkgutil.iter_modules(matrix.__path__)
    if info.name.startswith("rows_")
    for row in importlib.import_module(f"tests.permission_matrix.{info.name}").ROWS
]

# Not ours to guard, or guarded by their own framework: Django admin (staff + our admin classes), login,
# logout, the identity provider's sign-in flow (tests/sso), and the schema/docs (login required by the
# middleware, no data).
EXEMPT_PREFIXES = ("admin:",)
EXEMPT_NAMES = {"login", "logout", "sso:oidc-authenticate", "sso:oidc-callback", "schema", "api-docs"}


def _url_names(resolver: URLResolver | None = None, prefix: str = "") -> set[str]:
    names = set()
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            namespace = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            names |= _url_names(entry, namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            names.add(f"{prefix}{entry.name}")
    return names


def test_every_endpoint_is_in_the_matrix():
    covered = {endpoint.name for endpoint in ENDPOINTS}
    missing = sorted(
        name
        for name in _url_names()
        if name not in covered and name not in EXEMPT_NAMES and not name.startswith(EXEMPT_PREFIXES)
    )
    assert missing == [], f"endpoints without a row in the permission matrix: {missing}"


def expected_status(endpoint: Endpoint, persona: str, visibility: str) -> int:
    if endpoint.expect is not None and persona != "anonymous":
        return endpoint.expect(persona, visibility)
    if persona == "anonymous":
        return endpoint.anonymous or (401 if endpoint.api else 302)
    if endpoint.model_scoped:
        sees = visibility == Visibility.INTERNAL or persona in SEES_RESTRICTED
        if not sees:
            return 404
    rule = endpoint.action
    if rule is None:
        allowed = True
    elif callable(rule) and not isinstance(rule, Action):
        allowed = rule(persona)
    elif rule == Action.VIEW:
        allowed = True
    else:
        allowed = persona in MODEL_ACTORS
    return endpoint.ok if allowed else 403


def expected_token_status(endpoint: Endpoint, persona: str, visibility: str) -> int:
    """A token answers as its owner would, narrowed by its scopes and its model restriction."""
    spec = TOKEN_PERSONAS[persona]
    if spec.other_model and endpoint.model_scoped:
        return 404
    as_owner = expected_status(endpoint, TOKEN_OWNER, visibility)
    if as_owner == 404:
        return 404
    return as_owner if endpoint.needed_scope in SCOPES_GRANTED[tuple(str(scope) for scope in spec.scopes)] else 403


def _kwargs(endpoint: Endpoint, ctx: dict, visibility: str, user) -> dict[str, Any]:
    """URL arguments for the endpoint's route: the model under test, its version 1, the user's own token."""
    route = str(_route(endpoint.name))
    kwargs: dict[str, Any] = {}
    if "<model:name>" in route:
        kwargs["name"] = ctx["models"][visibility].name
    if "<int:version>" in route:
        kwargs["version"] = 1
    if endpoint.url_kwargs is not None:
        kwargs.update(endpoint.url_kwargs(ctx, visibility, user))
    if "<str:prefix>" in route and "prefix" not in kwargs:
        if user is None:
            kwargs["prefix"] = "arb_00000000"
        else:
            token, _ = services.token_create(actor=user, user=user, name="matrix", scopes=["read"])
            kwargs["prefix"] = token.prefix
    return kwargs


def send(client, endpoint: Endpoint, url: str, world: dict, visibility: str):
    """Make the endpoint's request with its row's data, sent the way the row says the body travels."""
    data = endpoint.data(world, visibility) if callable(endpoint.data) else endpoint.data
    if endpoint.content == "raw":
        return client.generic(endpoint.method.upper(), url, data, content_type="application/octet-stream")
    call = getattr(client, endpoint.method)
    if endpoint.api and endpoint.method != "get":
        return call(url, data, format=endpoint.content)
    return call(url, data)


def _route(name: str):
    namespace, _, url_name = name.rpartition(":")
    resolver = get_resolver()
    for part in namespace.split(":") if namespace else []:
        resolver = next(
            entry for entry in resolver.url_patterns if isinstance(entry, URLResolver) and entry.namespace == part
        )
    for entry in resolver.url_patterns:
        if isinstance(entry, URLPattern) and entry.name == url_name:
            return entry.pattern
    raise LookupError(name)


def _visibilities(endpoint: Endpoint) -> tuple[str, ...]:
    return (Visibility.INTERNAL, Visibility.RESTRICTED) if endpoint.model_scoped else ("-",)


CASES = [
    pytest.param(endpoint, persona, visibility, id=f"{endpoint.method}-{endpoint.name}-{persona}-{visibility}")
    for endpoint in ENDPOINTS
    for persona in PERSONAS
    for visibility in _visibilities(endpoint)
] + [
    # Tokens are for the API; a model-restricted token is checked where a model is at stake.
    pytest.param(endpoint, persona, visibility, id=f"{endpoint.method}-{endpoint.name}-{persona}-{visibility}")
    for endpoint in ENDPOINTS
    if endpoint.api
    for persona, spec in TOKEN_PERSONAS.items()
    if endpoint.model_scoped or not spec.other_model
    for visibility in _visibilities(endpoint)
]


def _token_client(world, persona: str) -> APIClient:
    spec = TOKEN_PERSONAS[persona]
    owner = world["people"][TOKEN_OWNER]
    model = make_model(owner, name="elsewhere") if spec.other_model else None
    _, secret = services.token_create(actor=owner, user=owner, name=persona, scopes=spec.scopes, model=model)
    client = APIClient()
    client.credentials(**bearer(secret))
    return client


@pytest.mark.parametrize(("endpoint", "persona", "visibility"), CASES)
def test_permission_matrix(world, endpoint, persona, visibility):
    if persona in TOKEN_PERSONAS:
        user = world["people"][TOKEN_OWNER]
        client = _token_client(world, persona)
        expected = expected_token_status(endpoint, persona, visibility)
    else:
        user = world["people"].get(persona)
        client = APIClient() if endpoint.api else Client()
        if user is not None:
            client.force_login(user)
        expected = expected_status(endpoint, persona, visibility)
    url = reverse(endpoint.name, kwargs=_kwargs(endpoint, world, visibility, user))
    response = send(client, endpoint, url, world, visibility)
    assert response.status_code == expected, (
        f"{endpoint.method.upper()} {url} as {persona}: expected {expected}, got {response.status_code}"
        f" {getattr(response, 'content', b'')[:300]!r}"
    )
