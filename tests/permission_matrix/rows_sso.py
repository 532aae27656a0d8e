"""Matrix rows for the administrators' Sign-in page (single sign-on). The provider's sign-in flow itself
(`sso:oidc-authenticate`, `sso:oidc-callback`) is exempt like the login page: tests/sso covers it."""

from governance.sso import services
from governance.sso.models import BreakGlassAccount
from tests.factories import make_user
from tests.permission_matrix import ADMINISTRATORS, Endpoint


def _admin_only(persona: str) -> bool:
    return persona in ADMINISTRATORS


def _admin_or_auditor(persona: str) -> bool:
    return persona in ADMINISTRATORS or persona == "auditor"


def _mapping(ctx: dict, visibility: str, user) -> dict:
    return {"pk": services.group_mapping_create(actor=None, group="matrix-group", role="Viewer").pk}


def _break_glass(ctx: dict, visibility: str, user) -> dict:
    account = BreakGlassAccount.objects.create(user=make_user("matrix-break-glass"), reason="Matrix.")
    return {"pk": account.pk}


ROWS = [
    Endpoint("sso:settings", action=_admin_or_auditor, model_scoped=False),
    Endpoint(
        "sso:settings",
        "post",
        action=_admin_only,
        ok=302,
        model_scoped=False,
        data={"form": "mapping", "mapping-group": "matrix-reviewers", "mapping-role": "Reviewer"},
    ),
    Endpoint("sso:mapping-delete", "post", action=_admin_only, ok=302, model_scoped=False, url_kwargs=_mapping),
    Endpoint("sso:break-glass-revoke", "post", action=_admin_only, ok=302, model_scoped=False, url_kwargs=_break_glass),
]
