"""Matrix rows for risk assessments, the risk register and questionnaire templates (browser and v1 API).

Who may do what (registry/permissions.py, "Risk assessments" section):
- read an assessment, a model's risks, the portfolio and templates: whoever may view the model (templates:
  every signed-in user);
- start an assessment, keep the risk register: the model's owners (change) and risk officers;
- answer, submit, attach evidence: the assessor and the model's owners (the owner is the assessor here);
- approve or return: risk officers only, and never one who took part (separation of duties): here the
  owner assessed, so the risk officer may; administrators are not risk officers;
- the review queue: risk officers; templates: risk officers and administrators maintain them.
"""

from registry.permissions import Action
from tests.permission_matrix import MODEL_ACTORS, Endpoint

RISK_KEEPERS = MODEL_ACTORS | {"risk_officer"}
TEMPLATE_KEEPERS = {"risk_officer", "administrator"}

DEFINITION = {
    "sections": [
        {
            "id": "purpose",
            "title": "Purpose",
            "questions": [
                {"id": "purpose", "text": "What is it for?", "type": "long_text", "required": True},
                {"id": "people", "text": "Does it affect people?", "type": "yes_no", "weights": {"yes": 5}},
                {"id": "doc", "text": "Attach the design document", "type": "evidence"},
            ],
        }
    ],
    "scoring": {"classifies": False},
}


def _template(ctx):
    from governance import services

    if "assessment_template" not in ctx:
        ctx["assessment_template"] = services.template_create(
            actor=ctx["people"]["administrator"],
            key="matrix",
            title="Matrix",
            framework="internal",
            definition=DEFINITION,
        )
    return ctx["assessment_template"]


def _assessment(ctx, visibility, submitted=False):
    from governance import services

    key = ("assessment", visibility)
    if key not in ctx:
        owner, model = ctx["people"]["owner"], ctx["models"][visibility]
        assessment = services.assessment_create(actor=owner, model=model, template=_template(ctx))
        services.assessment_answer(actor=owner, assessment=assessment, answers={"purpose": "Scores loans."})
        if submitted:
            services.assessment_submit(actor=owner, assessment=assessment)
        ctx[key] = assessment
    return ctx[key]


def _evidence(ctx, visibility):
    from governance import services

    return services.assessment_evidence_add(
        actor=ctx["people"]["owner"],
        assessment=_assessment(ctx, visibility),
        url="https://dms.example.org/design",
        question_id="doc",
    )


def _risk(ctx, visibility):
    from governance import services

    owner = ctx["people"]["owner"]
    return services.risk_create(
        actor=owner, model=ctx["models"][visibility], title="Drift", likelihood=3, impact=4, owner=owner
    )


def draft(ctx, visibility, user):
    return {"pk": _assessment(ctx, visibility).pk}


def draft_step(ctx, visibility, user):
    return {"pk": _assessment(ctx, visibility).pk, "step": 1}


def submitted(ctx, visibility, user):
    return {"pk": _assessment(ctx, visibility, submitted=True).pk}


def evidence(ctx, visibility, user):
    return {"pk": _evidence(ctx, visibility).pk}


def risk(ctx, visibility, user):
    return {"pk": _risk(ctx, visibility).pk}


def template(ctx, visibility, user):
    return {"pk": _template(ctx).pk}


def start_data(ctx, visibility):
    return {"template": _template(ctx).pk}


def risk_data(ctx, visibility):
    return {
        "title": "Bias against thin-file applicants",
        "category": "fairness",
        "likelihood": 4,
        "impact": 4,
        "owner": ctx["people"]["owner"].pk,
        "status": "open",
    }


def api_risk_data(ctx, visibility):
    return {**risk_data(ctx, visibility), "owner": ctx["people"]["owner"].username}


TEMPLATE_DATA = {
    "key": "brand-new-policy",
    "title": "Brand new policy",
    "framework": "internal",
    "definition": "sections:\n  - id: s\n    title: S\n    questions:\n      - {id: q, text: Q, type: yes_no}\n",
}

