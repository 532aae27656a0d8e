"""The issue's "Done means", as explicit tests over the matrix's endpoints:

- a Viewer sees only what is shared (lists, counts, search, pages, versions, history, API);
- a Model Owner cannot touch another team's restricted model (every endpoint answers 404, nothing changes);
- an Auditor reads everything and changes nothing (every write endpoint refused, nothing changes);
- a pipeline token with `read` scope cannot register a version.
"""

from __future__ import annotations

import dataclasses

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from governance.models import AuditEvent
from registry import services
from registry.choices import Visibility
from registry.models import ModelVersion
from registry.permissions import Action, Role
from tests.conftest import bearer
from tests.factories import make_model, make_version
from tests.permission_matrix.test_matrix import ENDPOINTS, _kwargs, send


def _prepare(endpoint, world, visibility, user):
    """The endpoint's URL (its hooks may create what it refers to) and a call that makes the request."""
    url = reverse(endpoint.name, kwargs=_kwargs(endpoint, world, visibility, user))
    client = APIClient() if endpoint.api else Client()
    client.force_login(user)
    if callable(endpoint.data):  # build what the body refers to now, so only the request itself is counted
        endpoint = dataclasses.replace(endpoint, data=endpoint.data(world, visibility))
    return url, lambda: send(client, endpoint, url, world, visibility)


# --- A Viewer sees only what is shared --------------------------------------------------------------------


@pytest.fixture
def shared(world, administrator, team_alpha):
    """Besides the world's `open` (internal) and `secret` (restricted, not shared with the viewer): one
    restricted model shared with the viewer directly, one shared with a team of theirs, one never shared."""
    owner, viewer = world["people"]["owner"], world["people"]["viewer"]
    gamma = services.team_create(actor=administrator, name="Gamma", members=[viewer])
    models = {}
    for name in ("shared-direct", "shared-team", "hidden-credit"):
        models[name] = make_model(owner, name=name, title=f"Credit {name}", visibility=Visibility.RESTRICTED)
        make_version(owner, models[name])
    services.access_grant(actor=owner, model=models["shared-direct"], grantee=viewer, actions=[Action.VIEW])
    services.access_grant(actor=owner, model=models["shared-team"], grantee=gamma.group, actions=[Action.VIEW])
    return viewer


def test_viewer_sees_only_what_is_shared(shared, postgres):
    viewer = shared
    visible = ["open", "shared-direct", "shared-team"]
    browser = Client()
    browser.force_login(viewer)
    catalog = browser.get("/", {"sort": "name"})
    assert [m.name for m in catalog.context["page"].object_list] == visible
    assert catalog.context["page"].paginator.count == 3 and b"3 models" in catalog.content
    search = browser.get("/", {"q": "credit"})
    assert sorted(m.name for m in search.context["page"].object_list) == ["shared-direct", "shared-team"]
    assert b"hidden-credit" not in search.content

    api = APIClient()
    api.force_login(viewer)
    listed = api.get("/api/v1/models/", {"sort": "name"}).json()
    assert [m["name"] for m in listed["results"]] == visible and listed["count"] == 3
    assert api.get("/api/v1/models/", {"q": "credit"}).json()["count"] == 2
    assert api.get("/api/v1/models/", {"visibility": "restricted"}).json()["count"] == 2

    for name in ("shared-direct", "shared-team"):
        assert browser.get(f"/models/{name}/versions/1/").status_code == 200
        assert api.get(f"/api/v1/models/{name}/versions/").json()["results"][0]["version"] == 1
        assert browser.get(f"/models/{name}/edit/").status_code == 403
    for name in ("secret", "hidden-credit"):
        for url in (f"/models/{name}/", f"/models/{name}/versions/1/", f"/models/{name}/access/"):
            assert browser.get(url).status_code == 404, url
        assert browser.get(f"/governance/models/{name}/history/").status_code == 404
        for url in (f"/api/v1/models/{name}/", f"/api/v1/models/{name}/versions/", f"/api/v1/models/{name}/access/"):
            assert api.get(url).status_code == 404, url


# --- A Model Owner cannot touch another team's restricted model -------------------------------------------

MODEL_SCOPED = [e for e in ENDPOINTS if e.model_scoped]


