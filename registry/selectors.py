"""Reads of the catalog. Every selector takes the user and returns only what that user may see."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import F, OuterRef, Prefetch, QuerySet, Subquery
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
from registry.rawsql import Loaded

User = get_user_model()


def model_list(*, user, filters: Mapping[str, Any] | None = None) -> tuple[QuerySet, ModelFilter]:
    """The catalog as the user may see it, filtered, searched and sorted: one SQL statement per page, plus one
    for the aliases of each model's production version (`production_aliases`)."""
    production_aliases = Prefetch(
        "aliases",
        queryset=ModelAlias.objects.filter(version__version=F("model__production_version")).order_by("name"),
        to_attr="production_aliases",
    )
    base = permissions.restrict(
        RegisteredModel.objects.select_related("owner", "team").prefetch_related(production_aliases),
        user,
        Action.VIEW,
    )
    filterset = ModelFilter(filters or {}, queryset=base)
    return filterset.qs, filterset


def model_get(*, user, name: str, action: Action = Action.VIEW, for_update: bool = False) -> RegisteredModel:
    """One model by name, with its owner, team and authors. 404 if the user may not see it; 403 if they may see
    it but not do `action`."""
    hot = _hot_reads()
    model = hot.model_by_name.one(user, name)  # names are unique
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
# The MLflow renderers read a version's files and aliases from `listed_files` and `listed_aliases`, and a
# model's aliases from `listed_aliases`: lists the prefetches below leave (`to_attr`), and the hot reads fill
# from their own precompiled queries.


def _version_detail_prefetches() -> tuple:
    # A version's aliases all belong to its model, so ordering them by name is ModelAlias's default order
    # (model, name) without the join to the model that the default needs.
    return (
        Prefetch("artifacts", queryset=Artifact.objects.order_by("filename"), to_attr="listed_files"),
        Prefetch("aliases", queryset=ModelAlias.objects.order_by("name"), to_attr="listed_aliases"),
    )


def version_search(*, user) -> QuerySet:
    """Every version the user may see, with its model, author, files and alias names: four queries a page."""
    queryset = ModelVersion.objects.select_related("model", "created_by").prefetch_related(
        *_version_detail_prefetches()
    )
    return permissions.restrict(queryset, user, Action.VIEW)


def _latest_versions() -> QuerySet:
    """The newest version of each model in each stage."""
    if connection.features.can_distinct_on_fields:  # PostgreSQL
        return ModelVersion.objects.order_by("model_id", "stage", "-version").distinct("model_id", "stage")
    # SQLite (`make run`): the version whose number is the highest of its model and stage
    newest = ModelVersion.objects.filter(model_id=OuterRef("model_id"), stage=OuterRef("stage"))
    return ModelVersion.objects.filter(version=Subquery(newest.order_by("-version").values("version")[:1])).order_by(
        "model_id", "stage"
    )


def model_search(*, user) -> QuerySet:
    """Every model the user may see, with its owner, its aliases and the newest version in each stage (as
    `latest_per_stage`, with their files and aliases): six queries a page, however many models."""
    latest = _latest_versions().select_related("created_by").prefetch_related(*_version_detail_prefetches())
    queryset = RegisteredModel.objects.select_related("owner").prefetch_related(
        Prefetch(
            "aliases",
            queryset=ModelAlias.objects.select_related("version").order_by("name"),
            to_attr="listed_aliases",
        ),
        Prefetch("versions", queryset=latest, to_attr="latest_per_stage"),
    )
    return permissions.restrict(queryset, user, Action.VIEW)


# The version fields the MLflow renderers read (registry/api/mlflow/serializers.py).
RENDERED_VERSION_FIELDS = (
    "model",
    "version",
    "description",
    "source",
    "run_id",
    "run_link",
    "tags",
    "stage",
    "import_status",
    "import_message",
    "created_by",
    "created_at",
    "updated_at",
)


