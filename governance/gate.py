"""The approval gate's questions, answered from the database without changing it.

- Which policy applies to moving this version to that stage, and which committees must approve?
- Which preconditions are missing (files not valid, documentation missing, no risk assessment)?
- Is there an approval that authorises the move right now (approved, unexpired, same file digests, same
  governed facts as when it was submitted)?

`governance.services` asks these before every stage change and alias move; the pages ask them to show
people what is missing, each item with a link to fix it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from governance.choices import ApprovalStatus
from governance.models import ApprovalPolicy, ApprovalRequest, Committee
from governance.selectors import assessment_gate_check
from registry.choices import ArtifactStatus, ImportStatus, RiskTier, Stage
from registry.models import ModelVersion
from registry.services import VERSION_GOVERNED_FIELDS

FLAGGED_FILES_COMMITTEE = "model-review-committee"
VALID_APPROVALS = (ApprovalStatus.APPROVED, ApprovalStatus.PROMOTED)


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
    problems.extend(files_problems(version, policy))
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


def files_problems(version: ModelVersion, policy: ApprovalPolicy | None) -> list[Problem]:
    """A policy that requires files refuses a version Arbiter holds no files of: an approval would bind an
    empty set of digests while the deployment fetches bytes Arbiter never saw. Files still being imported
    from the version's source, or whose import failed, say so."""
    if policy is None or not policy.require_files or version.artifacts.all():
        return []
    upload = reverse("registry:version-detail", kwargs={"name": version.model.name, "version": version.version})
    upload += "#files-heading"
    if version.import_status in (ImportStatus.PENDING, ImportStatus.IMPORTING):
        return [Problem("files_importing", f"The files under {version.source} are still being imported.", upload)]
    if version.import_status == ImportStatus.FAILED:
        return [
            Problem("import_failed", f"Importing the files from its source failed: {version.import_message}", upload)
        ]
    return [
        Problem(
            "missing_files",
            "This version has no files registered in Arbiter; the policy requires them. Upload them.",
            upload,
        )
    ]


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


# The facts an approval binds besides the files: what the version is (source and run, hyperparameters,
# training data, framework and library versions, metrics) and what the model is for. Descriptions and tags
# are commentary and stay free.
GOVERNED_MODEL_FIELDS = ("intended_use", "limitations", "out_of_scope_uses")
FACT_LABELS = {
    "source": "Source",
    "run_id": "Run id",
    "run_link": "Run link",
    "hyperparameters": "Hyperparameters",
    "training_data": "Training data",
    "framework": "Framework",
    "framework_version": "Framework version",
    "library_versions": "Library versions",
    "metrics": "Metrics",
    "intended_use": "Intended use (model)",
    "limitations": "Limitations (model)",
    "out_of_scope_uses": "Out-of-scope uses (model)",
}


def governed_facts(version: ModelVersion) -> dict:
    """The version's governed metadata and its model's documentation, as plain JSON values."""
    facts = {name: getattr(version, name) for name in VERSION_GOVERNED_FIELDS}
    facts["metrics"] = sorted(
        ({"name": m.name, "value": m.value, "dataset": m.dataset, "split": m.split} for m in version.metrics.all()),
        key=lambda m: (m["name"], m["dataset"], m["split"]),
    )
    facts.update({name: getattr(version.model, name) for name in GOVERNED_MODEL_FIELDS})
    return facts


def facts_digest(facts: dict) -> str:
    """SHA-256 of the canonical JSON of `facts` (sorted keys, no whitespace, UTF-8)."""
    canonical = json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def facts_changes(request: ApprovalRequest, version: ModelVersion | None = None) -> list[dict]:
    """What changed in the governed facts since the request's round was submitted: one row per field with
    its label, the submitted value and the current one. Empty when nothing changed."""
    current = governed_facts(version or request.version)
    if facts_digest(current) == request.facts_digest:
        return []
    return [
        {
            "field": name,
            "label": FACT_LABELS.get(name, name),
            "before": request.facts.get(name),
            "after": value,
            "before_text": fact_text(name, request.facts.get(name)),
            "after_text": fact_text(name, value),
        }
        for name, value in current.items()
        if request.facts.get(name) != value
    ]


def fact_text(name: str, value) -> str:
    """A governed fact as one line of text for the diff: metrics as `name=value (dataset/split)`."""
    if value in (None, "", [], {}):
        return "—"
    if name == "metrics":
        return "; ".join(
            f"{m['name']}={m['value']:g}"
            + (f" ({'/'.join(p for p in (m['dataset'], m['split']) if p)})" if m["dataset"] or m["split"] else "")
            for m in value
        )
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def request_problems(request: ApprovalRequest) -> list[Problem]:
    """Why the request cannot currently lead to a promotion: the policy's preconditions on the version as it
    is now, and any governed fact changed since submission (each with a link)."""
    version = request.version
    problems = precondition_problems(
        version, request.target_stage, policy_for(version.model.risk_tier, request.target_stage)
    )
    changed = facts_changes(request, version)
    if changed:
        fields = ", ".join(row["label"].lower() for row in changed)
        problems.append(
            Problem(
                "facts_changed",
                f"Changed since submission: {fields}. Reviewers judged other values; resubmit or withdraw.",
                request.get_absolute_url() + "#facts-changed",
            )
        )
    return problems


def valid_approval(version: ModelVersion, stage: str) -> ApprovalRequest | None:
    """The approval that authorises moving `version` to `stage` now: approved (or already used for a
    promotion, which a rollback may reuse), not expired, and bound to the same file digests and governed
    facts. An approval for production also covers the step through staging."""
    now = timezone.now()
    stages = [stage, Stage.PRODUCTION] if stage == Stage.STAGING else [stage]
    candidates = ApprovalRequest.objects.filter(
        version=version, target_stage__in=stages, status__in=VALID_APPROVALS, valid_until__gt=now
    ).order_by("-decided_at")
    digests = current_digests(version)
    facts = facts_digest(governed_facts(version))
    for request in candidates:
        if request.artifact_digests == digests and request.facts_digest == facts:
            return request
    return None


def stale_approval(version: ModelVersion, stage: str) -> ApprovalRequest | None:
    """An approval that would authorise the move but for governed facts changed since it was submitted."""
    now = timezone.now()
    stages = [stage, Stage.PRODUCTION] if stage == Stage.STAGING else [stage]
    digests = current_digests(version)
    facts = facts_digest(governed_facts(version))
    for request in ApprovalRequest.objects.filter(
        version=version, target_stage__in=stages, status__in=VALID_APPROVALS, valid_until__gt=now
    ).order_by("-decided_at"):
        if request.artifact_digests == digests and request.facts_digest != facts:
            return request
    return None


def approval_validity():
    return timezone.now() + timedelta(days=settings.APPROVAL_VALID_DAYS)
