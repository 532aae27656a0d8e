"""Signing in through a real OpenID provider (oidc-provider on 127.0.0.1): accounts by issuer and subject,
roles, teams and committee seats following the provider's groups at every sign-in, refusals with a page
that says why, and sign-out ending the provider's session too."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from rest_framework.test import APIClient

from governance import services as gov
from governance.models import AuditEvent, Committee
from governance.sso import provider
from governance.sso import services as sso_services
from governance.sso.models import Identity
from registry import permissions, services
from registry.choices import Stage
from registry.permissions import Role
from tests.conftest import bearer
from tests.factories import make_user
from tests.sso.conftest import provider_sign_in

pytestmark = pytest.mark.django_db
User = get_user_model()

ALICE = {"preferred_username": "alice", "email": "alice@example.org", "given_name": "Alice"}


@pytest.fixture
def mapping(administrator, team_alpha):
    """arbiter-owners → Model Owner + team Alpha; arbiter-reviewers → Reviewer + the Model Review Committee."""
    mrc = Committee.objects.get(slug="model-review-committee")
    sso_services.group_map_load(
        actor=administrator,
        group_map={
            "arbiter-owners": {"roles": ["Model Owner"], "teams": [team_alpha.slug]},
            "arbiter-reviewers": {"roles": ["Reviewer"], "committees": [mrc.slug]},
        },
    )
    return {"team": team_alpha, "committee": mrc}


def _roles(user) -> set[str]:
    return set(
        User.objects.get(pk=user.pk).groups.filter(name__in=permissions.ROLE_NAMES).values_list("name", flat=True)
    )


def test_first_sign_in_creates_the_account_with_the_mapped_role_and_team(sso, mapping, client):
    sso.set_users({"alice-0001": {**ALICE, "groups": ["arbiter-owners", "unrelated"]}})
    response = provider_sign_in(client, "alice-0001")
    assert response.status_code == 302 and response["Location"] == "/"
    alice = User.objects.get(username="alice")
    assert int(client.session["_auth_user_id"]) == alice.pk
    assert (alice.email, alice.first_name, alice.has_usable_password()) == ("alice@example.org", "Alice", False)
    identity = Identity.objects.get(user=alice)
    assert (identity.issuer, identity.subject) == (sso.issuer, "alice-0001")
    assert _roles(alice) == {"Model Owner"}
    assert alice.groups.filter(pk=mapping["team"].group_id).exists()
    assert client.get("/").status_code == 200
    assert "oidc_id_token" in client.session


def test_group_changes_between_sign_ins_add_and_remove_roles_teams_and_seats(sso, mapping, client):
    sso.set_users({"alice-0001": {**ALICE, "groups": ["arbiter-owners"]}})
    provider_sign_in(client, "alice-0001")
    alice = User.objects.get(username="alice")
    first = AuditEvent.objects.count()

    sso.set_users({"alice-0001": {**ALICE, "preferred_username": "alice.renamed", "groups": ["arbiter-reviewers"]}})
    client.logout()
    assert provider_sign_in(client, "alice-0001").status_code == 302
    assert User.objects.filter(username__startswith="alice").count() == 1, "a changed username is the same person"
    assert _roles(alice) == {"Reviewer"}
    assert not alice.groups.filter(pk=mapping["team"].group_id).exists()
    assert mapping["committee"].memberships.filter(user=alice).exists()

    events = {
        (e.action, e.target_label): e.changes
        for e in AuditEvent.objects.filter(seq__gt=first).exclude(action__startswith="log")
    }
    note = {"claim": "groups", "provider_groups": ["arbiter-reviewers"]}
    assert events == {
        ("user.role_added", "alice"): {"role": "Reviewer", **note},
        ("user.role_removed", "alice"): {"role": "Model Owner", **note},
        ("team.member_removed", "Alpha"): {"members": {"removed": ["alice"]}, **note},
        ("committee.member_set", "Model Review Committee"): {
            "member": "alice",
            "role": {"before": None, "after": "member"},
            **note,
        },
    }


def test_unmapped_people_are_viewers(sso, mapping, client):
    sso.set_users({"bob-0002": {"preferred_username": "bob", "groups": ["marketing"]}})
    provider_sign_in(client, "bob-0002")
    assert _roles(User.objects.get(username="bob")) == {Role.VIEWER.value}


def test_losing_the_reviewer_group_ends_eligibility_on_open_requests(sso, mapping, client, owner, committees, staged):
    sso.set_users({"carol-0003": {"preferred_username": "carol", "groups": ["arbiter-reviewers"]}})
    provider_sign_in(client, "carol-0003")
    carol = User.objects.get(username="carol")
    request = gov.approval_request_submit(
        actor=owner, version=staged, target_stage=Stage.PRODUCTION, justification="Ready."
    )
    mrc = mapping["committee"]
    before = {c.slug: t.eligible for c, t in gov.request_tallies(request)}["model-review-committee"]

    sso.set_users({"carol-0003": {"preferred_username": "carol", "groups": []}})
    client.logout()
    provider_sign_in(client, "carol-0003")
    after = {c.slug: t.eligible for c, t in gov.request_tallies(request)}["model-review-committee"]
    assert after == before - 1
    carol = User.objects.get(pk=carol.pk)
    with pytest.raises(PermissionDenied, match="not a member of Model Review Committee"):
        gov.vote_cast(actor=carol, request=request, committee=mrc, decision="approve")


def test_a_local_account_is_not_taken_over_unless_linked(sso, administrator, client):
    local = make_user("dave", roles=[Role.AUDITOR])
    sso.set_users({"dave-0004": {"preferred_username": "dave", "groups": []}})
    refused = provider_sign_in(client, "dave-0004")
    assert refused.status_code == 403
    page = refused.content.decode()
    assert "An Arbiter account named dave already exists" in page and "dave-0004" in page
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.filter(action="login.refused").get()
    assert event.changes == {"reason": "account_exists", "issuer": sso.issuer, "subject": "dave-0004"}

    sso_services.identity_link(actor=administrator, user=local, subject="dave-0004")
    assert provider_sign_in(client, "dave-0004").status_code == 302
    assert int(client.session["_auth_user_id"]) == local.pk
    assert _roles(local) == {Role.VIEWER.value}, "the provider's groups decide the roles of a linked account"


def test_required_mapping_refuses_and_deactivates_and_the_tokens_stop(sso, mapping, settings, client):
    settings.OIDC_REQUIRE_MAPPED_GROUP = True
    sso.set_users({"erin-0005": {"preferred_username": "erin", "groups": ["marketing"]}})
    refused = provider_sign_in(client, "erin-0005")
    assert refused.status_code == 403 and b"None of your groups at Test IdP gives access" in refused.content
    assert not User.objects.filter(username="erin").exists(), "no account for someone who may not come in"

    sso.set_users({"erin-0005": {"preferred_username": "erin", "groups": ["arbiter-owners"]}})
    provider_sign_in(client, "erin-0005")
    erin = User.objects.get(username="erin")
    _, secret = services.token_create(actor=erin, user=erin, name="laptop", scopes=["read"])
    api = APIClient()
    assert api.get("/api/v1/models/", **bearer(secret)).status_code == 200

    sso.set_users({"erin-0005": {"preferred_username": "erin", "groups": ["marketing"]}})
    client.logout()
    assert provider_sign_in(client, "erin-0005").status_code == 403
    erin.refresh_from_db()
    assert not erin.is_active
    answer = api.get("/api/v1/models/", **bearer(secret))
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "user_inactive"
    assert AuditEvent.objects.filter(action="user.deactivated", target_label="erin").exists()

    sso.set_users({"erin-0005": {"preferred_username": "erin", "groups": ["arbiter-owners"]}})
    assert provider_sign_in(client, "erin-0005").status_code == 302, "groups that map again reactivate"
    assert api.get("/api/v1/models/", **bearer(secret)).status_code == 200


def test_a_replayed_callback_is_refused(sso, client):
    sso.set_users({"fay-0006": {"preferred_username": "fay", "groups": []}})
    first = provider_sign_in(client, "fay-0006")
    assert first.status_code == 302
    replay = client.get(first.wsgi_request.get_full_path())
    assert replay.status_code == 400
    assert b"could not be verified, or was already used" in replay.content


def test_sign_out_ends_the_provider_session_too(sso, client):
    sso.set_users({"gus-0007": {"preferred_username": "gus", "groups": []}})
    provider_sign_in(client, "gus-0007")
    id_token = client.session["oidc_id_token"]
    response = client.post("/accounts/logout/")
    assert "_auth_user_id" not in client.session
    target = urlparse(response["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{sso.issuer}/session/end"
    query = parse_qs(target.query)
    assert query["id_token_hint"] == [id_token]
    assert query["post_logout_redirect_uri"] == ["http://testserver/accounts/login/"]


def test_without_a_provider_the_sign_in_flow_is_not_there(client, settings):
    settings.OIDC_ISSUER = ""
    assert client.get("/sso/oidc/authenticate/").status_code == 404
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with" not in page and 'name="password"' in page


def test_an_unreachable_provider_gets_a_page_not_an_error(client, settings):
    settings.OIDC_ISSUER = "http://127.0.0.1:9"  # the discard port: nothing answers
    settings.OIDC_RP_CLIENT_ID = "arbiter"
    provider._discovery_cache.clear()
    response = client.get("/sso/oidc/authenticate/")
    assert response.status_code == 503
    assert b"could not complete the sign-in with" in response.content


def test_an_account_an_administrator_disabled_stays_disabled(sso, mapping, client):
    sso.set_users({"hal-0008": {"preferred_username": "hal", "groups": ["arbiter-owners"]}})
    provider_sign_in(client, "hal-0008")
    User.objects.filter(username="hal").update(is_active=False)
    client.logout()
    refused = provider_sign_in(client, "hal-0008")
    assert refused.status_code == 403 and b"Your Arbiter account is disabled" in refused.content
    assert not User.objects.get(username="hal").is_active
