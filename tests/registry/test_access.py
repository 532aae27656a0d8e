"""Granting and revoking access (service, page and API), teams and their members, and service accounts:
every change audited once, nobody handing out what they do not hold."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.test import Client
from rest_framework.test import APIClient

from governance.models import AuditEvent
from registry import services
from registry.choices import Visibility
from registry.exceptions import InvalidInput, NotFound
from registry.models import ServiceAccount
from registry.permissions import Action, Role
from tests.conftest import bearer
from tests.factories import PASSWORD, make_model, make_user


@pytest.fixture
def secret(owner, team_alpha):
    return make_model(owner, name="secret", visibility=Visibility.RESTRICTED, team=team_alpha)


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


# --- Services -------------------------------------------------------------------------------------------


def test_grant_records_one_event_for_what_changed(owner, viewer, secret):
    services.access_grant(actor=owner, model=secret, grantee=viewer, actions=[Action.VIEW])
    held = services.access_grant(actor=owner, model=secret, grantee=viewer, actions=[Action.VIEW, Action.CHANGE])
    assert held == {Action.VIEW.value, Action.CHANGE.value}
    services.access_grant(actor=owner, model=secret, grantee=viewer, actions=[Action.VIEW])
    events = _events("permission.granted")
    assert [e.changes for e in events] == [
        {"grantee": "user:viewer", "actions": ["view_registeredmodel"]},
        {"grantee": "user:viewer", "actions": ["change_registeredmodel"]},
    ], "re-granting what is held records nothing"
    assert all(e.model_name == "secret" and e.actor_label == "owner" for e in events)


def test_nobody_grants_what_they_do_not_hold(owner, viewer, reviewer, secret):
    """A delegate with manage_access but not change cannot hand out change, nor anything on a model they do not
    manage, nor grant themselves more."""
    services.access_grant(actor=owner, model=secret, grantee=viewer, actions=[Action.VIEW, Action.MANAGE_ACCESS])
    services.access_grant(actor=viewer, model=secret, grantee=reviewer, actions=[Action.VIEW])
    with pytest.raises(PermissionDenied, match="cannot grant 'change_registeredmodel'"):
        services.access_grant(actor=viewer, model=secret, grantee=reviewer, actions=[Action.CHANGE])
    with pytest.raises(PermissionDenied, match="cannot grant 'change_registeredmodel'"):
        services.access_grant(actor=viewer, model=secret, grantee=viewer, actions=[Action.CHANGE])
    with pytest.raises(PermissionDenied, match="manage access"):
        services.access_grant(actor=reviewer, model=secret, grantee=reviewer, actions=[Action.VIEW])
    other = make_model(owner, name="internal-one")
    with pytest.raises(PermissionDenied, match="manage access"):
        services.access_grant(actor=viewer, model=other, grantee=viewer, actions=[Action.MANAGE_ACCESS])


def test_grants_go_to_users_and_teams_only(owner, secret):
    with pytest.raises(InvalidInput, match="users or teams"):
        services.access_grant(
            actor=owner, model=secret, grantee=Group.objects.get(name=Role.AUDITOR), actions=[Action.VIEW]
        )
    disabled = make_user("gone", is_active=False)
    with pytest.raises(InvalidInput, match="disabled"):
        services.access_grant(actor=owner, model=secret, grantee=disabled, actions=[Action.VIEW])
    with pytest.raises(InvalidInput, match="Unknown permission"):
        services.access_grant(actor=owner, model=secret, grantee=owner, actions=["fly"])


def test_revoke_removes_only_what_is_held_and_refuses_nothing_to_revoke(owner, viewer, secret):
    services.access_grant(actor=owner, model=secret, grantee=viewer, actions=[Action.VIEW, Action.CHANGE])
    left = services.access_revoke(actor=owner, model=secret, grantee=viewer, actions=list(Action))
    assert left == set()
    assert _events("permission.revoked")[-1].changes == {
        "grantee": "user:viewer",
        "actions": ["change_registeredmodel", "view_registeredmodel"],
    }
    with pytest.raises(NotFound):
        services.access_revoke(actor=owner, model=secret, grantee=viewer, actions=[Action.VIEW])


def test_team_membership_is_managed_by_administrators_and_audited(administrator, owner, team_alpha, secret):
    newcomer = make_user("newcomer", roles=[Role.VIEWER])
    client = Client()
    client.force_login(newcomer)
    assert client.get("/models/secret/").status_code == 404
    with pytest.raises(PermissionDenied):
        services.team_member_add(actor=owner, team=team_alpha, user=newcomer)

    services.team_member_add(actor=administrator, team=team_alpha, user=newcomer)
    assert client.get("/models/secret/").status_code == 200, "team grants apply at once"
    with pytest.raises(InvalidInput, match="already in Alpha"):
        services.team_member_add(actor=administrator, team=team_alpha, user=newcomer)
    services.team_member_remove(actor=administrator, team=team_alpha, user=newcomer)
    assert client.get("/models/secret/").status_code == 404
    with pytest.raises(NotFound):
        services.team_member_remove(actor=administrator, team=team_alpha, user=newcomer)
    assert [(e.action, e.target_label, e.changes) for e in AuditEvent.objects.filter(target_type="team")][:2] == [
        ("team.member_removed", "Alpha", {"members": {"removed": ["newcomer"]}}),
        ("team.member_added", "Alpha", {"members": {"added": ["newcomer"]}}),
    ]


# --- Pages ----------------------------------------------------------------------------------------------


def test_access_tab_grants_and_revokes(owner, secret):
    client = Client()
    client.force_login(owner)
    colleague = make_user("colleague", roles=[Role.VIEWER])
    response = client.post(
        "/models/secret/access/",
        {"grantee_type": "user", "username": "colleague", "actions": [Action.VIEW.value, Action.UPLOAD.value]},
    )
    assert response.status_code == 302
    page = client.get("/models/secret/access/").content.decode()
    assert "colleague" in page and "upload artifacts to this model" in page
    client.post("/models/secret/access/revoke/", {"grantee_type": "user", "grantee_id": colleague.pk})
    assert services.direct_grants(secret, colleague) == set()
    assert [e.action for e in AuditEvent.objects.filter(model_name="secret").order_by("seq")][-2:] == [
        "permission.granted",
        "permission.revoked",
    ]


def test_access_tab_refuses_to_grant_more_than_held(owner, viewer, secret):
    services.access_grant(actor=owner, model=secret, grantee=viewer, actions=[Action.VIEW, Action.MANAGE_ACCESS])
    make_user("colleague")
    client = Client()
    client.force_login(viewer)
    response = client.post(
        "/models/secret/access/", {"grantee_type": "user", "username": "colleague", "actions": [Action.CHANGE.value]}
    )
    assert response.status_code == 200
    assert "you do not hold it" in response.context["form"].errors["actions"][0]


def test_administrator_manages_teams_on_the_teams_page(administrator, owner, team_alpha):
    client = Client()
    client.force_login(administrator)
    assert b"Alpha" in client.get("/teams/").content
    created = client.post("/teams/", {"name": "Risk Analytics", "description": "Credit risk"})
    assert created.status_code == 302 and created["Location"] == "/teams/risk-analytics/"
    assert b"No members yet" in client.get("/teams/risk-analytics/").content
    added = client.post("/teams/risk-analytics/", {"username": "owner"}, follow=True)
    assert b"Added owner to Risk Analytics" in added.content
    unknown = client.post("/teams/risk-analytics/", {"username": "ghost"})
    assert "No active user" in unknown.context["form"].errors["username"][0]
    client.post(f"/teams/risk-analytics/members/{owner.pk}/remove/")
    assert not owner.groups.filter(name="team:risk-analytics").exists()
    assert [e.action for e in AuditEvent.objects.filter(target_label="Risk Analytics").order_by("seq")] == [
        "team.created",
        "team.member_added",
        "team.member_removed",
    ]
    nav = client.get("/").content.decode()
    assert 'href="/teams/"' in nav and 'href="/service-accounts/"' in nav


def test_administrator_manages_service_accounts_and_their_tokens(administrator, team_alpha, api):
    client = Client()
    client.force_login(administrator)
    empty = client.get("/service-accounts/")
    assert b"No service accounts yet" in empty.content
    created = client.post(
        "/service-accounts/",
        {"username": "ci-training", "description": "Nightly", "roles": ["Model Owner"], "teams": [team_alpha.pk]},
    )
    assert created.status_code == 302 and created["Location"] == "/service-accounts/ci-training/"
    account = ServiceAccount.objects.get(user__username="ci-training")
    assert not account.user.has_usable_password()
    detail = client.get("/service-accounts/ci-training/")
    assert b"Model Owner" in detail.content and b"Alpha" in detail.content and b"No tokens yet" in detail.content

    issued = client.post("/service-accounts/ci-training/", {"name": "nightly", "scopes": ["write"], "expires_days": 7})
    secret = issued.context["new_secret"]
    assert secret.startswith("arb_") and secret.encode() in issued.content
    api.credentials(**bearer(secret))
    assert api.post("/api/v1/models/", {"name": "from-ci", "title": "From CI"}, format="json").status_code == 201

    token = account.user.api_tokens.get()
    client.post(f"/service-accounts/ci-training/tokens/{token.prefix}/revoke/")
    assert api.get("/api/v1/models/").status_code == 401
    actions = [e.action for e in AuditEvent.objects.filter(actor_label="administrator").order_by("seq")]
    assert actions[-3:] == ["service_account.created", "token.created", "token.revoked"]

    taken = client.post("/service-accounts/", {"username": "CI-TRAINING"})
    assert "Already taken." in taken.context["form"].errors["username"]
    bad = client.post("/service-accounts/", {"username": "has space"})
    assert "username" in bad.context["form"].errors


def test_token_page_offers_a_model_restriction(owner):
    make_model(owner, name="only-this")
    client = Client()
    client.force_login(owner)
    client.post("/account/tokens/", {"name": "ci", "scopes": ["read"], "expires_days": 30, "model": "only-this"})
    assert owner.api_tokens.get().model.name == "only-this"
    missing = client.post("/account/tokens/", {"name": "ci", "scopes": ["read"], "expires_days": 30, "model": "no"})
    assert "cannot see it" in missing.context["form"].errors["model"][0]


# --- Service accounts cannot sign in --------------------------------------------------------------------


def test_service_account_cannot_sign_in_even_with_a_password(db, client):
    account = services.service_account_create(actor=None, username="ci-pipeline")
    account.user.set_password(PASSWORD)
    account.user.save()
    response = client.post("/accounts/login/", {"username": "ci-pipeline", "password": PASSWORD})
    assert response.status_code == 200
    assert "service account for pipelines: it cannot sign in here" in response.content.decode()
    assert "_auth_user_id" not in client.session
    admin_login = client.post("/admin/login/", {"username": "ci-pipeline", "password": PASSWORD})
    assert "_auth_user_id" not in client.session and admin_login.status_code == 200


def test_people_still_sign_in(owner, client):
    response = client.post("/accounts/login/", {"username": "owner", "password": PASSWORD})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(owner.pk)


# --- API ------------------------------------------------------------------------------------------------


def test_access_api_lists_grants_to_anyone_who_sees_the_model(owner, auditor, secret, api):
    services.access_grant(actor=owner, model=secret, grantee=make_user("colleague"), actions=[Action.VIEW])
    api.force_login(auditor)
    rows = api.get("/api/v1/models/secret/access/").json()
    assert {"grantee_type": "team", "grantee": "alpha", "name": "Alpha"}.items() <= rows[0].items()
    assert rows[0]["actions"] == [
        "view",
        "change",
        "delete",
        "upload_artifact",
        "submit_for_approval",
        "manage_access",
    ]
    assert {"grantee_type": "user", "grantee": "colleague", "name": "colleague", "actions": ["view"]} in rows


def test_access_api_grants_and_revokes_with_an_admin_token(owner, secret, team_beta, api):
    colleague = make_user("colleague")
    _, admin_token = services.token_create(actor=owner, user=owner, name="admin", scopes=["admin"])
    api.credentials(**bearer(admin_token))
    granted = api.post(
        "/api/v1/models/secret/access/", {"user": "colleague", "actions": ["view", "upload_artifact"]}, format="json"
    )
    assert granted.status_code == 200, granted.content
    assert granted.json() == {
        "grantee_type": "user",
        "grantee": "colleague",
        "name": "colleague",
        "actions": ["view", "upload_artifact"],
    }
    team = api.post("/api/v1/models/secret/access/", {"team": "beta", "actions": ["view"]}, format="json")
    assert team.status_code == 200 and team.json()["grantee"] == "beta"

    partial = api.delete("/api/v1/models/secret/access/users/colleague/?actions=upload_artifact")
    assert partial.status_code == 204
    assert services.direct_grants(secret, colleague) == {Action.VIEW.value}
    assert api.delete("/api/v1/models/secret/access/teams/beta/").status_code == 204
    again = api.delete("/api/v1/models/secret/access/teams/beta/")
    assert again.status_code == 404 and again.json()["error"]["code"] == "no_such_grant"
    assert api.delete("/api/v1/models/secret/access/users/ghost/").status_code == 404
    bad = api.delete("/api/v1/models/secret/access/users/colleague/?actions=fly")
    assert bad.status_code == 400 and "actions" in bad.json()["error"]["fields"]


def test_access_api_needs_admin_scope_and_refuses_what_the_caller_lacks(owner, viewer, secret, api):
    make_user("colleague")
    _, write_token = services.token_create(actor=owner, user=owner, name="w", scopes=["write"])
    api.credentials(**bearer(write_token))
    assert api.get("/api/v1/models/secret/access/").status_code == 200
    refused = api.post("/api/v1/models/secret/access/", {"user": "colleague", "actions": ["view"]}, format="json")
    assert refused.status_code == 403 and "'admin' scope" in refused.json()["error"]["message"]
    assert api.delete("/api/v1/models/secret/access/teams/alpha/").status_code == 403

    services.access_grant(actor=owner, model=secret, grantee=viewer, actions=[Action.VIEW, Action.MANAGE_ACCESS])
    _, delegate = services.token_create(actor=viewer, user=viewer, name="a", scopes=["admin"])
    api.credentials(**bearer(delegate))
    escalate = api.post("/api/v1/models/secret/access/", {"user": "viewer", "actions": ["change"]}, format="json")
    assert escalate.status_code == 403 and "do not hold it" in escalate.json()["error"]["message"]


def test_access_api_validates_input(owner, secret):
    api = APIClient()  # session writes without the CSRF dance; CSRF is tested in test_hardening
    api.force_login(owner)
    both = api.post(
        "/api/v1/models/secret/access/", {"user": "owner", "team": "alpha", "actions": ["view"]}, format="json"
    )
    assert both.status_code == 400 and "user" in both.json()["error"]["fields"]
    ghost = api.post("/api/v1/models/secret/access/", {"user": "ghost", "actions": ["view"]}, format="json")
    assert ghost.status_code == 400
    assert ghost.json()["error"]["fields"]["user"] == ["No active user with this username."]
    empty = api.post("/api/v1/models/secret/access/", {"team": "alpha", "actions": []}, format="json")
    assert empty.status_code == 400 and "actions" in empty.json()["error"]["fields"]


# --- Grants to groups that are not teams, and teams their members can see ---------------------------------


def test_grants_to_groups_that_are_not_teams_list_without_error(owner, auditor, secret, api):
    """A review committee's group is granted `view` when a request is routed to it (governance), and the admin
    can grant any group: the access API lists them as groups and the Access tab never shows them as teams."""
    from guardian.shortcuts import assign_perm

    from governance.models import Committee

    committee = Committee.objects.get(slug="model-review-committee")
    assign_perm(Action.VIEW.value, committee.group, secret)
    assign_perm(Action.VIEW.value, Group.objects.create(name="legacy-readers"), secret)
    api.force_login(auditor)
    response = api.get("/api/v1/models/secret/access/")
    assert response.status_code == 200, response.content
    rows = response.json()
    assert [(r["grantee_type"], r["grantee"]) for r in rows] == [
        ("team", "alpha"),
        ("group", "committee:model-review-committee"),  # sorted by display name, "Model Review Committee"
        ("group", "legacy-readers"),
        ("user", "owner"),
    ]
    assert rows[1] == {
        "grantee_type": "group",
        "grantee": "committee:model-review-committee",
        "name": "Model Review Committee",
        "actions": ["view"],
    }

    client = Client()
    client.force_login(owner)
    page = client.get("/models/secret/access/").content.decode()
    assert "committee:" not in page
    teams_table = page.split('<h2 class="h5">Teams</h2>')[1].split("<h2")[0]
    assert "Alpha" in teams_table and "Model Review Committee" not in teams_table
    committees = page.split('id="committee-grants"')[1].split("</ul>")[0]
    assert "Model Review Committee" in committees and "legacy-readers" in committees


def test_members_see_their_own_teams_and_only_those(owner, outsider, team_alpha, team_beta, viewer):
    client = Client()
    client.force_login(owner)
    page = client.get("/teams/").content.decode()
    assert 'href="/teams/"' in page, "the navigation offers Teams to a model owner"
    assert 'href="/teams/alpha/"' in page and "/teams/beta/" not in page
    detail = client.get("/teams/alpha/")
    assert detail.status_code == 200 and "owner" in detail.content.decode()
    assert client.get("/teams/beta/").status_code == 404
    assert client.post("/teams/alpha/", {"username": "outsider"}).status_code == 403
    client.force_login(viewer)
    assert "You are not on a team" in client.get("/teams/").content.decode()
    assert client.get("/teams/alpha/").status_code == 404
