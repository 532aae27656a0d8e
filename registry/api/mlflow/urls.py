"""Routes of the MLflow-compatible API, mounted at `/api/2.0/mlflow/` (the paths MLflow's REST store calls)."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path

from registry.api.mlflow import views

app_name = "mlflow"


def api(view_class):
    """DRF authenticates these requests itself (tokens or session) and answers 401, never a login redirect."""
    return login_not_required(view_class.as_view())


urlpatterns = [
    path("registered-models/create", api(views.RegisteredModelCreate), name="registered-model-create"),
    path("registered-models/get", api(views.RegisteredModelGet), name="registered-model-get"),
    path("registered-models/rename", api(views.RegisteredModelRename), name="registered-model-rename"),
    path("registered-models/update", api(views.RegisteredModelUpdate), name="registered-model-update"),
    path("registered-models/delete", api(views.RegisteredModelDelete), name="registered-model-delete"),
    path("registered-models/search", api(views.RegisteredModelSearch), name="registered-model-search"),
    path(
        "registered-models/get-latest-versions",
        api(views.RegisteredModelLatestVersions),
        name="registered-model-latest-versions",
    ),
    path("registered-models/set-tag", api(views.RegisteredModelSetTag), name="registered-model-set-tag"),
    path("registered-models/delete-tag", api(views.RegisteredModelDeleteTag), name="registered-model-delete-tag"),
    path("registered-models/alias", api(views.RegisteredModelAlias), name="registered-model-alias"),
    path("model-versions/create", api(views.ModelVersionCreate), name="model-version-create"),
    path("model-versions/get", api(views.ModelVersionGet), name="model-version-get"),
    path("model-versions/update", api(views.ModelVersionUpdate), name="model-version-update"),
    path("model-versions/delete", api(views.ModelVersionDelete), name="model-version-delete"),
    path("model-versions/search", api(views.ModelVersionSearch), name="model-version-search"),
    path("model-versions/transition-stage", api(views.ModelVersionTransitionStage), name="model-version-transition"),
    path("model-versions/get-download-uri", api(views.ModelVersionDownloadUri), name="model-version-download-uri"),
    path("model-versions/set-tag", api(views.ModelVersionSetTag), name="model-version-set-tag"),
    path("model-versions/delete-tag", api(views.ModelVersionDeleteTag), name="model-version-delete-tag"),
]

# Mounted at `/api/2.0/mlflow-artifacts/`: listing and downloading a version's files, for `models:/` URIs.
artifact_urlpatterns = (
    [
        path("artifacts", api(views.ArtifactList), name="artifact-list"),
        path("artifacts/<path:path>", api(views.ArtifactDownload), name="artifact-download"),
    ],
    "mlflow_artifacts",
)
