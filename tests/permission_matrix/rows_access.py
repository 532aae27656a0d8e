"""Matrix rows for access control: the access API, form submissions that change models and grants, and the
administrators' pages for teams and service accounts."""

from registry import services
from registry.permissions import Action
from tests.permission_matrix import ADMINISTRATORS, CREATES_MODELS, Endpoint

MODEL_FORM = {"title": "Renamed", "task_type": "other", "framework": "other"}


def _admin_only(persona: str) -> bool:
    return persona in ADMINISTRATORS


def _admin_or_auditor(persona: str) -> bool:
    """Auditors read everything, the administrators' pages included; they change nothing."""
    return persona in ADMINISTRATORS or persona == "auditor"


def _team_page(ok: int):
    """A team's page: administrators and auditors see every team, its members (the internal model's team is
    alpha: the owner and the teammate) see their own; anyone else gets 404. Only administrators change it."""

    def expect(persona: str, visibility: str) -> int:
        if persona in ADMINISTRATORS:
            return ok
        if persona in ("auditor", "owner", "teammate"):
            return 200 if ok == 200 else 403
        return 404

    return expect


def _service_account(ctx: dict, visibility: str, user) -> dict:
    account = services.service_account_create(actor=None, username="matrix-pipeline")
    return {"username": account.user.get_username()}


def _service_account_token(ctx: dict, visibility: str, user) -> dict:
    account = services.service_account_create(actor=None, username="matrix-pipeline")
    token, _ = services.token_create(actor=None, user=account.user, name="matrix", scopes=["read"])
    return {"username": account.user.get_username(), "prefix": token.prefix}


def _team(ctx: dict, visibility: str, user) -> dict:
    return {"slug": ctx["models"]["internal"].team.slug}


def _team_member(ctx: dict, visibility: str, user) -> dict:
    return {**_team(ctx, visibility, user), "user_id": ctx["people"]["teammate"].pk}


ROWS = [
    # --- browser: form submissions that change the catalog -----------------------------------------------
    Endpoint(
        "registry:model-create",
        "post",
        action=lambda p: p in CREATES_MODELS,
        ok=302,
        model_scoped=False,
        data={**MODEL_FORM, "name": "brand-new", "visibility": "internal"},
    ),
    Endpoint(
        "registry:model-edit",
        "post",
        Action.CHANGE,
        ok=302,
        data={**MODEL_FORM, "visibility": "restricted"},
    ),
    Endpoint(
        "registry:model-access",
        "post",
        Action.MANAGE_ACCESS,
        ok=302,
        data={"grantee_type": "user", "username": "nobody", "actions": [Action.VIEW.value]},
    ),
    Endpoint("registry:version-create", "post", Action.CHANGE, ok=302, data={"description": "new"}),
    Endpoint("registry:version-edit", "post", Action.CHANGE, ok=302, data={"description": "edited", "tags": ""}),
    # --- browser: administrators' pages ------------------------------------------------------------------
    Endpoint("registry:service-accounts", action=_admin_or_auditor, model_scoped=False),
    Endpoint(
        "registry:service-accounts",
        "post",
        action=_admin_only,
        ok=302,
        model_scoped=False,
        data={"username": "new-pipeline", "roles": ["Model Owner"]},
    ),
    Endpoint(
        "registry:service-account-detail", action=_admin_or_auditor, model_scoped=False, url_kwargs=_service_account
    ),
    Endpoint(
        "registry:service-account-detail",
        "post",
        action=_admin_only,
        model_scoped=False,
        url_kwargs=_service_account,
        data={"name": "nightly", "scopes": ["read"], "expires_days": 30},
    ),
    Endpoint(
        "registry:service-account-token-revoke",
        "post",
        action=_admin_only,
        ok=302,
        model_scoped=False,
        url_kwargs=_service_account_token,
    ),
    Endpoint("registry:teams", action=None, model_scoped=False),  # everyone: their own teams, overseers all
    Endpoint("registry:teams", "post", action=_admin_only, ok=302, model_scoped=False, data={"name": "Gamma"}),
    Endpoint("registry:team-detail", model_scoped=False, url_kwargs=_team, expect=_team_page(200)),
    Endpoint(
        "registry:team-detail",
        "post",
        action=_admin_only,
        ok=302,
        model_scoped=False,
        url_kwargs=_team,
        data={"username": "nobody"},
        expect=_team_page(302),
    ),
    Endpoint(
        "registry:team-member-remove",
        "post",
        action=_admin_only,
        ok=302,
        model_scoped=False,
        url_kwargs=_team_member,
        expect=_team_page(302),
    ),
    # --- API ---------------------------------------------------------------------------------------------
    Endpoint("api:model-access", api=True),
    Endpoint(
        "api:model-access",
        "post",
        Action.MANAGE_ACCESS,
        api=True,
        data={"user": "nobody", "actions": ["view"]},
    ),
    Endpoint(
        "api:model-access-user",
        "delete",
        Action.MANAGE_ACCESS,
        api=True,
        ok=204,
        url_kwargs=lambda ctx, visibility, user: {"grantee": ctx["other"].get_username()},
    ),
    Endpoint(
        "api:model-access-team",
        "delete",
        Action.MANAGE_ACCESS,
        api=True,
        ok=204,
        url_kwargs=lambda ctx, visibility, user: {"grantee": ctx["models"][visibility].team.slug},
    ),
]
