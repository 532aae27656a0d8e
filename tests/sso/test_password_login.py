"""PASSWORD_LOGIN=0: the sign-in page hides the password form, passwords are refused for everyone but
break-glass administrator accounts (on our page and the admin's), and each break-glass sign-in is audited."""

import pytest

from governance.models import AuditEvent
from governance.sso import services
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def passwords_off(settings):
    settings.PASSWORD_LOGIN = False
    settings.OIDC_PROVIDER_NAME = "Contoso Entra ID"


@pytest.fixture
def break_glass(administrator):
    services.break_glass_grant(actor=administrator, user=administrator, reason="The identity provider is down.")
    return administrator


def test_a_normal_users_password_is_refused_with_a_clear_message(passwords_off, owner, client):
    response = client.post("/accounts/login/", {"username": "owner", "password": PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert "Password sign-in is off: sign in with Contoso Entra ID" in response.content.decode()
    admin_site = client.post("/admin/login/", {"username": "owner", "password": PASSWORD})
    assert "_auth_user_id" not in client.session and admin_site.status_code == 200


def test_the_break_glass_account_signs_in_and_it_is_audited(passwords_off, break_glass, client):
    response = client.post("/accounts/login/", {"username": "administrator", "password": PASSWORD})
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == break_glass.pk
    event = AuditEvent.objects.get(action="login.break_glass")
    assert (event.actor_label, event.changes) == ("administrator", {"method": "password"})


def test_an_administrator_without_the_flag_is_refused_too(passwords_off, administrator, client):
    client.post("/accounts/login/", {"username": "administrator", "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert not AuditEvent.objects.filter(action="login.break_glass").exists()


def test_the_password_form_is_hidden_unless_asked_for(passwords_off, client):
    page = client.get("/accounts/login/").content.decode()
    assert 'name="password"' not in page and "Break-glass administrator sign-in" in page
    assert 'name="password"' in client.get("/accounts/login/?break-glass").content.decode()


def test_with_passwords_on_nothing_changes_and_nothing_is_flagged(owner, client):
    assert client.post("/accounts/login/", {"username": "owner", "password": PASSWORD}).status_code == 302
    assert not AuditEvent.objects.filter(action="login.break_glass").exists()


def test_only_administrators_can_be_break_glass_accounts(administrator, owner):
    with pytest.raises(services.InvalidInput, match="Only administrators"):
        services.break_glass_grant(actor=administrator, user=owner, reason="Convenience.")
