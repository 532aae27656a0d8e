"""Matrix rows for the governance workflow: reviews, requests and votes, committees, policies, promotion,
rollback, break-glass, aliases and the production version (browser and API).

The world's models are made governable on demand (`open_request`): documented, minimal risk, version 1 in
staging, the reviewer persona on the Peer Review committee, and an open production request by the owner.
"""

from governance import services
from governance.models import ApprovalPolicy, ApprovalRequest, Committee
from registry import services as registry_services
from registry.choices import RiskTier, Stage
from registry.permissions import Action
from tests.factories import add_valid_file
from tests.permission_matrix import MODEL_ACTORS, SEES_RESTRICTED, Endpoint

MANAGERS = {"administrator", "risk_officer"}


def _ready(ctx: dict, visibility: str):
    """Version 1 documented, minimal risk, with a valid file, in staging; the reviewer persona on the Peer
    Review committee.
    Idempotent: several rows of one test may ask for it."""
    model = type(ctx["models"][visibility]).objects.get(pk=ctx["models"][visibility].pk)
    version = model.versions.get(version=1)
    peer = Committee.objects.get(slug="peer-review")
    reviewer, admin = ctx["people"]["reviewer"], ctx["people"]["administrator"]
    if not peer.memberships.filter(user=reviewer).exists():
        services.committee_member_set(actor=admin, committee=peer, user=reviewer)
    if model.risk_tier != RiskTier.MINIMAL:
        registry_services.model_update(
            actor=model.owner, model=model, data={"intended_use": "Scoring.", "limitations": "Small data."}
        )
        registry_services.model_risk_tier_set(actor=None, model=model, tier=RiskTier.MINIMAL)
    if version.stage == Stage.DEVELOPMENT:
        registry_services.version_update(actor=model.owner, version=version, data={"training_data": ["s3://d"]})
        if not version.artifacts.exists():
            add_valid_file(model.owner, version)
        version = services.version_transition(actor=model.owner, version=version, stage=Stage.STAGING)
    return model, version


def _request(model, version, ctx):
    request = ApprovalRequest.objects.filter(version=version, target_stage=Stage.PRODUCTION).first()
    if request is None:
        request = services.approval_request_submit(
            actor=model.owner, version=version, target_stage=Stage.PRODUCTION, justification="Ready."
        )
    return request


def open_request(ctx: dict, visibility: str, user) -> dict:
    model, version = _ready(ctx, visibility)
    return {"request_id": _request(model, version, ctx).pk}


def returned_request(ctx: dict, visibility: str, user) -> dict:
    """A request the reviewer sent back for changes: its owner may resubmit it."""
    model, version = _ready(ctx, visibility)
    request = _request(model, version, ctx)
    if request.status == "open":
        peer = Committee.objects.get(slug="peer-review")
        services.vote_cast(
            actor=ctx["people"]["reviewer"],
            request=request,
            committee=peer,
            decision="request_changes",
            comment="Add the drift report.",
        )
    return {"request_id": request.pk}


def _approve(model, version, ctx):
    request = _request(model, version, ctx)
    if request.status == "open":
        peer = Committee.objects.get(slug="peer-review")
        services.vote_cast(actor=ctx["people"]["reviewer"], request=request, committee=peer, decision="approve")
    return request


def approved(ctx: dict, visibility: str, user) -> dict:
    """Version 1 approved for production, still in staging: its owner may promote it."""
    model, version = _ready(ctx, visibility)
    _approve(model, version, ctx)
    return {}


def in_production(ctx: dict, visibility: str, user) -> dict:
    model, version = _ready(ctx, visibility)
    if version.stage != Stage.PRODUCTION:
        _approve(model, version, ctx)
        services.version_transition(actor=model.owner, version=version, stage=Stage.PRODUCTION)
    return {}


def two_promotions(ctx: dict, visibility: str, user) -> dict:
    """Version 1 served in production, then version 2 replaced it: a rollback can put version 1 back."""
    in_production(ctx, visibility, user)
    model = type(ctx["models"][visibility]).objects.get(pk=ctx["models"][visibility].pk)
    if model.production_version == 1:
        second = registry_services.version_register(
            actor=model.owner, model=model, training_data=["s3://d2"], metrics=[{"name": "auc", "value": 0.9}]
        )
        add_valid_file(model.owner, second)
        second = services.version_transition(actor=model.owner, version=second, stage=Stage.STAGING)
        _approve(model, second, ctx)
        services.version_transition(actor=model.owner, version=second, stage=Stage.PRODUCTION)
    return {}


