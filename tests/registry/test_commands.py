"""Operators' commands: `token create|revoke` and `service_account create`, audited like every other write."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from governance.models import AuditEvent
from registry.models import ApiToken, ServiceAccount
from tests.conftest import bearer
from tests.factories import make_model


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue().strip()


def test_operator_provisions_a_pipeline(owner, team_alpha, api):
    out, _ = run(
        "service_account", "create", "ci-pipeline", "--role", "Model Owner", "--team", "alpha", "--description", "CI"
    )
    assert "Created service account ci-pipeline" in out
    account = ServiceAccount.objects.get(user__username="ci-pipeline")
    assert not account.user.has_usable_password() and account.description == "CI"
    assert set(account.user.groups.values_list("name", flat=True)) == {"Model Owner", "team:alpha"}

    make_model(owner, name="churn", team=team_alpha)
    secret, details = run(
        "token", "create", "ci-pipeline", "--scope", "read", "--scope", "write", "--name", "nightly", "--model", "churn"
    )
    token = ApiToken.objects.get(user=account.user)
    assert secret.startswith(token.prefix + "_") and "\n" not in secret, "the secret alone on stdout"
    assert token.scopes == ["read", "write"] and token.model.name == "churn"
    assert f"Created token {token.prefix} (nightly) for ci-pipeline" in details and secret not in details
    api.credentials(**bearer(secret))
    assert api.post("/api/v1/models/churn/versions/", {}, format="json").status_code == 201

    out, _ = run("token", "revoke", token.prefix)
    assert f"Revoked token {token.prefix}" in out
    assert api.get("/api/v1/models/churn/").status_code == 401
    events = AuditEvent.objects.filter(action__in=["service_account.created", "token.created", "token.revoked"])
    assert sorted(e.action for e in events) == ["service_account.created", "token.created", "token.revoked"]
    assert {e.actor_type for e in events} == {"system"}


def test_actor_is_named_in_the_audit_trail_and_must_be_an_administrator(administrator, owner):
    run("service_account", "create", "ci", "--actor", "administrator")
    run("token", "create", "ci", "--scope", "read", "--name", "t", "--expires-days", "0", "--actor", "administrator")
    assert ApiToken.objects.get(user__username="ci").expires_at is None
    assert set(
        AuditEvent.objects.filter(action__in=["service_account.created", "token.created"]).values_list(
            "actor_label", flat=True
        )
    ) == {"administrator"}
    with pytest.raises(CommandError, match="Only administrators create service accounts"):
        run("service_account", "create", "other", "--actor", "owner")
    with pytest.raises(CommandError, match="only create tokens for yourself"):
        run("token", "create", "ci", "--scope", "read", "--name", "t", "--actor", "owner")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("token", "create", "ghost", "--scope", "read", "--name", "t"), "No user named 'ghost'"),
        (("token", "create", "owner", "--scope", "read", "--name", "t", "--model", "nope"), "No model named 'nope'"),
        (("token", "create", "owner", "--scope", "read", "--name", " "), "Give the token a name"),
        (("token", "create", "owner", "--scope", "read", "--name", "t", "--expires-days", "-1"), "Expiry out of range"),
        (("token", "revoke", "arb_00000000"), "No token with prefix"),
        (("service_account", "create", "owner"), "That username is taken"),
        (("service_account", "create", "has space"), "not valid"),
        (("service_account", "create", "x", "--team", "nope"), "No team 'nope'"),
        (("token", "create", "owner", "--scope", "read", "--name", "t", "--actor", "ghost"), "No actor named"),
    ],
)
def test_commands_explain_what_is_wrong(owner, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_revoking_twice_says_so(owner):
    secret, _ = run("token", "create", "owner", "--scope", "read", "--name", "t")
    prefix = ApiToken.objects.get().prefix
    run("token", "revoke", prefix)
    with pytest.raises(CommandError, match="already revoked"):
        run("token", "revoke", prefix)
    assert AuditEvent.objects.filter(action="token.revoked").count() == 1
