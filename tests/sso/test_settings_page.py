"""The administrators' Sign-in page and `manage.py sso_group_map`: mappings, links and break-glass accounts
go through the audited services; mistakes are shown next to the field; auditors read, and change nothing."""

import pytest
from django.core.management import CommandError, call_command

from governance.models import AuditEvent
from governance.sso.models import BreakGlassAccount, GroupMapping, Identity

pytestmark = pytest.mark.django_db


def test_an_administrator_maps_a_group_to_a_team(administrator, team_alpha, client):
    client.force_login(administrator)
    response = client.post(
        "/sso/sign-in/", {"form": "mapping", "mapping-group": "ml-alpha", "mapping-team": team_alpha.slug}
    )
    assert response.status_code == 302
    mapping = GroupMapping.objects.get()
    assert (mapping.group, mapping.team) == ("ml-alpha", team_alpha)
    event = AuditEvent.objects.get(action="sso.mapping_created")
    assert event.changes == {"group": "ml-alpha", "target": "team Alpha"}
    assert "ml-alpha" in client.get("/sso/sign-in/").content.decode()


def test_two_targets_in_one_row_are_refused_next_to_the_field(administrator, team_alpha, client):
    client.force_login(administrator)
    response = client.post(
        "/sso/sign-in/",
        {"form": "mapping", "mapping-group": "ml", "mapping-role": "Reviewer", "mapping-team": team_alpha.slug},
    )
    assert response.status_code == 200 and not GroupMapping.objects.exists()
    assert 'id="id_mapping-role_error"' in response.content.decode()


def test_linking_and_break_glass_from_the_page(administrator, owner, settings, client):
    settings.OIDC_ISSUER = "https://login.example.org"
    client.force_login(administrator)
    client.post("/sso/sign-in/", {"form": "link", "link-username": "owner", "link-subject": "00u1abc"})
    assert Identity.objects.get(user=owner).subject == "00u1abc"
    client.post(
        "/sso/sign-in/",
        {"form": "break_glass", "break_glass-username": "administrator", "break_glass-reason": "IdP outage."},
    )
    account = BreakGlassAccount.objects.get()
    assert client.post(f"/sso/sign-in/break-glass/{account.pk}/revoke/").status_code == 302
    assert not BreakGlassAccount.objects.exists()
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="sso.").order_by("seq")] == [
        "sso.identity_linked",
        "sso.break_glass_granted",
        "sso.break_glass_revoked",
    ]


def test_auditors_read_the_page_and_cannot_change_it(auditor, client):
    client.force_login(auditor)
    page = client.get("/sso/sign-in/")
    assert page.status_code == 200 and "Read-only" in page.content.decode()
    assert (
        client.post("/sso/sign-in/", {"form": "mapping", "mapping-group": "x", "mapping-role": "Viewer"}).status_code
        == 403
    )


def test_the_group_map_setting_loads_once(administrator, team_alpha, settings):
    settings.OIDC_GROUP_MAP = {
        "arbiter-admins": {"roles": ["Administrator"]},
        "ml-alpha": {"roles": ["Model Owner"], "teams": ["alpha"], "committees": ["peer-review"]},
    }
    call_command("sso_group_map")
    call_command("sso_group_map")
    assert sorted(str(m) for m in GroupMapping.objects.all()) == [
        "arbiter-admins → role Administrator",
        "ml-alpha → committee Peer Review",
        "ml-alpha → role Model Owner",
        "ml-alpha → team Alpha",
    ]
    settings.OIDC_GROUP_MAP = {"ml-beta": {"teams": ["beta"]}}
    with pytest.raises(CommandError, match="no team with slug beta"):
        call_command("sso_group_map")


def test_the_django_admin_adds_and_removes_mappings_through_the_services(administrator, client):
    client.force_login(administrator)
    added = client.post(
        "/admin/sso/groupmapping/add/", {"group": "arbiter-audit", "role": "Auditor", "team": "", "committee": ""}
    )
    assert added.status_code == 302
    mapping = GroupMapping.objects.get()
    client.post(f"/admin/sso/groupmapping/{mapping.pk}/delete/", {"post": "yes"})
    assert not GroupMapping.objects.exists()
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="sso.").order_by("seq")] == [
        "sso.mapping_created",
        "sso.mapping_deleted",
    ]
