"""Routes of the governance API, mounted under /api/v1/ next to the registry's (config/urls.py)."""

from django.urls import path

import registry.converters  # noqa: F401  (registers the <model:...> converter)
from governance.api import approvals, assessments, audit, exports, webhooks
from registry.api.urls import api

app_name = "governance_api"

urlpatterns = [
    # The audit trail
    path("audit/events/", api(audit.AuditEventList), name="audit-event-list"),
    path("audit/events/export/", api(audit.AuditEventExport), name="audit-event-export"),
    # Exports of the inventory, the risk register and approval records
    path("exports/<slug:kind>/", api(exports.RecordsExport), name="records-export"),
    # Committees, policies, approval requests and votes
    path("committees/", api(approvals.CommitteeListCreate), name="committee-list"),
    path("committees/<slug:slug>/", api(approvals.CommitteeDetail), name="committee-detail"),
    path("committees/<slug:slug>/members/", api(approvals.CommitteeMembers), name="committee-members"),
    path("policies/", api(approvals.PolicyList), name="policy-list"),
    path("policies/<int:policy_id>/", api(approvals.PolicyDetail), name="policy-detail"),
    path("approval-requests/", api(approvals.ApprovalRequestListCreate), name="request-list"),
    path("approval-requests/<int:request_id>/", api(approvals.ApprovalRequestDetail), name="request-detail"),
    path("approval-requests/<int:request_id>/votes/", api(approvals.VoteCreate), name="request-vote"),
    path("approval-requests/<int:request_id>/withdraw/", api(approvals.RequestWithdraw), name="request-withdraw"),
    path("approval-requests/<int:request_id>/resubmit/", api(approvals.RequestResubmit), name="request-resubmit"),
    # Lifecycle: promotion, rollback, break-glass, aliases and the production version
    path("models/<model:name>/versions/<int:version>/promote/", api(approvals.VersionPromote), name="promote"),
    path(
        "models/<model:name>/versions/<int:version>/break-glass/", api(approvals.VersionBreakGlass), name="break-glass"
    ),
    path("models/<model:name>/rollback/", api(approvals.ModelRollback), name="rollback"),
    path("models/<model:name>/aliases/", api(approvals.AliasList), name="alias-list"),
    path("models/<model:name>/aliases/<str:alias>", api(approvals.AliasDetail), name="alias-detail"),
    path("models/<model:name>/production", api(approvals.ProductionVersion), name="production"),
    # Risk assessments
    path("assessment-templates/", api(assessments.TemplateList), name="template-list"),
    path("assessment-templates/<int:pk>/", api(assessments.TemplateDetail), name="template-detail"),
    path("assessments/", api(assessments.AssessmentList), name="assessment-list"),
    path("models/<model:name>/assessments/", api(assessments.ModelAssessments), name="model-assessments"),
    path("assessments/<int:pk>/", api(assessments.AssessmentDetail), name="assessment-detail"),
    path("assessments/<int:pk>/submit/", api(assessments.AssessmentSubmit), name="assessment-submit"),
    path("assessments/<int:pk>/approve/", api(assessments.AssessmentApprove), name="assessment-approve"),
    path("assessments/<int:pk>/return/", api(assessments.AssessmentReturn), name="assessment-return"),
    path("assessments/<int:pk>/evidence/", api(assessments.AssessmentEvidenceAdd), name="assessment-evidence"),
    # Risk register
    path("risks/", api(assessments.RiskList), name="risk-list"),
    path("models/<model:name>/risks/", api(assessments.ModelRisks), name="model-risks"),
    path("risks/<int:pk>/", api(assessments.RiskDetail), name="risk-detail"),
    # Webhooks
    path("webhooks/", api(webhooks.WebhookListCreate), name="webhook-list"),
    path("webhooks/<int:pk>/", api(webhooks.WebhookDetail), name="webhook-detail"),
    path("webhooks/<int:pk>/deliveries/", api(webhooks.WebhookDeliveries), name="webhook-deliveries"),
    path("webhooks/<int:pk>/test/", api(webhooks.WebhookTest), name="webhook-test"),
]
