"""Governance entities. The audit trail is here; committees, approvals and assessments join it later."""

from django.db import models


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
