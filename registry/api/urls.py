from django.contrib.auth.decorators import login_not_required
from django.urls import path

import registry.converters  # noqa: F401  (registers the <model:...> converter)
from registry.api import views

app_name = "api"


def api(view_class):
    """DRF authenticates API requests itself (tokens or session) and answers 401, never a login redirect."""
    return login_not_required(view_class.as_view())


urlpatterns = [
    path("models/", api(views.ModelListCreate), name="model-list"),
    path("models/<model:name>/", api(views.ModelDetail), name="model-detail"),
    path("models/<model:name>/versions/", api(views.VersionListCreate), name="version-list"),
    path("models/<model:name>/versions/<int:version>/", api(views.VersionDetail), name="version-detail"),
    path(
        "models/<model:name>/versions/<int:version>/transition/",
        api(views.VersionTransition),
        name="version-transition",
    ),
    path("models/<model:name>/access/", api(views.ModelAccess), name="model-access"),
    path("models/<model:name>/access/users/<str:grantee>/", api(views.ModelAccessUserRevoke), name="model-access-user"),
    path(
        "models/<model:name>/access/teams/<slug:grantee>/", api(views.ModelAccessTeamRevoke), name="model-access-team"
    ),
    path(
        "models/<model:name>/versions/<int:version>/artifacts/",
        api(views.ArtifactListCreate),
        name="artifact-list",
    ),
    path(
        "models/<model:name>/versions/<int:version>/artifacts/<int:artifact_id>/",
        api(views.ArtifactDetail),
        name="artifact-detail",
    ),
    path(
        "models/<model:name>/versions/<int:version>/artifacts/<int:artifact_id>/download",
        api(views.ArtifactDownload),
        name="artifact-download",
    ),
    path(
        "models/<model:name>/versions/<int:version>/artifacts/<str:filename>",
        api(views.ArtifactPut),
        name="artifact-put",
    ),
    path("tokens/", api(views.TokenListCreate), name="token-list"),
    path("tokens/<str:prefix>/", api(views.TokenRevoke), name="token-revoke"),
]