def governable(ctx: dict, visibility: str, user) -> dict:
    _ready(ctx, visibility)
    return {}


def with_alias(ctx: dict, visibility: str, user) -> dict:
    model = ctx["models"][visibility]
    if not model.aliases.filter(name="champion").exists():
        services.alias_set(actor=model.owner, model=model, name="champion", version=model.versions.get(version=1))
    return {"alias": "champion"}


def committee(ctx: dict, visibility: str, user) -> dict:
    return {"slug": "peer-review"}


def policy(ctx: dict, visibility: str, user) -> dict:
    return {"policy_id": ApprovalPolicy.objects.get(target_stage="production", risk_tier="high").pk}


def manager_only(ok: int):
    return lambda persona, visibility: ok if persona in MANAGERS else 403


def voting(ok: int):
    """Only the reviewer (on Peer Review, not conflicted) may vote; anyone else who can see the request is
    refused (403), others get 404. Committee members see restricted models routed to them."""

    def expect(persona: str, visibility: str) -> int:
        sees = visibility == "internal" or persona in SEES_RESTRICTED or persona == "reviewer"
        if not sees:
            return 404
        return ok if persona == "reviewer" else 403

    return expect


def request_view(persona: str, visibility: str) -> int:
    sees = visibility == "internal" or persona in SEES_RESTRICTED or persona == "reviewer"
    return 200 if sees else 404


def request_owner_action(ok: int):
    def expect(persona: str, visibility: str) -> int:
        sees = visibility == "internal" or persona in SEES_RESTRICTED or persona == "reviewer"
        if not sees:
            return 404
        return ok if persona in MODEL_ACTORS else 403

    return expect


def routed(ok: int, action: Action = Action.CHANGE):
    """Rows whose setup routes a request to the reviewer's committee: the reviewer then sees the model too."""

    def expect(persona: str, visibility: str) -> int:
        sees = visibility == "internal" or persona in SEES_RESTRICTED or persona == "reviewer"
        if not sees:
            return 404
        return ok if action == Action.VIEW or persona in MODEL_ACTORS else 403

    return expect


def break_glass(ok: int):
    def expect(persona: str, visibility: str) -> int:
        sees = visibility == "internal" or persona in SEES_RESTRICTED
        if not sees:
            return 404
        return ok if persona == "administrator" else 403

    return expect


def new_committee(ctx, visibility):
    return {
        "name": f"Board {len(Committee.objects.all())}",
        "quorum_rule": "count",
        "min_approvals": 1,
        "approval_fraction": 0.5,
    }


