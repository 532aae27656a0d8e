"""Matrix rows for the catalog: models, versions, access, tokens, history (browser and v1 API)."""

from registry.choices import TokenScope
from registry.permissions import Action
from tests.permission_matrix import CREATES_MODELS, READS_AUDIT, Endpoint

ROWS = [
    # --- browser -------------------------------------------------------------------------------------------
    Endpoint("registry:catalog", action=None, model_scoped=False),
    Endpoint("registry:model-create", action=lambda p: p in CREATES_MODELS, model_scoped=False),
    Endpoint("registry:model-detail"),
    Endpoint("registry:model-edit", action=Action.CHANGE),
    Endpoint("registry:model-delete", "post", Action.DELETE, ok=302),
    Endpoint("registry:model-access"),
    Endpoint(
        "registry:model-access-revoke",
        "post",
        Action.MANAGE_ACCESS,
        ok=302,
        data=lambda ctx, visibility: {"grantee_type": "user", "grantee_id": ctx["other"].pk},
    ),
    Endpoint("registry:version-detail"),
    Endpoint("registry:version-create", action=Action.CHANGE),
    Endpoint("registry:version-edit", action=Action.CHANGE),
    Endpoint(
        "registry:version-transition", "post", Action.CHANGE, ok=302, data={"stage": "staging", "justification": "x"}
    ),
    Endpoint("registry:tokens", action=None, model_scoped=False),
    Endpoint(
        "registry:tokens",
        "post",
        action=None,
        model_scoped=False,
        data={"name": "t", "scopes": ["read"], "expires_days": 30},
        personal=True,
    ),
    Endpoint("registry:token-revoke", "post", action=None, ok=302, model_scoped=False, personal=True),
    Endpoint("governance:audit-log", action=lambda p: p in READS_AUDIT, model_scoped=False),
    Endpoint("governance:model-history"),
    # --- API -----------------------------------------------------------------------------------------------
    Endpoint("api:model-list", api=True, action=None, model_scoped=False),
    Endpoint(
        "api:model-list",
        "post",
        api=True,
        action=lambda p: p in CREATES_MODELS,
        ok=201,
        model_scoped=False,
        data={"name": "brand-new", "title": "Brand new"},
    ),
    Endpoint("api:model-detail", api=True),
    Endpoint("api:model-detail", "patch", Action.CHANGE, api=True, data={"title": "Renamed"}),
    Endpoint("api:model-detail", "delete", Action.DELETE, api=True, ok=204),
    Endpoint("api:version-list", api=True),
    Endpoint("api:version-list", "post", Action.CHANGE, api=True, ok=201, data={"description": "new"}),
    Endpoint("api:version-detail", api=True),
    Endpoint("api:version-detail", "patch", Action.CHANGE, api=True, data={"description": "edited"}),
    Endpoint("api:version-transition", "post", Action.CHANGE, api=True, data={"stage": "staging"}),
    Endpoint("api:token-list", api=True, action=None, model_scoped=False),
    Endpoint(
        "api:token-list",
        "post",
        api=True,
        action=None,
        ok=201,
        model_scoped=False,
        data={"name": "t", "scopes": ["read"]},
        scope=TokenScope.ADMIN,
        personal=True,
    ),
    Endpoint(
        "api:token-revoke",
        "delete",
        api=True,
        action=None,
        ok=204,
        model_scoped=False,
        scope=TokenScope.ADMIN,
        personal=True,
    ),
]
