"""The names of audit actions: what audit_record callers write, what webhooks map to events and what the
audit trail's filters match. The stored value is the string; a new action gets a member here."""

from enum import StrEnum


class AuditAction(StrEnum):
    ALIAS_CHANGED = "alias.changed"
    ALIAS_DELETED = "alias.deleted"

    APPROVAL_DECIDED = "approval.decided"
    APPROVAL_EXPIRED = "approval.expired"
    APPROVAL_REQUESTED = "approval.requested"
    APPROVAL_RESUBMITTED = "approval.resubmitted"
    APPROVAL_WITHDRAWN = "approval.withdrawn"

    ARTIFACT_CORRUPTED = "artifact.corrupted"
    ARTIFACT_DELETED = "artifact.deleted"
    ARTIFACT_DOWNLOADED = "artifact.downloaded"
    ARTIFACT_IMPORTED = "artifact.imported"
    ARTIFACT_RESCAN_REQUESTED = "artifact.rescan_requested"
    ARTIFACT_UPLOADED = "artifact.uploaded"
    ARTIFACT_VALIDATED = "artifact.validated"

    ASSESSMENT_ANSWERED = "assessment.answered"
    ASSESSMENT_APPROVED = "assessment.approved"
    ASSESSMENT_CREATED = "assessment.created"
    ASSESSMENT_EVIDENCE_ADDED = "assessment.evidence_added"
    ASSESSMENT_EVIDENCE_REMOVED = "assessment.evidence_removed"
    ASSESSMENT_EXPIRED = "assessment.expired"
    ASSESSMENT_RETURNED = "assessment.returned"
    ASSESSMENT_REVIEW_DUE_SOON = "assessment.review_due_soon"
    ASSESSMENT_SUBMITTED = "assessment.submitted"

    ASSESSMENT_TEMPLATE_CREATED = "assessment_template.created"
    ASSESSMENT_TEMPLATE_UPDATED = "assessment_template.updated"
    ASSESSMENT_TEMPLATE_VERSIONED = "assessment_template.versioned"

    APPROVALS_EXPORTED = "approvals.exported"
    INVENTORY_EXPORTED = "inventory.exported"
    RISKS_EXPORTED = "risks.exported"

    AUDIT_EXPORTED = "audit.exported"
    AUDIT_VERIFICATION_REQUESTED = "audit.verification_requested"

    BLOB_DELETED = "blob.deleted"

    COMMITTEE_CREATED = "committee.created"
    COMMITTEE_MEMBER_REMOVED = "committee.member_removed"
    COMMITTEE_MEMBER_SET = "committee.member_set"
    COMMITTEE_UPDATED = "committee.updated"

    LOGIN_BREAK_GLASS = "login.break_glass"
    LOGIN_FAILED = "login.failed"
    LOGIN_REFUSED = "login.refused"
    LOGIN_SUCCEEDED = "login.succeeded"
    LOGOUT = "logout"

    MODEL_CREATED = "model.created"
    MODEL_DELETED = "model.deleted"
    MODEL_NAME_UNAVAILABLE = "model.name_unavailable"
    MODEL_RENAMED = "model.renamed"
    MODEL_RISK_TIER_CHANGED = "model.risk_tier_changed"
    MODEL_ROLLED_BACK = "model.rolled_back"
    MODEL_UPDATED = "model.updated"

    PERMISSION_GRANTED = "permission.granted"
    PERMISSION_REVOKED = "permission.revoked"

    POLICY_UPDATED = "policy.updated"

    RISK_CREATED = "risk.created"
    RISK_UPDATED = "risk.updated"

    SERVICE_ACCOUNT_CREATED = "service_account.created"

    SSO_BREAK_GLASS_GRANTED = "sso.break_glass_granted"
    SSO_BREAK_GLASS_REVOKED = "sso.break_glass_revoked"
    SSO_IDENTITY_LINKED = "sso.identity_linked"
    SSO_MAPPING_CREATED = "sso.mapping_created"
    SSO_MAPPING_DELETED = "sso.mapping_deleted"

    TEAM_CREATED = "team.created"
    TEAM_MEMBER_ADDED = "team.member_added"
    TEAM_MEMBER_REMOVED = "team.member_removed"

    TOKEN_CREATED = "token.created"
    TOKEN_REVOKED = "token.revoked"

    USER_CREATED = "user.created"
    USER_DEACTIVATED = "user.deactivated"
    USER_REACTIVATED = "user.reactivated"
    USER_ROLE_ADDED = "user.role_added"
    USER_ROLE_REMOVED = "user.role_removed"

    VERSION_BREAK_GLASS = "version.break_glass"
    VERSION_CREATED = "version.created"
    VERSION_DELETED = "version.deleted"
    VERSION_IMPORTED = "version.imported"
    VERSION_STAGE_CHANGED = "version.stage_changed"
    VERSION_UPDATED = "version.updated"

    VOTE_CAST = "vote.cast"

    WEBHOOK_CREATED = "webhook.created"
    WEBHOOK_DELETED = "webhook.deleted"
    WEBHOOK_TESTED = "webhook.tested"
    WEBHOOK_UPDATED = "webhook.updated"
