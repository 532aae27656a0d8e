from django.urls import path

import registry.converters  # noqa: F401  (registers the <model:...> converter)
from registry import views

app_name = "registry"

urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("models/new/", views.model_create, name="model-create"),
    path("models/<model:name>/", views.model_detail, name="model-detail"),
    path("models/<model:name>/edit/", views.model_edit, name="model-edit"),
    path("models/<model:name>/delete/", views.model_delete, name="model-delete"),
    path("models/<model:name>/access/", views.model_access, name="model-access"),
    path("models/<model:name>/access/revoke/", views.model_access_revoke, name="model-access-revoke"),
    path("models/<model:name>/versions/new/", views.version_create, name="version-create"),
    path("models/<model:name>/versions/<int:version>/", views.version_detail, name="version-detail"),
    path("models/<model:name>/versions/<int:version>/edit/", views.version_edit, name="version-edit"),
    path(
        "models/<model:name>/versions/<int:version>/transition/",
        views.version_transition,
        name="version-transition",
    ),
    path(
        "models/<model:name>/versions/<int:version>/artifacts/",
        views.version_artifacts,
        name="version-artifacts",
    ),
    path(
        "models/<model:name>/versions/<int:version>/artifacts/upload/",
        views.artifact_upload,
        name="artifact-upload",
    ),
    path(
        "models/<model:name>/versions/<int:version>/artifacts/<int:artifact_id>/download/",
        views.artifact_download,
        name="artifact-download",
    ),
    path(
        "models/<model:name>/versions/<int:version>/artifacts/<int:artifact_id>/delete/",
        views.artifact_delete,
        name="artifact-delete",
    ),
    path("account/tokens/", views.tokens, name="tokens"),
    path("account/tokens/<str:prefix>/revoke/", views.token_revoke, name="token-revoke"),
    path("service-accounts/", views.service_accounts, name="service-accounts"),
    path("service-accounts/<str:username>/", views.service_account_detail, name="service-account-detail"),
    path(
        "service-accounts/<str:username>/tokens/<str:prefix>/revoke/",
        views.service_account_token_revoke,
        name="service-account-token-revoke",
    ),
    path("teams/", views.teams, name="teams"),
    path("teams/<slug:slug>/", views.team_detail, name="team-detail"),
    path("teams/<slug:slug>/members/<int:user_id>/remove/", views.team_member_remove, name="team-member-remove"),
]