class _Read:
    """A precompiled read: instances of `main`, each with its related objects (as select_related sets them)
    from `related`, {field name: Loaded}, from the queryset `build(*values)` returns. `action` restricts it
    to the models the user may act on (None: the caller has checked already)."""

    def __init__(
        self, build, main: Loaded, related: dict[str, Loaded] | None = None, *, values=(str,), action=Action.VIEW
    ):
        self.main, self.related = main, related or {}
        self.lookups = [*main.lookups, *(lookup for loaded in self.related.values() for lookup in loaded.lookups)]
        self.precompiled = permissions.Precompiled(
            lambda *args: build(*args).values_list(*self.lookups), action=action, values=values
        )

    def all(self, user, *values) -> list:
        found = []
        for values_row in self.precompiled.rows(user, *values):
            row = dict(zip(self.lookups, values_row, strict=True))
            instance = self.main.instance(row)
            for name, loaded in self.related.items():
                setattr(instance, name, loaded.instance(row))
            found.append(instance)
        return found

    def one(self, user, *values):
        """The one instance found for `user` and `values`, or None."""
        found = self.all(user, *values)
        return found[0] if found else None


# The reads a deployment system repeats (resolve an alias, get a model) and every write's model lookup are
# querysets restricted by `permissions.restrict`, compiled by the ORM once per shape of the permission rule
# (`permissions.Precompiled`): compiling them on every request cost several times what PostgreSQL spends
# running them, and so would prefetching. They give the instances and lists `version_search` and
# `model_search` give (tests/registry/test_hot_reads.py compares the JSON).
class _HotReads:
    def __init__(self):
        # Only the fields the MLflow renderers read are loaded for versions, their authors and files; any other
        # field is deferred and loads on access, as with `.only()`.
        version = Loaded(ModelVersion, "", RENDERED_VERSION_FIELDS)
        author = {"created_by": Loaded(User, "created_by__", [User.USERNAME_FIELD])}
        alias_model = Loaded(RegisteredModel, "model__", ["name", "visibility", "owner", "team"])
        self.by_alias = _Read(
            lambda name, alias: ModelVersion.objects.filter(model__name=name, aliases__name=alias).order_by(),
            version,
            {"model": alias_model, **author},
            values=(str, str),
        )
        files = Loaded(Artifact, "", ["version", "filename", "size", "sha256", "status", "findings"])
        self.files_of_version = _Read(
            lambda version_id: Artifact.objects.filter(version=version_id).order_by("filename"),
            files,
            values=(int,),
            action=None,
        )
        alias = Loaded(ModelAlias, "", ["model", "name", "version"])
        self.aliases_of_version = _Read(
            lambda version_id: ModelAlias.objects.filter(version=version_id).order_by("name"),
            alias,
            values=(int,),
            action=None,
        )
        model = Loaded(
            RegisteredModel, "", [f.name for f in RegisteredModel._meta.concrete_fields if f.name != "search_vector"]
        )
        # model_get: the model with its owner, team and authors (select_related's).
        people = {name: Loaded(User, f"{name}__") for name in ("owner", "created_by", "updated_by")}
        people["team"] = Loaded(Team, "team__")
        self.model_by_name = _Read(lambda name: RegisteredModel.objects.filter(name=name).order_by(), model, people)
        # model_detail: the model with its owner, its aliases (with their version numbers) and its newest
        # version per stage with their authors and files, as a `model_search` row.
        owner = {"owner": Loaded(User, "owner__", [User.USERNAME_FIELD])}
        self.model_row = _Read(lambda name: RegisteredModel.objects.filter(name=name).order_by(), model, owner)
        self.aliases_of_model = _Read(
            lambda model_id: ModelAlias.objects.filter(model=model_id).order_by("name"),
            alias,
            {"version": Loaded(ModelVersion, "version__", ["version"])},
            values=(int,),
            action=None,
        )
        self.latest_of_model = _Read(
            lambda model_id: _latest_versions().filter(model=model_id), version, author, values=(int,), action=None
        )
        self.files_of_latest = _Read(
            lambda model_id: Artifact.objects.filter(
                version__in=Subquery(_latest_versions().filter(model=model_id).values("pk"))
            ).order_by("filename"),
            files,
            values=(int,),
            action=None,
        )


_hot: _HotReads | None = None


