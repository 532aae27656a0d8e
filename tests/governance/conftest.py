"""Governance fixtures: a model ready for approval and the committees that decide on it; the seeded
assessment templates and answers that classify a model."""

from __future__ import annotations

import pytest

from governance import services
from governance.models import AssessmentTemplate, Committee
from registry.choices import RiskTier, Stage
from registry.permissions import Role
from tests.factories import make_model, make_user, make_version


@pytest.fixture
def reviewers(db):
    return [make_user(f"rev{i}", roles=[Role.REVIEWER], email=f"rev{i}@example.org") for i in range(1, 4)]


@pytest.fixture
def committees(administrator, reviewers, risk_officer, owner):
    """MRC: rev1, rev2, rev3 and (conflicted) the owner; R&C: the risk officer (veto); Peer Review: rev3."""
    mrc = Committee.objects.get(slug="model-review-committee")
    rnc = Committee.objects.get(slug="risk-compliance-committee")
    peer = Committee.objects.get(slug="peer-review")
    for user in reviewers:
        services.committee_member_set(actor=administrator, committee=mrc, user=user)
    services.committee_member_set(actor=administrator, committee=mrc, user=owner)
    services.committee_member_set(actor=administrator, committee=rnc, user=risk_officer, role="chair")
    services.committee_member_set(actor=administrator, committee=peer, user=reviewers[2])
    return {"mrc": mrc, "rnc": rnc, "peer": peer}


def classify(model, tier: str) -> None:
    """Give `model` its risk tier the way production does: an EU AI Act assessment answered by its owner
    and approved by a risk officer (the approval gate asks for one for limited and high risk)."""
    if tier == RiskTier.UNASSESSED:
        return
    services.frameworks_load(actor=None)
    template = AssessmentTemplate.objects.filter(key="eu-ai-act").order_by("-version").first()
    approver = make_user(f"approver-{model.name}", roles=[Role.RISK_OFFICER])
    assessment = services.assessment_create(actor=model.owner, model=model, template=template)
    services.assessment_answer(actor=model.owner, assessment=assessment, answers=TIER_ANSWERS[tier])
    services.assessment_submit(actor=model.owner, assessment=assessment)
    services.assessment_approve(actor=approver, assessment=assessment, comment="Classification checked.")


def governed_model(owner, team, *, tier=RiskTier.HIGH, name="credit-scoring", **fields):
    model = make_model(
        owner,
        name=name,
        team=team,
        intended_use="Retail loan decisions with human review.",
        limitations="Not validated for SME lending.",
        **fields,
    )
    classify(model, tier)
    model.refresh_from_db()
    assert model.risk_tier == tier
    return model


@pytest.fixture
def model(owner, team_alpha):
    return governed_model(owner, team_alpha)


@pytest.fixture
def staged(owner, model):
    """Version 1, documented, with a valid file, in staging."""
    version = make_version(owner, model, training_data=["s3://lake/credit/2026-10/"], files=True)
    return services.version_transition(actor=owner, version=version, stage=Stage.STAGING)


# Answers to the EU AI Act template for a system nothing special applies to: every required question
# answered "no" (or with a neutral value). Scenarios override a few of them.
EU_BASELINE = {
    "intended_purpose": "Describes the system.",
    "operator_role": "both",
    "eu_nexus": True,
    "excluded_purpose": False,
    **{f"art5_1_{letter}": False for letter in "abcdefgh"},
    "annex1_product": False,
    "annex3_applies": False,
    "art50_1_interaction": False,
    "art50_2_synthetic": False,
    "art50_3_emotion_biometric": False,
    "art50_4_deep_fake": False,
    "gpai_model": False,
}

CREDIT_SCORING = {
    **EU_BASELINE,
    "intended_purpose": "Probability of default of retail loan applicants, used to approve or decline loans.",
    "annex3_applies": True,
    "annex3_points": ["5b"],
    "art6_3_profiling": True,
}


TIER_ANSWERS = {
    RiskTier.MINIMAL: EU_BASELINE,
    RiskTier.LIMITED: {
        **EU_BASELINE,
        "art50_1_interaction": True,
        "art50_disclosure": "The chat says it is an AI assistant before the first message.",
    },
    RiskTier.HIGH: CREDIT_SCORING,
    RiskTier.PROHIBITED: {**EU_BASELINE, "art5_1_c": True},
}


@pytest.fixture
def frameworks(db):
    """The seeded templates. The data migration creates them, but transactional tests flush the database,
    so load them again (idempotent)."""
    services.frameworks_load(actor=None)
    return {t.key: t for t in AssessmentTemplate.objects.order_by("key", "version")}


@pytest.fixture
def eu_template(frameworks):
    return frameworks["eu-ai-act"]


class AuditCounter:
    """Counts the audit events recorded inside a `with` block, by action."""

    def __enter__(self):
        from governance.models import AuditEvent

        self._model = AuditEvent
        self._start = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        return self

    def __exit__(self, *exc):
        return False

    @property
    def actions(self) -> list[str]:
        return list(self._model.objects.filter(seq__gt=self._start).order_by("seq").values_list("action", flat=True))


@pytest.fixture
def audit_events():
    return AuditCounter