ROWS = [
    # --- browser -------------------------------------------------------------------------------------------
    Endpoint("governance:model-assessments"),
    Endpoint("governance:model-assessments", "post", action=lambda p: p in RISK_KEEPERS, ok=302, data=start_data),
    Endpoint("governance:assessment-detail", url_kwargs=draft),
    Endpoint("governance:assessment-step", action=Action.CHANGE, url_kwargs=draft_step),
    Endpoint(
        "governance:assessment-step",
        "post",
        Action.CHANGE,
        ok=302,
        url_kwargs=draft_step,
        data={"purpose": "Scores loan applications.", "people": "yes", "_action": "save"},
    ),
    Endpoint(
        "governance:assessment-visibility", "post", Action.CHANGE, url_kwargs=draft, data={"_step": "1", "people": "no"}
    ),
    Endpoint("governance:assessment-submit", action=Action.CHANGE, url_kwargs=draft),
    Endpoint("governance:assessment-submit", "post", Action.CHANGE, ok=302, url_kwargs=draft),
    Endpoint(
        "governance:assessment-decide",
        "post",
        action=lambda p: p == "risk_officer",
        ok=302,
        url_kwargs=submitted,
        data={"decision": "approve", "comment": "Fine."},
    ),
    Endpoint(
        "governance:assessment-evidence-add",
        "post",
        Action.CHANGE,
        ok=302,
        url_kwargs=draft,
        data={"url": "https://dms.example.org/dpia", "title": "DPIA"},
    ),
    Endpoint("governance:evidence-download", url_kwargs=evidence),
    Endpoint("governance:evidence-remove", "post", Action.CHANGE, ok=302, url_kwargs=evidence),
    Endpoint("governance:assessment-review-queue", action=lambda p: p == "risk_officer", model_scoped=False),
    Endpoint("governance:risk-portfolio", action=None, model_scoped=False),
    Endpoint("governance:model-risks"),
    Endpoint("governance:risk-create", action=lambda p: p in RISK_KEEPERS),
    Endpoint("governance:risk-create", "post", action=lambda p: p in RISK_KEEPERS, ok=302, data=risk_data),
    Endpoint("governance:risk-edit", action=lambda p: p in RISK_KEEPERS, url_kwargs=risk),
    Endpoint(
        "governance:risk-edit",
        "post",
        action=lambda p: p in RISK_KEEPERS,
        ok=302,
        url_kwargs=risk,
        data=lambda ctx, visibility: {**risk_data(ctx, visibility), "status": "mitigating"},
    ),
    Endpoint("governance:template-list", action=None, model_scoped=False),
    Endpoint("governance:template-detail", action=None, model_scoped=False, url_kwargs=template),
    Endpoint("governance:template-create", action=lambda p: p in TEMPLATE_KEEPERS, model_scoped=False),
    Endpoint(
        "governance:template-create",
        "post",
        action=lambda p: p in TEMPLATE_KEEPERS,
        ok=302,
        model_scoped=False,
        data=TEMPLATE_DATA,
    ),
    Endpoint(
        "governance:template-edit", action=lambda p: p in TEMPLATE_KEEPERS, model_scoped=False, url_kwargs=template
    ),
]

ROWS += [
    # --- API -----------------------------------------------------------------------------------------------
    Endpoint("governance_api:template-list", api=True, action=None, model_scoped=False),
    Endpoint("governance_api:template-detail", api=True, action=None, model_scoped=False, url_kwargs=template),
    Endpoint("governance_api:assessment-list", api=True, action=None, model_scoped=False),
    Endpoint("governance_api:model-assessments", api=True),
    Endpoint(
        "governance_api:model-assessments",
        "post",
        api=True,
        action=lambda p: p in RISK_KEEPERS,
        ok=201,
        data=lambda ctx, visibility: {"template": _template(ctx).key},
    ),
    Endpoint("governance_api:assessment-detail", api=True, url_kwargs=draft),
    Endpoint(
        "governance_api:assessment-detail",
        "patch",
        Action.CHANGE,
        api=True,
        url_kwargs=draft,
        data={"answers": {"people": True}},
    ),
    Endpoint("governance_api:assessment-submit", "post", Action.CHANGE, api=True, url_kwargs=draft),
    Endpoint(
        "governance_api:assessment-approve",
        "post",
        api=True,
        action=lambda p: p == "risk_officer",
        url_kwargs=submitted,
        data={"comment": "Agreed."},
    ),
    Endpoint(
        "governance_api:assessment-return",
        "post",
        api=True,
        action=lambda p: p == "risk_officer",
        url_kwargs=submitted,
        data={"comment": "Attach the design document."},
    ),
    Endpoint(
        "governance_api:assessment-evidence",
        "post",
        Action.CHANGE,
        api=True,
        ok=201,
        url_kwargs=draft,
        data={"url": "https://dms.example.org/design", "question_id": "doc"},
    ),
    Endpoint("governance_api:risk-list", api=True, action=None, model_scoped=False),
    Endpoint("governance_api:model-risks", api=True),
    Endpoint(
        "governance_api:model-risks", "post", api=True, action=lambda p: p in RISK_KEEPERS, ok=201, data=api_risk_data
    ),
    Endpoint("governance_api:risk-detail", api=True, url_kwargs=risk),
    Endpoint(
        "governance_api:risk-detail",
        "patch",
        api=True,
        action=lambda p: p in RISK_KEEPERS,
        url_kwargs=risk,
        data={"status": "mitigating"},
    ),
]
