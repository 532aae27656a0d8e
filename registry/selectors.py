"""Reads of the catalog. Every selector takes the user and returns only what that user may see."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import Http404

from registry import permissions
from registry.filters import ModelFilter
from registry.models import (
    ApiToken,
    Artifact,
    Metric,
    ModelAlias,
    ModelVersion,
    RegisteredModel,
    RegisteredModelGroupObjectPermission,
    RegisteredModelUserObjectPermission,
    ServiceAccount,
    Team,
)
from registry.permissions import Action

User = get_user_model()


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


# --- Registry-client reads (the MLflow-compatible API): constant queries per page ---------------------------


def _version_detail_prefetches() -> tuple:
    # A version's aliases all belong to its model, so ordering them by name is ModelAlias's default order
    # (model, name) without the join to the model that the default needs.
    return (
        Prefetch("artifacts", queryset=Artifact.objects.order_by("filename")),
        Prefetch("aliases", queryset=ModelAlias.objects.order_by("name")),
    )


def _only(queryset: QuerySet):
    """The one row of a queryset that matches at most one (a unique lookup), or None: like `first()` without
    ordering the rows, which costs a join and its compilation on the hot paths."""
    rows = list(queryset.order_by()[:1])
    return rows[0] if rows else None


def version_search(*, user) -> QuerySet:
    """Every version the user may see, with its model, author, files and alias names: four queries a page."""
    queryset = ModelVersion.objects.select_related("model", "created_by").prefetch_related(
        *_version_detail_prefetches()
    )
    return permissions.restrict(queryset, user, Action.VIEW)


def model_search(*, user) -> QuerySet:
    """Every model the user may see, with its owner, its aliases and the newest version in each stage (as
    `latest_per_stage`, with their files and aliases): six queries a page, however many models."""
    latest = (
        ModelVersion.objects.order_by("model_id", "stage", "-version")
        .distinct("model_id", "stage")
        .select_related("created_by")
        .prefetch_related(*_version_detail_prefetches())
    )
    queryset = RegisteredModel.objects.select_related("owner").prefetch_related(
        Prefetch("aliases", queryset=ModelAlias.objects.select_related("version").order_by("name")),
        Prefetch("versions", queryset=latest, to_attr="latest_per_stage"),
    )
    return permissions.restrict(queryset, user, Action.VIEW)


def model_detail(*, user, name: str) -> RegisteredModel:
    """One model by name with `model_search`'s prefetches (404 if the user may not see it)."""
    found = _only(model_search(user=user).filter(name=name))  # names are unique
    if found is None:
        raise Http404(f"No model named '{name}', or you do not have access to it.")
    return found


def version_by_alias(*, user, model_name: str, alias: str) -> ModelVersion:
    """The version alias `alias` of model `model_name` points at, found in one query (the CD hot path), ready
    to render like `version_search` rows. 404 if the model is not visible or has no such alias."""
    # A model's name, and an alias's name within its model, are unique: at most one row.
    found = _only(version_search(user=user).filter(model__name=model_name, aliases__name=alias))
    if found is None:
        raise Http404(f"No model named '{model_name}' with an alias '{alias}', or you do not have access to it.")
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


def access_list(*, user, model: RegisteredModel) -> dict[str, list]:
    """Who holds what on a model, for anyone who may view it: `users` and `teams`, each a list of
    `(grantee, [codenames])` sorted by name. Two queries however many grants."""
    permissions.require(user, Action.VIEW, model)
    users: dict = {}
    user_rows = RegisteredModelUserObjectPermission.objects.filter(content_object=model).select_related(
        "user", "permission"
    )
    for row in user_rows:
        users.setdefault(row.user, []).append(row.permission.codename)
    teams: dict = {}
    team_rows = RegisteredModelGroupObjectPermission.objects.filter(content_object=model).select_related(
        "group__team", "permission"
    )
    for row in team_rows:
        teams.setdefault(row.group, []).append(row.permission.codename)
    order = [action.value for action in Action]

    def ordered(grants: dict, key) -> list:
        return [(grantee, sorted(codes, key=order.index)) for grantee, codes in sorted(grants.items(), key=key)]

    return {
        "users": ordered(users, lambda kv: kv[0].get_username()),
        "teams": ordered(teams, lambda kv: kv[0].name),
    }


def _require_overseer(user, what: str) -> None:
    """Administrators manage teams and service accounts; auditors read them (they read everything)."""
    if not (permissions.is_administrator(user) or permissions.has_role(user, permissions.Role.AUDITOR)):
        raise PermissionDenied(f"{what} are managed by administrators.")


def service_account_list(*, user) -> QuerySet:
    """Every service account with its creator and roles (administrators and auditors)."""
    _require_overseer(user, "Service accounts")
    return (
        ServiceAccount.objects.select_related("user", "created_by")
        .prefetch_related("user__groups")
        .order_by("user__username")
    )


def service_account_get(*, user, username: str) -> ServiceAccount:
    account = service_account_list(user=user).filter(user__username=username).first()
    if account is None:
        raise Http404(f"No service account named '{username}'.")
    return account


def team_list(*, user) -> QuerySet:
    """Every team with its members (administrators and auditors)."""
    _require_overseer(user, "Teams")
    members = Prefetch("group__user_set", queryset=User.objects.order_by("username").select_related("service_account"))
    return Team.objects.select_related("group").prefetch_related(members).order_by("name")


def team_get(*, user, slug: str) -> Team:
    team = team_list(user=user).filter(slug=slug).first()
    if team is None:
        raise Http404(f"No team '{slug}'.")
    return team