ROWS = [
    # --- browser -------------------------------------------------------------------------------------------
    Endpoint("governance:dashboard", action=None, model_scoped=False),
    Endpoint("governance:reviews", action=None, model_scoped=False),
    Endpoint("governance:inbox", action=None, model_scoped=False),
    Endpoint("governance:inbox", "post", action=None, ok=302, model_scoped=False, personal=True),
    Endpoint("governance:committees", action=None, model_scoped=False),
    Endpoint("governance:committees", "post", model_scoped=False, data=new_committee, expect=manager_only(302)),
    Endpoint("governance:committee-detail", action=None, model_scoped=False, url_kwargs=committee),
    Endpoint(
        "governance:committee-detail",
        "post",
        model_scoped=False,
        url_kwargs=committee,
        data=lambda ctx, visibility: {"form": "member", "username": "grantee", "role": "member"},
        expect=manager_only(302),
    ),
    Endpoint("governance:policies", action=None, model_scoped=False),
    Endpoint(
        "governance:policies",
        "post",
        model_scoped=False,
        data=lambda ctx, visibility: {
            "policy_id": ApprovalPolicy.objects.get(target_stage="production", risk_tier="high").pk
        },
        expect=manager_only(302),
    ),
    Endpoint("governance:model-production"),
    Endpoint("governance:model-rollback", "post", Action.CHANGE, url_kwargs=two_promotions, expect=routed(302)),
    Endpoint("governance:version-promote", "post", Action.CHANGE, url_kwargs=approved, expect=routed(302)),
    Endpoint("governance:version-approvals"),
    Endpoint(
        "governance:request-submit",
        "post",
        Action.SUBMIT,
        ok=302,
        url_kwargs=governable,
        data={"target_stage": "production", "justification": "Ready for production."},
    ),
    Endpoint(
        "governance:break-glass",
        "post",
        data={"stage": "staging", "justification": "Incident INC-7: forced for the matrix test run."},
        expect=break_glass(302),
    ),
    Endpoint("governance:request-detail", url_kwargs=open_request, expect=request_view),
    Endpoint(
        "governance:request-vote",
        "post",
        scope="vote",
        url_kwargs=open_request,
        data=lambda ctx, visibility: {"committee": Committee.objects.get(slug="peer-review").pk, "decision": "approve"},
        expect=voting(302),
    ),
    Endpoint(
        "governance:request-withdraw", "post", Action.SUBMIT, url_kwargs=open_request, expect=request_owner_action(302)
    ),
    Endpoint(
        "governance:request-resubmit",
        "post",
        Action.SUBMIT,
        url_kwargs=returned_request,
        expect=request_owner_action(302),
    ),
    # --- API -----------------------------------------------------------------------------------------------
    Endpoint("governance_api:committee-list", api=True, action=None, model_scoped=False),
    Endpoint(
        "governance_api:committee-list",
        "post",
        api=True,
        model_scoped=False,
        data=new_committee,
        expect=manager_only(201),
    ),
    Endpoint("governance_api:committee-detail", api=True, action=None, model_scoped=False, url_kwargs=committee),
    Endpoint(
        "governance_api:committee-detail",
        "patch",
        api=True,
        model_scoped=False,
        url_kwargs=committee,
        data={"purpose": "Peer sign-off."},
        expect=manager_only(200),
    ),
    Endpoint(
        "governance_api:committee-members",
        "post",
        api=True,
        model_scoped=False,
        url_kwargs=committee,
        data={"username": "grantee", "role": "member"},
        expect=manager_only(200),
    ),
    Endpoint("governance_api:policy-list", api=True, action=None, model_scoped=False),
    Endpoint(
        "governance_api:policy-detail",
        "patch",
        api=True,
        model_scoped=False,
        url_kwargs=policy,
        data={"note": "Reviewed."},
        expect=manager_only(200),
    ),
    Endpoint("governance_api:request-list", api=True, action=None, model_scoped=False),
    Endpoint(
        "governance_api:request-list",
        "post",
        Action.SUBMIT,
        api=True,
        ok=201,
        url_kwargs=governable,
        data=lambda ctx, visibility: {
            "model": ctx["models"][visibility].name,
            "version": 1,
            "target_stage": "production",
            "justification": "Ready.",
        },
    ),
    Endpoint("governance_api:request-detail", api=True, url_kwargs=open_request, expect=request_view),
    Endpoint(
        "governance_api:request-vote",
        "post",
        api=True,
        scope="vote",
        url_kwargs=open_request,
        data={"committee": "peer-review", "decision": "approve"},
        expect=voting(201),
    ),
    Endpoint(
        "governance_api:request-withdraw",
        "post",
        Action.SUBMIT,
        api=True,
        url_kwargs=open_request,
        expect=request_owner_action(200),
    ),
    Endpoint(
        "governance_api:request-resubmit",
        "post",
        Action.SUBMIT,
        api=True,
        url_kwargs=returned_request,
        expect=request_owner_action(200),
    ),
    Endpoint("governance_api:promote", "post", Action.CHANGE, api=True, url_kwargs=approved, expect=routed(200)),
    Endpoint("governance_api:rollback", "post", Action.CHANGE, api=True, url_kwargs=two_promotions, expect=routed(200)),
    Endpoint(
        "governance_api:break-glass",
        "post",
        api=True,
        data={"stage": "staging", "justification": "Incident INC-7: forced for the matrix test run."},
        expect=break_glass(200),
    ),
    Endpoint("governance_api:alias-list", api=True),
    Endpoint("governance_api:alias-detail", api=True, url_kwargs=with_alias),
    Endpoint("governance_api:alias-detail", "put", Action.CHANGE, api=True, url_kwargs=with_alias, data={"version": 1}),
    Endpoint("governance_api:alias-detail", "delete", Action.CHANGE, api=True, ok=204, url_kwargs=with_alias),
    Endpoint("governance_api:production", api=True, url_kwargs=in_production, expect=routed(200, Action.VIEW)),
]
