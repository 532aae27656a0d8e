from django.contrib.auth.decorators import login_not_required
from django.urls import path

import registry.converters  # noqa: F401  (registers the <model:...> converter)
from governance.api import approvals

app_name = "governance-api"


def api(view_class):
    return login_not_required(view_class.as_view())


urlpatterns = [
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
    path("models/<model:name>/versions/<int:version>/promote/", api(approvals.VersionPromote), name="promote"),
    path(
        "models/<model:name>/versions/<int:version>/break-glass/", api(approvals.VersionBreakGlass), name="break-glass"
    ),
    path("models/<model:name>/rollback/", api(approvals.ModelRollback), name="rollback"),
    path("models/<model:name>/aliases/", api(approvals.AliasList), name="alias-list"),
    path("models/<model:name>/aliases/<str:alias>", api(approvals.AliasDetail), name="alias-detail"),
    path("models/<model:name>/production", api(approvals.ProductionVersion), name="production"),
]
