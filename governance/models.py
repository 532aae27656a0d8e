"""Governance entities: the audit trail, committees, approval policies, approval requests and votes."""

from django.conf import settings
from django.db import models
from django.utils import timezone

QUORUM_RULES = [("count", "At least N approvals"), ("fraction", "A share of members"), ("unanimous", "Unanimity")]
APPROVAL_STATUSES = [
    ("open", "Open"),
    ("approved", "Approved"),
    ("rejected", "Rejected"),
    ("changes_requested", "Changes requested"),
    ("withdrawn", "Withdrawn"),
    ("expired", "Expired"),
    ("promoted", "Promoted"),
]
VOTE_DECISIONS = [("approve", "Approve"), ("reject", "Reject"), ("request_changes", "Request changes")]


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
    model_name = models.CharField(max_length=100, blank=True, editable=False)
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


# --- Committees, policies and approvals -------------------------------------------------------------------


class Committee(models.Model):
    """A group of people whose approval a policy can require. Backed by a Django group so the models routed
    to it can be shared with its members (reviewers see what is routed to them)."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    purpose = models.TextField(blank=True)
    quorum_rule = models.CharField(max_length=20, choices=QUORUM_RULES, default="count")
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
        if self.quorum_rule == "unanimous":
            text = "every eligible member approves"
        elif self.quorum_rule == "fraction":
            text = f"{self.approval_fraction:.0%} of eligible members approve"
        else:
            text = f"{self.min_approvals} approval{'s' if self.min_approvals != 1 else ''}"
        return text + ("; one rejection vetoes" if self.veto_on_reject else "")


class CommitteeMembership(models.Model):
    committee = models.ForeignKey(Committee, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="committee_memberships")
    role = models.CharField(max_length=10, choices=[("chair", "Chair"), ("member", "Member")], default="member")

    class Meta:
        ordering = ["committee", "-role", "user__username"]
        constraints = [models.UniqueConstraint(fields=["committee", "user"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} in {self.committee} ({self.role})"


class ApprovalPolicy(models.Model):
    """Which committees must approve a move to `target_stage` for a model of `risk_tier`, and whether the
    move is allowed at all (prohibited models never move; unassessed ones never reach production)."""

    target_stage = models.CharField(max_length=20, choices=[("staging", "Staging"), ("production", "Production")])
    risk_tier = models.CharField(max_length=20)
    allowed = models.BooleanField(default=True)
    committees = models.ManyToManyField(Committee, blank=True, related_name="policies")
    require_metadata = models.BooleanField(default=True, help_text="Intended use, limitations, data and metrics.")
    require_assessment = models.BooleanField(default=False, help_text="An approved, unexpired risk assessment.")
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
    version's artifact digests at the time of the decision, and is valid for APPROVAL_VALID_DAYS.
    """

    version = models.ForeignKey("registry.ModelVersion", on_delete=models.CASCADE, related_name="approval_requests")
    target_stage = models.CharField(max_length=20)
    status = models.CharField(max_length=20, choices=APPROVAL_STATUSES, default="open")
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
    promoted_at = models.DateTimeField(null=True, blank=True)

    registered_model_path = "version__model"
    audit_type = "approval_request"

    class Meta:
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "target_stage"],
                condition=models.Q(status__in=["open", "changes_requested"]),
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
        return self.status == "open"


class Vote(models.Model):
    """One member's vote in one committee on one round of a request. Never edited once cast."""

    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="votes")
    committee = models.ForeignKey(Committee, on_delete=models.PROTECT, related_name="votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="votes")
    round = models.PositiveSmallIntegerField()
    decision = models.CharField(max_length=20, choices=VOTE_DECISIONS)
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
    """An in-app message: a request to review, a decision on one's request."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    message = models.CharField(max_length=300)
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread_idx")]

    def __str__(self) -> str:
        return self.message
