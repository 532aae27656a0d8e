from django.urls import path

import registry.converters  # noqa: F401
from governance import assessment_views, views

app_name = "governance"

urlpatterns = [
    path("audit/", views.audit_log, name="audit-log"),
    path("audit/export/", views.audit_export, name="audit-export"),
    path("audit/verify/", views.audit_verify, name="audit-verify"),
    path("exports/<slug:kind>/", views.records_export, name="records-export"),
    path("models/<model:name>/history/", views.model_history, name="model-history"),
    path("models/<model:name>/versions/<int:version>/history/", views.version_history, name="version-history"),
    path("models/<model:name>/rollback/", views.model_rollback, name="model-rollback"),
    path("models/<model:name>/production/", views.model_production, name="model-production"),
    path("models/<model:name>/versions/<int:version>/approvals/", views.version_approvals, name="version-approvals"),
    path("models/<model:name>/versions/<int:version>/approval/", views.request_submit, name="request-submit"),
    path("models/<model:name>/versions/<int:version>/promote/", views.version_promote, name="version-promote"),
    path("models/<model:name>/versions/<int:version>/break-glass/", views.version_break_glass, name="break-glass"),
    path("", views.dashboard, name="dashboard"),
    path("reviews/", views.reviews, name="reviews"),
    path("requests/<int:request_id>/", views.request_detail, name="request-detail"),
    path("requests/<int:request_id>/vote/", views.request_vote, name="request-vote"),
    path("requests/<int:request_id>/withdraw/", views.request_withdraw, name="request-withdraw"),
    path("requests/<int:request_id>/resubmit/", views.request_resubmit, name="request-resubmit"),
    path("committees/", views.committees, name="committees"),
    path("committees/<slug:slug>/", views.committee_detail, name="committee-detail"),
    path("policies/", views.policies, name="policies"),
    path("inbox/", views.inbox, name="inbox"),
    path("webhooks/", views.webhooks_page, name="webhooks"),
    path("webhooks/<int:pk>/", views.webhook_detail, name="webhook-detail"),
    path("webhooks/<int:pk>/delete/", views.webhook_delete, name="webhook-delete"),
    path("webhooks/<int:pk>/test/", views.webhook_test, name="webhook-test"),
    # Risk assessments and the risk register
    path("models/<model:name>/assessments/", assessment_views.model_assessments, name="model-assessments"),
    path("models/<model:name>/risks/", assessment_views.model_risks, name="model-risks"),
    path("models/<model:name>/risks/new/", assessment_views.risk_create, name="risk-create"),
    path("assessments/review/", assessment_views.review_queue, name="assessment-review-queue"),
    path("assessments/<int:pk>/", assessment_views.assessment_detail, name="assessment-detail"),
    path("assessments/<int:pk>/step/<int:step>/", assessment_views.assessment_step, name="assessment-step"),
    path("assessments/<int:pk>/visibility/", assessment_views.assessment_visibility, name="assessment-visibility"),
    path("assessments/<int:pk>/submit/", assessment_views.assessment_submit, name="assessment-submit"),
    path("assessments/<int:pk>/decide/", assessment_views.assessment_decide, name="assessment-decide"),
    path("assessments/<int:pk>/evidence/", assessment_views.evidence_add, name="assessment-evidence-add"),
    path("evidence/<int:pk>/", assessment_views.evidence_download, name="evidence-download"),
    path("evidence/<int:pk>/remove/", assessment_views.evidence_remove, name="evidence-remove"),
    path("risks/", assessment_views.risk_portfolio, name="risk-portfolio"),
    path("risks/<int:pk>/edit/", assessment_views.risk_edit, name="risk-edit"),
    path("templates/", assessment_views.template_list, name="template-list"),
    path("templates/new/", assessment_views.template_create, name="template-create"),
    path("templates/<int:pk>/", assessment_views.template_detail, name="template-detail"),
    path("templates/<int:pk>/edit/", assessment_views.template_edit, name="template-edit"),
]
