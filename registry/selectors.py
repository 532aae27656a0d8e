"""Reads of the catalog. Every selector takes the user and returns only what that user may see."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from registry import permissions
from registry.filters import ModelFilter
from registry.models import ApiToken, Artifact, Metric, ModelVersion, RegisteredModel
from registry.permissions import Action


def model_list(*, user, filters: Mapping[str, Any] | None = None) -> tuple[QuerySet, ModelFilter]:
    """The catalog as the user may see it, filtered, searched and sorted; one SQL statement per page."""
    base = permissions.restrict(RegisteredModel.objects.select_related("owner", "team"), user, Action.VIEW)
    filterset = ModelFilter(filters or {}, queryset=base)
    return filterset.qs, filterset


def model_get(*, user, name: str, action: Action = Action.VIEW, for_update: bool = False) -> RegisteredModel:
    """One model by name. 404 if the user may not see it; 403 if they may see it but not do `action`."""
    queryset = RegisteredModel.objects.select_related("owner", "team", "created_by", "updated_by")
    model = permissions.restrict(queryset, user, Action.VIEW).filter(name=name).first()
    if model is None:
        raise Http404(f"No model named '{name}', or you do not have access to it.")
    permissions.require(user, action, model)
    return model


def _metrics_prefetch() -> Prefetch:
    return Prefetch("metrics", queryset=Metric.objects.order_by("name", "dataset", "split"))


def _artifacts_prefetch() -> Prefetch:
    return Prefetch(
        "artifacts",
        queryset=Artifact.objects.select_related("uploaded_by", "version__model").order_by("filename"),
    )


def version_list(*, user, model: RegisteredModel) -> QuerySet:
    """A model's versions, newest first, with their metrics (two queries however many versions)."""
    permissions.require(user, Action.VIEW, model)
    return model.versions.select_related("created_by").prefetch_related(_metrics_prefetch()).order_by("-version")


def version_get(*, user, model: RegisteredModel, version: int | str, action: Action = Action.VIEW) -> ModelVersion:
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise Http404("Version numbers are whole numbers.") from None
    permissions.require(user, Action.VIEW, model)
    found = (
        model.versions.select_related("created_by", "model", "model__owner")
        .prefetch_related(_metrics_prefetch(), _artifacts_prefetch())
        .filter(version=number)
        .first()
    )
    if found is None:
        raise Http404(f"'{model.name}' has no version {number}.")
    permissions.require(user, action, found)
    return found


def artifact_list(*, user, version: ModelVersion) -> QuerySet:
    permissions.require(user, Action.VIEW, version)
    return version.artifacts.select_related("uploaded_by", "version__model").order_by("filename")


def artifact_get(*, user, version: ModelVersion, artifact_id: int | str) -> Artifact:
    found = artifact_list(user=user, version=version).filter(pk=artifact_id).first()
    if found is None:
        raise Http404(f"v{version.version} of '{version.model.name}' has no artifact {artifact_id}.")
    return found


def token_list(*, user) -> QuerySet:
    return ApiToken.objects.filter(user=user).select_related("model").order_by("revoked_at", "-created_at")