@pytest.mark.parametrize("endpoint", MODEL_SCOPED, ids=lambda e: f"{e.method}-{e.name}")
def test_model_owner_cannot_touch_another_teams_restricted_model(world, endpoint):
    outsider = world["people"]["outsider"]
    assert Role.MODEL_OWNER in {g.name for g in outsider.groups.all()}
    url, call = _prepare(endpoint, world, Visibility.RESTRICTED, outsider)
    events = AuditEvent.objects.count()
    response = call()
    assert response.status_code == 404, f"{endpoint.method.upper()} {url}: {response.status_code}"
    assert AuditEvent.objects.count() == events


# --- An Auditor changes nothing ---------------------------------------------------------------------------

REGISTRY_WRITES = [e for e in ENDPOINTS if e.method != "get" and not e.personal and not e.read_only]


@pytest.mark.parametrize(
    ("endpoint", "visibility"),
    [
        pytest.param(endpoint, visibility, id=f"{endpoint.method}-{endpoint.name}-{visibility}")
        for endpoint in REGISTRY_WRITES
        for visibility in ((Visibility.INTERNAL, Visibility.RESTRICTED) if endpoint.model_scoped else ("-",))
    ],
)
def test_auditor_changes_nothing(world, endpoint, visibility):
    auditor = world["people"]["auditor"]
    url, call = _prepare(endpoint, world, visibility, auditor)
    events, versions = AuditEvent.objects.count(), ModelVersion.objects.count()
    response = call()
    assert response.status_code == 403, f"{endpoint.method.upper()} {url}: {response.status_code}"
    assert (AuditEvent.objects.count(), ModelVersion.objects.count()) == (events, versions)


OVERSIGHT_PAGES = {
    "governance:audit-log",
    "registry:teams",
    "registry:team-detail",
    "registry:service-accounts",
    "registry:service-account-detail",
}


def _is_read(endpoint) -> bool:
    """GET endpoints that show something to whoever may view (not the forms that exist to change things),
    and the oversight pages."""
    if endpoint.method != "get":
        return False
    return endpoint.action in (Action.VIEW, None) or endpoint.name in OVERSIGHT_PAGES


def test_auditor_reads_everything(world):
    """Every model page and list, on restricted models too, the audit trail, teams and service accounts."""
    auditor = world["people"]["auditor"]
    for endpoint in filter(_is_read, ENDPOINTS):
        for visibility in (Visibility.INTERNAL, Visibility.RESTRICTED) if endpoint.model_scoped else ("-",):
            url, call = _prepare(endpoint, world, visibility, auditor)
            response = call()
            assert response.status_code == endpoint.ok, f"GET {url}: {response.status_code}"


def test_auditor_tokens_change_nothing_either(world, api):
    """Even an admin-scope token of an auditor holds only what the auditor holds."""
    auditor = world["people"]["auditor"]
    _, secret = services.token_create(actor=auditor, user=auditor, name="export", scopes=["admin"])
    api.credentials(**bearer(secret))
    assert api.get("/api/v1/models/secret/versions/").status_code == 200
    for method, url, body in (
        ("post", "/api/v1/models/", {"name": "x", "title": "x"}),
        ("patch", "/api/v1/models/secret/", {"title": "x"}),
        ("delete", "/api/v1/models/open/", None),
        ("post", "/api/v1/models/secret/versions/", {}),
        ("post", "/api/v1/models/secret/versions/1/transition/", {"stage": "staging"}),
        ("post", "/api/v1/models/secret/access/", {"user": "auditor", "actions": ["view"]}),
        ("delete", "/api/v1/models/secret/access/teams/alpha/", None),
    ):
        response = getattr(api, method)(url, body, format="json")
        assert response.status_code == 403, f"{method.upper()} {url}: {response.status_code}"


# --- A pipeline token with read scope cannot register a version -----------------------------------------


def test_pipeline_read_token_cannot_register_a_version(world, team_alpha, api):
    pipeline = services.service_account_create(
        actor=None, username="ci", roles=[Role.MODEL_OWNER], teams=[team_alpha]
    ).user
    _, secret = services.token_create(actor=None, user=pipeline, name="poller", scopes=["read"])
    api.credentials(**bearer(secret))
    assert api.get("/api/v1/models/secret/versions/1/").status_code == 200
    versions = ModelVersion.objects.count()
    response = api.post("/api/v1/models/secret/versions/", {"source": "runs:/9"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        "This API token lacks the 'write' scope needed to change this model."
    )
    assert ModelVersion.objects.count() == versions
