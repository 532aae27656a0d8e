"""API tokens from creation to revocation: shown once, stored as a hash, narrowed by scope and model, never
more than their owner holds, and refused with a reason when expired, revoked or malformed."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.utils import timezone

from governance.models import AuditEvent
from registry import services
from registry.choices import Visibility
from registry.exceptions import InvalidInput
from registry.models import ApiToken
from registry.permissions import Action, Role
from tests.conftest import bearer
from tests.factories import make_model, make_user, make_version


@pytest.fixture
def pipeline(db):
    return services.service_account_create(actor=None, username="ci-pipeline", roles=[Role.MODEL_OWNER]).user


def _text_columns() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')"
        )
        return cursor.fetchall()


def _tables_containing(text: str) -> list[str]:
    found = []
    with connection.cursor() as cursor:
        for table, column in _text_columns():
            cursor.execute(f'SELECT count(*) FROM "{table}" WHERE "{column}"::text LIKE %s', [f"%{text}%"])
            if cursor.fetchone()[0]:
                found.append(f"{table}.{column}")
    return found


def test_secret_is_shown_once_and_stored_nowhere(postgres, owner, api):
    """Created on the page, used, revoked: the secret appears in no text column of any table."""
    browser = Client()
    browser.force_login(owner)
    created = browser.post("/account/tokens/", {"name": "ci", "scopes": ["write"], "expires_days": 30})
    secret = created.context["new_secret"]
    assert secret.encode() in created.content
    assert secret.encode() not in browser.get("/account/tokens/").content, "shown once only"
    api.credentials(**bearer(secret))
    assert api.post("/api/v1/models/", {"name": "churn", "title": "Churn"}, format="json").status_code == 201
    api.credentials(**bearer(secret + "x"))
    assert api.get("/api/v1/models/").status_code == 401
    token = ApiToken.objects.get(user=owner)
    services.token_revoke(actor=owner, token=token)

    random_part = secret.removeprefix(token.prefix + "_")
    assert len(random_part) >= 40
    assert _text_columns(), "the introspection query found no columns to search"
    assert _tables_containing(secret) == []
    assert _tables_containing(random_part) == []
    assert _tables_containing(token.prefix), "the prefix (not secret) is stored for identification"


def test_token_use_records_last_used_time_and_address(owner, api):
    token, secret = services.token_create(actor=owner, user=owner, name="ci", scopes=["read"])
    assert token.last_used_at is None
    api.credentials(**bearer(secret))
    before = timezone.now()
    assert api.get("/api/v1/models/", REMOTE_ADDR="10.1.2.3").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at >= before and token.last_used_ip == "10.1.2.3"
    api.get("/api/v1/models/", REMOTE_ADDR="10.9.9.9")
    token.refresh_from_db()
    assert token.last_used_ip == "10.9.9.9", "a new address is recorded at once"


def test_read_token_cannot_register_a_version(owner, api):
    make_model(owner, name="m")
    _, secret = services.token_create(actor=owner, user=owner, name="ci", scopes=["read"])
    api.credentials(**bearer(secret))
    assert api.get("/api/v1/models/m/versions/").status_code == 200
    response = api.post("/api/v1/models/m/versions/", {"description": "v"}, format="json")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "permission_denied" and "'write' scope" in error["message"]
    refused = api.post("/api/v1/models/", {"name": "x", "title": "x"}, format="json")
    assert refused.status_code == 403 and "'write' scope" in refused.json()["error"]["message"]


def test_model_restricted_token_reaches_only_its_model(owner, api):
    allowed = make_model(owner, name="allowed")
    make_version(owner, allowed)
    make_version(owner, make_model(owner, name="other"))
    _, secret = services.token_create(actor=owner, user=owner, name="ci", scopes=["write"], model=allowed)
    api.credentials(**bearer(secret))
    assert api.get("/api/v1/models/allowed/versions/1/").status_code == 200
    assert api.post("/api/v1/models/allowed/versions/", {}, format="json").status_code == 201
    for url in ("/api/v1/models/other/", "/api/v1/models/other/versions/", "/api/v1/models/other/versions/1/"):
        assert api.get(url).status_code == 404, url
    assert api.post("/api/v1/models/other/versions/", {}, format="json").status_code == 404
    listed = api.get("/api/v1/models/").json()
    assert [m["name"] for m in listed["results"]] == ["allowed"] and listed["count"] == 1
    assert api.post("/api/v1/models/", {"name": "new", "title": "New"}, format="json").status_code == 403


def test_expired_revoked_and_malformed_tokens_get_401_with_a_reason(owner, api):
    token, secret = services.token_create(actor=owner, user=owner, name="ci", scopes=["read"], expires_days=1)
    api.credentials(**bearer(secret))
    assert api.get("/api/v1/models/").status_code == 200

    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    expired = api.get("/api/v1/models/")
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "token_expired" and "expired on" in expired.json()["error"]["message"]
    assert expired["WWW-Authenticate"].startswith("Bearer")

    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() + timedelta(days=1))
    services.token_revoke(actor=owner, token=token)
    revoked = api.get("/api/v1/models/")
    assert revoked.status_code == 401 and revoked.json()["error"]["message"] == "This API token has been revoked."

    for header, code in (
        ("Bearer not-a-token", "token_malformed"),
        ("Bearer arb_00000000_unknown", "token_invalid"),
        ("Bearer a b", "token_malformed"),
    ):
        api.credentials(HTTP_AUTHORIZATION=header)
        response = api.get("/api/v1/models/")
        assert response.status_code == 401 and response.json()["error"]["code"] == code, header


def test_default_expiry_is_ninety_days(owner, settings):
    token, _ = services.token_create(actor=owner, user=owner, name="ci", scopes=["read"])
    assert timedelta(days=89, hours=23) < token.expires_at - timezone.now() <= timedelta(days=90)


def test_token_never_grants_more_than_its_owner_holds(owner, api):
    """The owner of a restricted model grants a viewer change rights; the viewer's write token works until the
    grant is taken away, then answers 403, then 404 once view is revoked too."""
    model = make_model(owner, name="secret", visibility=Visibility.RESTRICTED)
    colleague = make_user("colleague", roles=[Role.VIEWER])
    services.access_grant(actor=owner, model=model, grantee=colleague, actions=[Action.VIEW, Action.CHANGE])
    _, secret = services.token_create(actor=colleague, user=colleague, name="ci", scopes=["write"])
    api.credentials(**bearer(secret))
    assert api.post("/api/v1/models/secret/versions/", {}, format="json").status_code == 201

    services.access_revoke(actor=owner, model=model, grantee=colleague, actions=[Action.CHANGE])
    denied = api.post("/api/v1/models/secret/versions/", {}, format="json")
    assert denied.status_code == 403 and "permission to change" in denied.json()["error"]["message"]
    assert api.get("/api/v1/models/secret/").status_code == 200

    services.access_revoke(actor=owner, model=model, grantee=colleague, actions=[Action.VIEW])
    assert api.get("/api/v1/models/secret/").status_code == 404
    assert api.get("/api/v1/models/").json()["count"] == 0

    # An admin-scope token of someone without the Model Owner role still cannot register models.
    _, admin_scope = services.token_create(actor=colleague, user=colleague, name="admin", scopes=["admin"])
    api.credentials(**bearer(admin_scope))
    assert api.post("/api/v1/models/", {"name": "x", "title": "x"}, format="json").status_code == 403


def test_disabled_owner_disables_the_token(owner, api):
    _, secret = services.token_create(actor=owner, user=owner, name="ci", scopes=["read"])
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    api.credentials(**bearer(secret))
    response = api.get("/api/v1/models/")
    assert response.status_code == 401 and response.json()["error"]["code"] == "user_inactive"


def test_a_token_cannot_mint_a_broader_token(owner, api):
    model = make_model(owner, name="m")
    _, write = services.token_create(actor=owner, user=owner, name="w", scopes=["write"])
    api.credentials(**bearer(write))
    refused = api.post("/api/v1/tokens/", {"name": "t", "scopes": ["read"]}, format="json")
    assert refused.status_code == 403 and "'admin' scope" in refused.json()["error"]["message"]

    _, admin = services.token_create(actor=owner, user=owner, name="a", scopes=["admin"])
    api.credentials(**bearer(admin))
    assert api.post("/api/v1/tokens/", {"name": "t", "scopes": ["write"]}, format="json").status_code == 201
    vote = api.post("/api/v1/tokens/", {"name": "t", "scopes": ["vote"]}, format="json")
    assert vote.status_code == 403 and "vote" in vote.json()["error"]["message"]

    _, narrow = services.token_create(actor=owner, user=owner, name="n", scopes=["admin"], model=model)
    api.credentials(**bearer(narrow))
    broad = api.post("/api/v1/tokens/", {"name": "t", "scopes": ["read"]}, format="json")
    assert broad.status_code == 403 and "restricted to one model" in broad.json()["error"]["message"]
    same = api.post("/api/v1/tokens/", {"name": "t", "scopes": ["read"], "model": "m"}, format="json")
    assert same.status_code == 201 and same.json()["model"] == "m"


def test_tokens_are_for_oneself_or_for_service_accounts(owner, teammate, administrator, pipeline):
    with pytest.raises(PermissionDenied, match="only create tokens for yourself"):
        services.token_create(actor=owner, user=teammate, name="t", scopes=["read"])
    with pytest.raises(PermissionDenied, match="for service accounts, not for other people"):
        services.token_create(actor=administrator, user=owner, name="t", scopes=["read"])
    token, _ = services.token_create(actor=administrator, user=pipeline, name="t", scopes=["write"])
    event = AuditEvent.objects.get(action="token.created", target_id=str(token.pk))
    assert event.actor_label == "administrator" and event.changes["owner"] == "ci-pipeline"
    assert token.prefix in event.target_label


def test_service_account_token_works_for_a_pipeline(pipeline, team_alpha, owner, api):
    """The pipeline joins team Alpha, so it reaches Alpha's restricted model; nothing else."""
    services.team_member_add(actor=None, team=team_alpha, user=pipeline)
    make_model(owner, name="alpha-secret", visibility=Visibility.RESTRICTED, team=team_alpha)
    make_model(owner, name="private", visibility=Visibility.RESTRICTED)
    _, secret = services.token_create(actor=None, user=pipeline, name="ci", scopes=["write"])
    api.credentials(**bearer(secret))
    created = api.post("/api/v1/models/alpha-secret/versions/", {"source": "runs:/1"}, format="json")
    assert created.status_code == 201 and created.json()["created_by"] == "ci-pipeline"
    assert api.get("/api/v1/models/private/").status_code == 404
    event = AuditEvent.objects.filter(action="version.created").latest("seq")
    assert event.actor_type == "service" and event.actor_token.startswith("arb_")


