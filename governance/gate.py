"""The approval gate's questions, answered from the database without changing it.

- Which policy applies to moving this version to that stage, and which committees must approve?
- Which preconditions are missing (files not valid, documentation missing, no risk assessment)?
- Is there an approval that authorises the move right now (approved, unexpired, same file digests)?

`governance.services` asks these before every stage change and alias move; the pages ask them to show
people what is missing, each item with a link to fix it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from governance.models import ApprovalPolicy, ApprovalRequest, Committee
from governance.selectors import assessment_gate_check
from registry.choices import ArtifactStatus, RiskTier, Stage
from registry.models import ModelVersion

FLAGGED_FILES_COMMITTEE = "model-review-committee"
VALID_APPROVALS = ("approved", "promoted")


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    link: str = ""

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "link": self.link}


@dataclass
class Route:
    """What moving a version to a stage requires."""

    policy: ApprovalPolicy | None
    committees: list[Committee] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return self.policy is None or self.policy.allowed

    @property
    def needs_approval(self) -> bool:
        return bool(self.committees)


def policy_for(risk_tier: str, stage: str) -> ApprovalPolicy | None:
    return ApprovalPolicy.objects.prefetch_related("committees").filter(target_stage=stage, risk_tier=risk_tier).first()


def flagged_artifacts(version: ModelVersion) -> list:
    return [a for a in version.artifacts.all() if a.status == ArtifactStatus.NEEDS_REVIEW]


def route(version: ModelVersion, stage: str) -> Route:
    """The policy row for the model's risk tier and the target stage, and the committees it requires. Files
    flagged for review add the flagged-files committee when the policy names none: someone must accept
    them explicitly."""
    if stage not in (Stage.STAGING, Stage.PRODUCTION):
        return Route(policy=None)
    model = version.model
    policy = policy_for(model.risk_tier, stage)
    result = Route(policy=policy)
    if policy is None:
        result.problems.append(Problem("no_policy", f"No approval policy covers {model.risk_tier} → {stage}."))
        return result
    if not policy.allowed:
        tier = RiskTier(model.risk_tier).label.lower()
        reason = policy.note or f"{tier} models cannot move to {stage}"
        result.problems.append(Problem("policy_forbids", f"Policy: {reason}", _assessment_link(model)))
        return result
    result.committees = list(policy.committees.all())
    if flagged_artifacts(version) and not result.committees:
        extra = Committee.objects.filter(slug=FLAGGED_FILES_COMMITTEE).first()
        if extra is not None:
            result.committees = [extra]
    return result


def _assessment_link(model) -> str:
    return reverse("registry:model-detail", kwargs={"name": model.name})


def precondition_problems(version: ModelVersion, stage: str, policy: ApprovalPolicy | None) -> list[Problem]:
    """Everything that must be true before the request can be submitted or decided, each with a fix link."""
    model = version.model
    problems: list[Problem] = []
    version_link = reverse("registry:version-detail", kwargs={"name": model.name, "version": version.version})
    edit_version = reverse("registry:version-edit", kwargs={"name": model.name, "version": version.version})
    edit_model = reverse("registry:model-edit", kwargs={"name": model.name})
    for artifact in version.artifacts.all():
        if artifact.status not in (ArtifactStatus.VALID, ArtifactStatus.NEEDS_REVIEW):
            problems.append(
                Problem(
                    "artifact_not_valid",
                    f"File {artifact.filename} is {artifact.get_status_display().lower()}.",
                    version_link,
                )
            )
    if policy is not None and policy.require_metadata:
        if not model.intended_use.strip():
            problems.append(Problem("missing_intended_use", "The model's intended use is not documented.", edit_model))
        if not model.limitations.strip():
            problems.append(Problem("missing_limitations", "The model's limitations are not documented.", edit_model))
        if not version.training_data:
            problems.append(Problem("missing_training_data", "The version lists no training data.", edit_version))
        if not version.metrics.exists():
            problems.append(Problem("missing_metrics", "The version has no evaluation metrics.", edit_version))
    if policy is not None and policy.require_assessment:
        problems.extend(assessment_problems(model))
    return problems


TRAILING_LINK = re.compile(r"\s*\((/[^)]*)\)\.?$")


def assessment_problems(model) -> list[Problem]:
    """An approved, unexpired risk assessment, from the risk-assessment workflow's own check; each problem
    keeps the page that fixes it as its link."""
    ok, problems = assessment_gate_check(model)
    if ok:
        return []
    result = []
    for text in problems:
        match = TRAILING_LINK.search(text)
        link = match.group(1) if match else _assessment_link(model)
        result.append(Problem("missing_assessment", TRAILING_LINK.sub(".", text) if match else text, link))
    return result


def current_digests(version: ModelVersion) -> dict[str, str]:
    return {a.filename: a.sha256 for a in version.artifacts.all()}


def valid_approval(version: ModelVersion, stage: str) -> ApprovalRequest | None:
    """The approval that authorises moving `version` to `stage` now: approved (or already used for a
    promotion, which a rollback may reuse), not expired, and bound to the same file digests. An approval
    for production also covers the step through staging."""
    now = timezone.now()
    stages = [stage, Stage.PRODUCTION] if stage == Stage.STAGING else [stage]
    candidates = ApprovalRequest.objects.filter(
        version=version, target_stage__in=stages, status__in=VALID_APPROVALS, valid_until__gt=now
    ).order_by("-decided_at")
    digests = current_digests(version)
    for request in candidates:
        if request.artifact_digests == digests:
            return request
    return None


def approval_validity():
    return timezone.now() + timedelta(days=settings.APPROVAL_VALID_DAYS)
