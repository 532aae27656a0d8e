from django.urls import path

import registry.converters  # noqa: F401  (registers the <model:...> converter)
from governance import views

app_name = "governance"

urlpatterns = [
    path("audit/", views.audit_log, name="audit-log"),
    path("models/<model:name>/history/", views.model_history, name="model-history"),
    path("models/<model:name>/rollback/", views.model_rollback, name="model-rollback"),
    path("models/<model:name>/production/", views.model_production, name="model-production"),
    path("models/<model:name>/versions/<int:version>/approvals/", views.version_approvals, name="version-approvals"),
    path("models/<model:name>/versions/<int:version>/approval/", views.request_submit, name="request-submit"),
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
]
