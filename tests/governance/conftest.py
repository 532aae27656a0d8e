"""A governed model ready for approval, and the committees that decide on it."""

import pytest

from governance import services
from governance.models import Committee
from registry import services as registry_services
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


def governed_model(owner, team, *, tier=RiskTier.HIGH, name="credit-scoring", **fields):
    model = make_model(
        owner,
        name=name,
        team=team,
        intended_use="Retail loan decisions with human review.",
        limitations="Not validated for SME lending.",
        **fields,
    )
    registry_services.model_risk_tier_set(actor=None, model=model, tier=tier)
    model.refresh_from_db()
    return model


@pytest.fixture
def model(owner, team_alpha):
    return governed_model(owner, team_alpha)


@pytest.fixture
def staged(owner, model):
    """Version 1, documented, in staging."""
    version = make_version(owner, model, training_data=["s3://lake/credit/2026-10/"])
    return services.version_transition(actor=owner, version=version, stage=Stage.STAGING)
