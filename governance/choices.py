"""Enumerations of the governance app, shared by models, forms, filters and the API."""

from django.db import models


class AssessmentFramework(models.TextChoices):
    EU_AI_ACT = "eu_ai_act", "EU AI Act"
    NIST_AI_RMF = "nist_ai_rmf", "NIST AI RMF 1.0"
    ISO_42001 = "iso_42001", "ISO/IEC 42001"
    INTERNAL = "internal", "Internal policy"


class AssessmentStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted for review"
    RETURNED = "returned", "Returned for changes"
    APPROVED = "approved", "Approved"
    SUPERSEDED = "superseded", "Superseded"
    EXPIRED = "expired", "Expired"


# An assessment in these states can still be answered by its assessor or the model's owners.
EDITABLE_STATUSES = (AssessmentStatus.DRAFT, AssessmentStatus.RETURNED)


class QuorumRule(models.TextChoices):
    """How a committee reaches its decision (governance.quorum does the arithmetic)."""

    COUNT = "count", "At least N approvals"
    FRACTION = "fraction", "A share of members"
    UNANIMOUS = "unanimous", "Unanimity"


class CommitteeRole(models.TextChoices):
    CHAIR = "chair", "Chair"
    MEMBER = "member", "Member"


class ApprovalStatus(models.TextChoices):
    """The life of an approval request: open, then decided; an approval is used (promoted) or expires."""

    OPEN = "open", "Open"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    WITHDRAWN = "withdrawn", "Withdrawn"
    EXPIRED = "expired", "Expired"
    PROMOTED = "promoted", "Promoted"


# A request in these states still holds its version and stage (one per version and stage, a partial index).
PENDING_APPROVAL_STATUSES = (ApprovalStatus.OPEN, ApprovalStatus.CHANGES_REQUESTED)


class VoteDecision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    REQUEST_CHANGES = "request_changes", "Request changes"


class QuestionType(models.TextChoices):
    YES_NO = "yes_no", "Yes / no"
    SINGLE_CHOICE = "single_choice", "Single choice"
    MULTIPLE_CHOICE = "multiple_choice", "Multiple choice"
    SHORT_TEXT = "short_text", "Short text"
    LONG_TEXT = "long_text", "Long text"
    NUMBER = "number", "Number"
    SCALE = "scale", "Scale 1-5"
    DATE = "date", "Date"
    EVIDENCE = "evidence", "Evidence (file or link)"


class EvidenceKind(models.TextChoices):
    FILE = "file", "File"
    LINK = "link", "Link"


class RiskCategory(models.TextChoices):
    FAIRNESS = "fairness", "Fairness and bias"
    PRIVACY = "privacy", "Privacy and data protection"
    SAFETY = "safety", "Safety"
    SECURITY = "security", "Security"
    ROBUSTNESS = "robustness", "Accuracy and robustness"
    TRANSPARENCY = "transparency", "Transparency and explainability"
    HUMAN_OVERSIGHT = "human_oversight", "Human oversight"
    COMPLIANCE = "compliance", "Legal and regulatory compliance"
    THIRD_PARTY = "third_party", "Third-party and supply chain"
    OPERATIONAL = "operational", "Operational"
    OTHER = "other", "Other"


class RiskStatus(models.TextChoices):
    OPEN = "open", "Open"
    MITIGATING = "mitigating", "Mitigation in progress"
    ACCEPTED = "accepted", "Accepted"
    CLOSED = "closed", "Closed"


# Risks that still need action: what the portfolio lists by default.
OPEN_RISK_STATUSES = (RiskStatus.OPEN, RiskStatus.MITIGATING)


class RiskBand(models.TextChoices):
    """Bands of a likelihood x impact rating on the usual 5x5 matrix."""

    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


def risk_band(rating: int | None) -> str | None:
    """1-4 low, 5-9 medium, 10-16 high, 20-25 critical."""
    if not rating:
        return None
    if rating <= 4:
        return RiskBand.LOW
    if rating <= 9:
        return RiskBand.MEDIUM
    if rating <= 16:
        return RiskBand.HIGH
    return RiskBand.CRITICAL


class WebhookEvent(models.TextChoices):
    """What a webhook subscription can listen to (docs/webhooks.md). `ping` is only sent by "send test"."""

    MODEL_CREATED = "model.created", "A model is registered"
    VERSION_CREATED = "version.created", "A version is registered"
    ARTIFACT_VALIDATED = "artifact.validated", "An artifact passed validation"
    ARTIFACT_REJECTED = "artifact.rejected", "An artifact failed validation"
    APPROVAL_REQUESTED = "approval.requested", "Approval is requested"
    APPROVAL_DECIDED = "approval.decided", "An approval request is decided"
    VERSION_STAGE_CHANGED = "version.stage_changed", "A version changes stage"
    ALIAS_CHANGED = "alias.changed", "An alias moves or is removed"


PING_EVENT = "ping"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