# --- Lifetime: API_TOKEN_MAX_DAYS --------------------------------------------------------------------------------


def test_nobody_but_an_administrator_mints_a_token_beyond_the_maximum(owner, administrator, pipeline, settings):
    settings.API_TOKEN_MAX_DAYS = 365
    with pytest.raises(InvalidInput) as refused:
        services.token_create(actor=owner, user=owner, name="ci", scopes=["read"], expires_days=366)
    assert refused.value.code == "token_expiry_too_long" and refused.value.fields == {
        "expires_days": ["At most 365 days."]
    }
    token, _ = services.token_create(actor=owner, user=owner, name="ci", scopes=["read"], expires_days=365)
    assert token.expires_at is not None
    long, _ = services.token_create(actor=administrator, user=pipeline, name="ci", scopes=["read"], expires_days=700)
    assert long.expires_at - timezone.now() > timedelta(days=699)


def test_a_token_that_never_expires_is_for_service_accounts_from_an_administrator(owner, administrator, pipeline):
    for actor, user in ((owner, owner), (administrator, administrator)):
        with pytest.raises(InvalidInput) as refused:
            services.token_create(actor=actor, user=user, name="ci", scopes=["read"], expires_days=0)
        assert refused.value.code == "token_expiry_required"
    token, _ = services.token_create(actor=administrator, user=pipeline, name="svc", scopes=["read"], expires_days=0)
    assert token.expires_at is None
    event = AuditEvent.objects.get(action="token.created", target_id=str(token.pk))
    assert event.actor_label == "administrator" and event.changes["expires_at"] is None


def test_the_api_and_the_token_page_refuse_a_never_expiring_personal_token(owner, api):
    _, secret = services.token_create(actor=owner, user=owner, name="ci", scopes=["read", "admin"])
    api.credentials(**bearer(secret))
    response = api.post("/api/v1/tokens/", {"name": "t", "scopes": ["read"], "expires_days": 0}, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == "token_expiry_required"
    assert "expires_days" in response.json()["error"]["fields"]
    browser = Client()
    browser.force_login(owner)
    page = browser.post("/account/tokens/", {"name": "ci", "scopes": ["read"], "expires_days": 400})
    assert "At most 365 days." in page.context["form"].errors["expires_days"]
    assert ApiToken.objects.filter(user=owner).count() == 1
