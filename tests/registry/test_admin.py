"""The Django admin asks the permission module: a staff user who is not an administrator sees only what they may
see and changes only what they may change, through the services; tokens, teams and service accounts are
read-only there (their pages and commands go through the audited services)."""

import pytest
from django.test import Client

from governance.models import AuditEvent
from registry import services
from registry.choices import Visibility
from registry.models import ApiToken
from registry.permissions import Action, Role
from tests.factories import make_model, make_user, make_version


@pytest.fixture
def catalog(owner, outsider, team_alpha):
    models = {
        "own": make_model(owner, name="own", visibility=Visibility.RESTRICTED, team=team_alpha),
        "theirs-internal": make_model(outsider, name="theirs-internal"),
        "theirs-restricted": make_model(outsider, name="theirs-restricted", visibility=Visibility.RESTRICTED),
    }
    for model in models.values():
        make_version(model.owner, model)
    return models


@pytest.fixture
def staff_owner(owner):
    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(owner)
    return client


def _changelist_names(client, path: str) -> set[str]:
    response = client.get(path)
    assert response.status_code == 200
    return {str(obj) for obj in response.context["cl"].result_list}


def test_staff_model_owner_sees_only_what_they_may_see(staff_owner, catalog):
    assert _changelist_names(staff_owner, "/admin/registry/registeredmodel/") == {"own", "theirs-internal"}
    assert _changelist_names(staff_owner, "/admin/registry/modelversion/") == {"own v1", "theirs-internal v1"}
    hidden = catalog["theirs-restricted"]
    response = staff_owner.get(f"/admin/registry/registeredmodel/{hidden.pk}/change/")
    assert response.status_code == 302 and response["Location"] == "/admin/", "invisible reads as missing"
    assert staff_owner.get(f"/admin/registry/modelversion/{hidden.versions.get().pk}/change/").status_code == 302


def test_staff_model_owner_cannot_change_what_they_may_not(staff_owner, catalog):
    other = catalog["theirs-internal"]
    view_only = staff_owner.get(f"/admin/registry/registeredmodel/{other.pk}/change/")
    assert view_only.status_code == 200 and not view_only.context["has_change_permission"]
    events = AuditEvent.objects.count()
    edit = staff_owner.post(f"/admin/registry/registeredmodel/{other.pk}/change/", {"title": "Hijacked"})
    assert edit.status_code == 403
    delete = staff_owner.post(f"/admin/registry/registeredmodel/{other.pk}/delete/", {"post": "yes"})
    assert delete.status_code == 403
    version = other.versions.get()
    assert staff_owner.post(f"/admin/registry/modelversion/{version.pk}/delete/", {"post": "yes"}).status_code == 403
    other.refresh_from_db()
    assert other.title != "Hijacked" and AuditEvent.objects.count() == events


def test_staff_model_owner_changes_their_own_model_through_the_service(staff_owner, catalog, team_alpha):
    own = catalog["own"]
    form = staff_owner.get(f"/admin/registry/registeredmodel/{own.pk}/change/")
    assert form.context["has_change_permission"]
    data = {
        "title": "Renamed in admin",
        "description": "",
        "team": team_alpha.pk,
        "task_type": own.task_type,
        "framework": own.framework,
        "intended_use": "",
        "out_of_scope_uses": "",
        "limitations": "",
        "visibility": own.visibility,
        "tags": "{}",
    }
    response = staff_owner.post(f"/admin/registry/registeredmodel/{own.pk}/change/", data)
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.title == "Renamed in admin"
    event = AuditEvent.objects.filter(action="model.updated").latest("seq")
    assert event.actor_label == "owner" and event.changes["title"]["after"] == "Renamed in admin"


def test_staff_viewer_sees_only_shared_models_and_changes_none(owner, catalog):
    viewer = make_user("staff-viewer", roles=[Role.VIEWER], is_staff=True)
    services.access_grant(actor=owner, model=catalog["own"], grantee=viewer, actions=[Action.VIEW])
    client = Client()
    client.force_login(viewer)
    assert _changelist_names(client, "/admin/registry/registeredmodel/") == {"own", "theirs-internal"}
    response = client.post(f"/admin/registry/registeredmodel/{catalog['own'].pk}/change/", {"title": "x"})
    assert response.status_code == 403


def test_staff_non_administrators_cannot_open_tokens_teams_or_service_accounts(staff_owner, owner):
    services.token_create(actor=owner, user=owner, name="mine", scopes=["read"])
    for path in ("/admin/registry/apitoken/", "/admin/registry/team/", "/admin/registry/serviceaccount/"):
        assert staff_owner.get(path).status_code == 403, path


def test_administrator_sees_every_token_and_revokes_through_the_service(administrator, owner, teammate):
    services.token_create(actor=owner, user=owner, name="owner-ci", scopes=["read"])
    token, _ = services.token_create(actor=teammate, user=teammate, name="teammate-ci", scopes=["write"])
    client = Client()
    client.force_login(administrator)
    assert _changelist_names(client, "/admin/registry/apitoken/") == {str(t) for t in ApiToken.objects.all()}, (
        "all tokens, of everyone"
    )
    page = client.get("/admin/registry/apitoken/").content.decode()
    assert "delete_selected" not in page and "revoke" in page
    response = client.post("/admin/registry/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(action="token.revoked", actor_label="administrator").count() == 1
    assert client.post(f"/admin/registry/apitoken/{token.pk}/delete/", {"post": "yes"}).status_code == 403


def test_teams_and_service_accounts_are_read_only_in_the_admin(administrator, team_alpha):
    services.service_account_create(actor=administrator, username="ci")
    client = Client()
    client.force_login(administrator)
    assert client.get("/admin/registry/team/").status_code == 200
    assert client.get("/admin/registry/team/add/").status_code == 403
    assert client.post(f"/admin/registry/team/{team_alpha.pk}/change/", {"name": "Renamed"}).status_code == 403
    assert client.get("/admin/registry/serviceaccount/").status_code == 200
    account_pk = services.service_account_create(actor=administrator, username="ci-2").pk
    assert client.post(f"/admin/registry/serviceaccount/{account_pk}/delete/", {"post": "yes"}).status_code == 403