def _hot_reads() -> _HotReads:
    global _hot
    if _hot is None:
        _hot = _HotReads()
    return _hot


def model_detail(*, user, name: str) -> RegisteredModel:
    """One model by name as a `model_search` row: its owner, aliases and newest version per stage (404 if the
    user may not see it). Four queries, compiled once."""
    hot = _hot_reads()
    model = hot.model_row.one(user, name)  # names are unique
    if model is None:
        raise Http404(f"No model named '{name}', or you do not have access to it.")
    model.listed_aliases = hot.aliases_of_model.all(user, model.pk)
    model.latest_per_stage = hot.latest_of_model.all(user, model.pk)
    files = hot.files_of_latest.all(user, model.pk)
    for version in model.latest_per_stage:
        version.model = model
        version.listed_files = [file for file in files if file.version_id == version.pk]
        version.listed_aliases = [alias for alias in model.listed_aliases if alias.version_id == version.pk]
    return model


def version_by_alias(*, user, model_name: str, alias: str) -> ModelVersion:
    """The version alias `alias` of model `model_name` points at, with its model, author, files and alias
    names, as a `version_search` row (the CD hot path): three queries, compiled once. 404 if the model is not
    visible or has no such alias."""
    hot = _hot_reads()
    version = hot.by_alias.one(user, model_name, alias)  # one alias of that name per model
    if version is None:
        raise Http404(f"No model named '{model_name}' with an alias '{alias}', or you do not have access to it.")
    version.listed_files = hot.files_of_version.all(user, version.pk)
    version.listed_aliases = hot.aliases_of_version.all(user, version.pk)
    return version


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


def group_display_name(group: Group) -> str:
    """A group's name for people: its team's or review committee's name, else the group's own."""
    for kind in ("team", "committee"):
        owner = getattr(group, kind, None)  # the reverse one-to-one raises a subclass of AttributeError if absent
        if owner is not None:
            return owner.name
    return group.name


def access_list(*, user, model: RegisteredModel) -> dict[str, list]:
    """Who holds what on a model, for anyone who may view it: `users`, `teams` and other `groups` (review
    committees the governance workflow granted `view` when a request was routed to them, or any group granted
    through the admin), each a list of `(grantee, [codenames])` sorted by name. Two queries however many
    grants."""
    permissions.require(user, Action.VIEW, model)
    users: dict = {}
    user_rows = RegisteredModelUserObjectPermission.objects.filter(content_object=model).select_related(
        "user", "permission"
    )
    for row in user_rows:
        users.setdefault(row.user, []).append(row.permission.codename)
    teams: dict = {}
    groups: dict = {}
    group_rows = RegisteredModelGroupObjectPermission.objects.filter(content_object=model).select_related(
        "group__team", "group__committee", "permission"
    )
    for row in group_rows:
        grants = teams if hasattr(row.group, "team") else groups
        grants.setdefault(row.group, []).append(row.permission.codename)
    order = [action.value for action in Action]

    def ordered(grants: dict, key) -> list:
        return [(grantee, sorted(codes, key=order.index)) for grantee, codes in sorted(grants.items(), key=key)]

    return {
        "users": ordered(users, lambda kv: kv[0].get_username()),
        "teams": ordered(teams, lambda kv: kv[0].team.name),
        "groups": ordered(groups, lambda kv: group_display_name(kv[0])),
    }


def _require_overseer(user, what: str) -> None:
    """Administrators manage teams and service accounts; auditors read them (they read everything)."""
    if not permissions.is_overseer(user):
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
    """Teams with their members: every team for administrators and auditors, the user's own teams for anyone
    else (an owner sees who shares their models)."""
    members = Prefetch("group__user_set", queryset=User.objects.order_by("username").select_related("service_account"))
    teams = Team.objects.select_related("group").prefetch_related(members).order_by("name")
    if permissions.is_overseer(user):
        return teams
    return teams.filter(group__user=user)


def team_get(*, user, slug: str) -> Team:
    team = team_list(user=user).filter(slug=slug).first()
    if team is None:
        raise Http404(f"No team '{slug}'.")
    return team
