"""Governance entities: the audit trail, committees, approval policies, approval requests and votes."""

import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from governance.choices import (
    PENDING_APPROVAL_STATUSES,
    ApprovalStatus,
    AssessmentFramework,
    AssessmentStatus,
    CommitteeRole,
    DeliveryStatus,
    EvidenceKind,
    QuorumRule,
    RiskCategory,
    RiskStatus,
    VoteDecision,
    risk_band,
)
from registry.choices import RiskTier, Stage


class AuditEvent(models.Model):
    """One recorded change (or sensitive read), chained to the previous event by its hash.

    Append-only: the application offers no update or delete, and on PostgreSQL a trigger refuses UPDATE,
    DELETE and TRUNCATE. `hash` is SHA-256 over the canonical serialisation described in docs/audit.md, so
    any edit, deletion or reordering made around the trigger breaks the chain at a named sequence number.
    Nothing here is a foreign key: events outlive the users, models and versions they describe.
    """

    seq = models.BigIntegerField(primary_key=True, editable=False)
    timestamp = models.DateTimeField(editable=False, db_index=True)
    actor_type = models.CharField(max_length=20, editable=False)
    actor_id = models.BigIntegerField(null=True, editable=False, db_index=True)
    actor_label = models.CharField(max_length=200, editable=False)
    actor_token = models.CharField(max_length=32, blank=True, editable=False)
    action = models.CharField(max_length=64, editable=False, db_index=True)
    target_type = models.CharField(max_length=64, editable=False)
    target_id = models.CharField(max_length=64, blank=True, editable=False)
    target_label = models.CharField(max_length=300, blank=True, editable=False)
    model_id = models.BigIntegerField(null=True, editable=False)
    model_name = models.CharField(max_length=256, blank=True, editable=False)  # MODEL_NAME_MAX_LENGTH
    changes = models.JSONField(default=dict, editable=False)
    request_id = models.CharField(max_length=64, blank=True, editable=False)
    ip = models.CharField(max_length=64, blank=True, editable=False)
    user_agent = models.CharField(max_length=300, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, unique=True, editable=False)

    class Meta:
        ordering = ["-seq"]
        default_permissions = ("view",)
        indexes = [
            models.Index(fields=["model_id", "-seq"], name="audit_model_seq_idx"),
            models.Index(fields=["target_type", "target_id", "-seq"], name="audit_target_seq_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.target_label}"


class AuditVerification(models.Model):
    """The result of one run of `audit verify` (the periodic task or the command): how far the chain and the
    stored checkpoints were found intact, or the first broken sequence number and why.

    Bookkeeping about the trail, not a change to the registry: written by `governance.audit_checks`
    without an audit event of its own (recording every run would grow the chain on every run).
    """

    ran_at = models.DateTimeField(default=timezone.now, db_index=True)
    ok = models.BooleanField()
    checked = models.BigIntegerField(default=0)
    last_seq = models.BigIntegerField(default=0)
    checkpoints = models.IntegerField(default=0, help_text="Stored checkpoints compared with the chain.")
    broken_seq = models.BigIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)
    duration_ms = models.IntegerField(default=0)

    class Meta:
        ordering = ["-ran_at"]
        default_permissions = ("view",)

    def __str__(self) -> str:
        if self.ok:
            return f"verified up to #{self.last_seq} at {self.ran_at:%Y-%m-%d %H:%M}"
        return f"broken at #{self.broken_seq}: {self.reason}"


# --- Committees, policies and approvals -------------------------------------------------------------------


class Committee(models.Model):
    """A group of people whose approval a policy can require. Backed by a Django group so the models routed
    to it can be shared with its members (reviewers see what is routed to them)."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    purpose = models.TextField(blank=True)
    quorum_rule = models.CharField(max_length=20, choices=QuorumRule.choices, default=QuorumRule.COUNT)
    min_approvals = models.PositiveSmallIntegerField(default=1)
    approval_fraction = models.FloatField(default=0.5, help_text="For the fraction rule: share of eligible members.")
    veto_on_reject = models.BooleanField(default=False, help_text="One rejection rejects the request.")
    group = models.OneToOneField("auth.Group", on_delete=models.PROTECT, related_name="committee")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="CommitteeMembership", related_name="committees")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    audit_type = "committee"

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def rule_text(self) -> str:
        if self.quorum_rule == QuorumRule.UNANIMOUS:
            text = "every eligible member approves"
        elif self.quorum_rule == QuorumRule.FRACTION:
            text = f"{self.approval_fraction:.0%} of eligible members approve"
        else:
            text = f"{self.min_approvals} approval{'s' if self.min_approvals != 1 else ''}"
        return text + ("; one rejection vetoes" if self.veto_on_reject else "")


class CommitteeMembership(models.Model):
    committee = models.ForeignKey(Committee, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="committee_memberships")
    role = models.CharField(max_length=10, choices=CommitteeRole.choices, default=CommitteeRole.MEMBER)

    class Meta:
        ordering = ["committee", "-role", "user__username"]
        constraints = [models.UniqueConstraint(fields=["committee", "user"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} in {self.committee} ({self.role})"

    @property
    def is_chair(self) -> bool:
        return self.role == CommitteeRole.CHAIR


class ApprovalPolicy(models.Model):
    """Which committees must approve a move to `target_stage` for a model of `risk_tier`, and whether the
    move is allowed at all (prohibited models never move; unassessed ones never reach production)."""

    target_stage = models.CharField(max_length=20, choices=[("staging", "Staging"), ("production", "Production")])
    risk_tier = models.CharField(max_length=20)
    allowed = models.BooleanField(default=True)
    committees = models.ManyToManyField(Committee, blank=True, related_name="policies")
    require_metadata = models.BooleanField(default=True, help_text="Intended use, limitations, data and metrics.")
    require_assessment = models.BooleanField(default=False, help_text="An approved, unexpired risk assessment.")
    require_files = models.BooleanField(default=False, help_text="At least one file held (and validated) by Arbiter.")
    note = models.CharField(max_length=300, blank=True)

    audit_type = "policy"

    class Meta:
        ordering = ["target_stage", "risk_tier"]
        constraints = [models.UniqueConstraint(fields=["target_stage", "risk_tier"], name="policy_unique_row")]

    def __str__(self) -> str:
        return f"{self.risk_tier} → {self.target_stage}"


class ApprovalRequest(models.Model):
    """A model owner's request to move a version to a stage, routed to the committees its policy names.

    At most one open request per version and stage (a partial unique index). An approval is bound to the
    version's artifact digests at the time of the decision, and to the governed facts reviewers judged (the
    version's metadata and the model's documentation, `governance.gate.governed_facts`) as they were when
    the round was submitted: `facts` keeps them for the diff, `facts_digest` is their canonical SHA-256. It
    is valid for APPROVAL_VALID_DAYS.
    """

    version = models.ForeignKey("registry.ModelVersion", on_delete=models.CASCADE, related_name="approval_requests")
    target_stage = models.CharField(max_length=20)
    status = models.CharField(max_length=20, choices=ApprovalStatus.choices, default=ApprovalStatus.OPEN)
    justification = models.TextField()
    round = models.PositiveSmallIntegerField(default=1)
    committees = models.ManyToManyField(Committee, related_name="requests")
    policy_snapshot = models.JSONField(default=dict)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    artifact_digests = models.JSONField(default=dict, blank=True)
    accepted_flagged = models.JSONField(default=dict, blank=True, help_text="needs_review files accepted: name→digest")
    facts = models.JSONField(default=dict, blank=True, help_text="The governed metadata as submitted.")
    facts_digest = models.CharField(max_length=64, blank=True)
    promoted_at = models.DateTimeField(null=True, blank=True)

    registered_model_path = "version__model"
    audit_type = "approval_request"

    class Meta:
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "target_stage"],
                condition=models.Q(status__in=[ApprovalStatus.OPEN, ApprovalStatus.CHANGES_REQUESTED]),
                name="one_open_request_per_version_stage",
            )
        ]
        indexes = [models.Index(fields=["status", "-submitted_at"], name="approval_status_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.version} → {self.target_stage}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("governance:request-detail", kwargs={"request_id": self.pk})

    @property
    def audit_model(self):
        return self.version.model

    @property
    def is_open(self) -> bool:
        """Committees are voting on it."""
        return self.status == ApprovalStatus.OPEN

    @property
    def is_pending(self) -> bool:
        """Open or returned for changes: it still holds its version and stage."""
        return self.status in PENDING_APPROVAL_STATUSES

    @property
    def is_returned(self) -> bool:
        """Returned for changes: its submitter may resubmit it as a new round."""
        return self.status == ApprovalStatus.CHANGES_REQUESTED

    @property
    def is_withdrawable(self) -> bool:
        """Pending, or approved but not used yet: its submitter may still withdraw it."""
        return self.is_pending or self.status == ApprovalStatus.APPROVED

    @property
    def grants_approval(self) -> bool:
        """Approved, whether used for its move yet or not."""
        return self.status in (ApprovalStatus.APPROVED, ApprovalStatus.PROMOTED)

    @property
    def is_promotable(self) -> bool:
        """An approval for production that has not been used yet: *Promote* can cite it."""
        return self.status == ApprovalStatus.APPROVED and self.target_stage == Stage.PRODUCTION


class Vote(models.Model):
    """One member's vote in one committee on one round of a request. Never edited once cast."""

    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="votes")
    committee = models.ForeignKey(Committee, on_delete=models.PROTECT, related_name="votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="votes")
    round = models.PositiveSmallIntegerField()
    decision = models.CharField(max_length=20, choices=VoteDecision.choices)
    comment = models.TextField(blank=True)
    accepted_flagged = models.BooleanField(default=False)
    cast_at = models.DateTimeField(default=timezone.now)

    registered_model_path = "request__version__model"
    audit_type = "vote"

    class Meta:
        ordering = ["round", "cast_at"]
        constraints = [
            models.UniqueConstraint(fields=["request", "committee", "voter", "round"], name="one_vote_per_member_round")
        ]

    def __str__(self) -> str:
        return f"{self.voter} {self.decision} on {self.request}"

    @property
    def audit_model(self):
        return self.request.version.model


class Notification(models.Model):
    """An in-app message: a request to review, a decision on one's request. The inbox badge counts those
    unread and not done."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    message = models.CharField(max_length=300)
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # Set when what it asked for no longer needs anyone (the request it points at was decided).
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread_idx")]

    def __str__(self) -> str:
        return self.message


# --- Risk assessments ---------------------------------------------------------------------------------

ONE_TO_FIVE = [MinValueValidator(1), MaxValueValidator(5)]


class AssessmentTemplate(models.Model):
    """One version of a questionnaire: sections of questions, and the rules that score answers into a tier.

    `definition` holds the normalised sections and scoring (governance/questionnaire.py validates it). A
    version is immutable once an assessment uses it: editing it creates the next version, so every
    assessment keeps the exact questions it was answered against. `source_digest` lets `frameworks load`
    tell whether a seed file changed since it was last loaded.
    """

    key = models.SlugField(max_length=64)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    framework = models.CharField(max_length=20, choices=AssessmentFramework.choices)
    description = models.TextField(blank=True)
    definition = models.JSONField()
    classifies = models.BooleanField(default=False, help_text="Approved assessments set the model's risk tier.")
    source = models.CharField(max_length=200, blank=True, help_text="The seed file it was loaded from, if any.")
    source_digest = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )

    audit_type = "assessment_template"

    class Meta:
        ordering = ["key", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="template_version_unique"),
            models.CheckConstraint(condition=Q(version__gte=1), name="template_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"

    def get_absolute_url(self) -> str:
        return reverse("governance:template-detail", kwargs={"pk": self.pk})

    @property
    def sections(self) -> list[dict]:
        return self.definition.get("sections", [])


class Assessment(models.Model):
    """A risk assessment of a model (optionally of one version) against one template version.

    Lifecycle: draft → submitted → approved | returned (returned goes back to submitted when resubmitted);
    an approved assessment later becomes superseded (a newer one was approved) or expired (past
    `valid_until`). `score`, `tier` and `explanation` are recomputed from the answers at every save. The
    reviewer is a risk officer who neither assessed nor answered it (also enforced by a constraint).
    """

    model = models.ForeignKey("registry.RegisteredModel", on_delete=models.CASCADE, related_name="assessments")
    model_version = models.ForeignKey(
        "registry.ModelVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="assessments"
    )
    template = models.ForeignKey(AssessmentTemplate, on_delete=models.PROTECT, related_name="assessments")
    answers = models.JSONField(default=dict, blank=True)
    score = models.FloatField(null=True, blank=True)
    max_score = models.FloatField(null=True, blank=True)
    tier = models.CharField(max_length=20, choices=RiskTier.choices, blank=True)
    explanation = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=AssessmentStatus.choices, default=AssessmentStatus.DRAFT)
    assessor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    contributors = models.JSONField(default=list, blank=True, help_text="Ids of everyone who saved answers.")
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    review_comment = models.TextField(blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    due_soon_notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    registered_model_path = "model"
    audit_type = "assessment"

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [("approve_assessment", "Can approve or return risk assessments")]
        constraints = [
            models.CheckConstraint(
                condition=Q(reviewer__isnull=True) | ~Q(reviewer=F("assessor")),
                name="assessment_reviewer_is_not_assessor",
            ),
        ]
        indexes = [
            models.Index(fields=["model", "status", "-reviewed_at"], name="assessment_model_status_idx"),
            models.Index(fields=["status", "valid_until"], name="assessment_status_valid_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.template.title} of {self.model.name} (#{self.pk})"

    def get_absolute_url(self) -> str:
        return reverse("governance:assessment-detail", kwargs={"pk": self.pk})

    @property
    def audit_model(self):
        return self.model

    @property
    def is_editable(self) -> bool:
        return self.status in (AssessmentStatus.DRAFT, AssessmentStatus.RETURNED)


class AssessmentEvidence(models.Model):
    """A file or a link that supports an assessment, optionally for one question.

    Files go to the "artifacts" storage under `assessment-evidence/`, named by their SHA-256 digest (never by
    the name the client sent); `filename` is a sanitised copy of that name, for display only.
    """

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="evidence")
    question_id = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=10, choices=EvidenceKind.choices)
    title = models.CharField(max_length=200)
    url = models.URLField(max_length=2000, blank=True)
    storage_name = models.CharField(max_length=300, blank=True, editable=False)
    filename = models.CharField(max_length=255, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(default=timezone.now, editable=False)

    registered_model_path = "assessment__model"
    audit_type = "assessment_evidence"

    class Meta:
        ordering = ["added_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind=EvidenceKind.FILE) & ~Q(sha256="") & ~Q(storage_name=""))
                | (Q(kind=EvidenceKind.LINK) & ~Q(url="")),
                name="evidence_file_has_digest_link_has_url",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def url_host(self) -> str:
        """The host a link leads to, shown next to it so a reader sees where it goes before following it."""
        return urlsplit(self.url).hostname or ""

    @property
    def audit_model(self):
        return self.assessment.model


class Risk(models.Model):
    """An entry of a model's risk register: what could go wrong, how likely and how bad (1-5 each), before
    and after mitigation, who owns it and by when. `question_ids` name the questions of `assessment` that
    raised it. Ratings are likelihood x impact, stored so the portfolio can sort on them."""

    model = models.ForeignKey("registry.RegisteredModel", on_delete=models.CASCADE, related_name="risks")
    assessment = models.ForeignKey(Assessment, on_delete=models.SET_NULL, null=True, blank=True, related_name="risks")
    question_ids = models.JSONField(default=list, blank=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=20, choices=RiskCategory.choices, default=RiskCategory.OTHER)
    likelihood = models.PositiveSmallIntegerField(validators=ONE_TO_FIVE)
    impact = models.PositiveSmallIntegerField(validators=ONE_TO_FIVE)
    inherent_rating = models.PositiveSmallIntegerField(editable=False)
    residual_likelihood = models.PositiveSmallIntegerField(null=True, blank=True, validators=ONE_TO_FIVE)
    residual_impact = models.PositiveSmallIntegerField(null=True, blank=True, validators=ONE_TO_FIVE)
    residual_rating = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    mitigation = models.TextField(blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_risks")
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=RiskStatus.choices, default=RiskStatus.OPEN)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", editable=False
    )
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    registered_model_path = "model"
    audit_type = "risk"

    class Meta:
        ordering = ["-inherent_rating", "due_date", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(likelihood__gte=1, likelihood__lte=5, impact__gte=1, impact__lte=5),
                name="risk_scores_one_to_five",
            ),
            models.CheckConstraint(
                condition=Q(inherent_rating=F("likelihood") * F("impact")), name="risk_inherent_rating_is_product"
            ),
            models.CheckConstraint(
                condition=Q(
                    residual_likelihood__isnull=True, residual_impact__isnull=True, residual_rating__isnull=True
                )
                | Q(
                    residual_likelihood__gte=1,
                    residual_likelihood__lte=5,
                    residual_impact__gte=1,
                    residual_impact__lte=5,
                    residual_rating=F("residual_likelihood") * F("residual_impact"),
                ),
                name="risk_residual_rating_is_product",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-inherent_rating"], name="risk_status_rating_idx"),
            models.Index(fields=["status", "due_date"], name="risk_status_due_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("governance:risk-edit", kwargs={"pk": self.pk})

    @property
    def audit_model(self):
        return self.model

    @property
    def inherent_band(self) -> str | None:
        return risk_band(self.inherent_rating)

    @property
    def residual_band(self) -> str | None:
        return risk_band(self.residual_rating)

    @property
    def is_overdue(self) -> bool:
        return (
            self.due_date is not None
            and self.status in (RiskStatus.OPEN, RiskStatus.MITIGATING)
            and self.due_date < timezone.localdate()
        )


# --- Webhooks -----------------------------------------------------------------------------------------------


class WebhookSubscription(models.Model):
    """A URL that receives signed JSON POSTs when chosen events happen (docs/webhooks.md).

    Owned by the user who created it: events are sent only for models that user may see, so a subscription
    never leaks more than its owner could read. `secret` signs every delivery (HMAC-SHA256); it is generated,
    never chosen, and shown only to the owner. `model` narrows the events to one model.
    """

    name = models.CharField(max_length=100)
    url = models.CharField(max_length=500)
    secret = models.CharField(max_length=64, editable=False)
    event_types = models.JSONField(default=list)
    model = models.ForeignKey(
        "registry.RegisteredModel", on_delete=models.CASCADE, null=True, blank=True, related_name="webhooks"
    )
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhooks")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    audit_type = "webhook"

    class Meta:
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["active"], name="webhook_active_idx")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("governance:webhook-detail", kwargs={"pk": self.pk})

    @property
    def audit_model(self):
        return self.model


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one subscription: the payload as signed, and how the attempts went.
    `log` keeps every attempt (time, response code, error); the other fields describe the latest."""

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    log = models.JSONField(default=list)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["subscription", "-created_at"], name="webhook_delivery_sub_idx")]

    def __str__(self) -> str:
        return f"{self.event} {self.delivery_id}"
