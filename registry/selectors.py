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
from registry.rawsql import Columns, hot_cursor, prefetched

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
    """One model by name. 404 if the user may not see it; 403 if they may see it but not do `action`."""
    hot = _hot_reads()
    condition, params = permissions.model_condition_sql(user, Action.VIEW, "m")
    rows = _run(hot.model_by_name.format(condition=condition), [name, *params])  # names are unique
    model = hot.model_with_people(rows[0]) if rows else None
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


def version_search(*, user) -> QuerySet:
    """Every version the user may see, with its model, author, files and alias names: four queries a page."""
    queryset = ModelVersion.objects.select_related("model", "created_by").prefetch_related(
        *_version_detail_prefetches()
    )
    return permissions.restrict(queryset, user, Action.VIEW)


def model_search(*, user) -> QuerySet:
    """Every model the user may see, with its owner, its aliases and the newest version in each stage (as
    `latest_per_stage`, with their files and aliases): six queries a page, however many models."""
    if connection.features.can_distinct_on_fields:  # PostgreSQL
        latest = ModelVersion.objects.order_by("model_id", "stage", "-version").distinct("model_id", "stage")
    else:  # SQLite (`make run`): the version whose number is the highest of its model and stage
        newest = ModelVersion.objects.filter(model_id=OuterRef("model_id"), stage=OuterRef("stage"))
        latest = ModelVersion.objects.filter(
            version=Subquery(newest.order_by("-version").values("version")[:1])
        ).order_by("model_id", "stage")
    latest = latest.select_related("created_by").prefetch_related(*_version_detail_prefetches())
    queryset = RegisteredModel.objects.select_related("owner").prefetch_related(
        Prefetch("aliases", queryset=ModelAlias.objects.select_related("version").order_by("name")),
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


# The two reads a deployment system repeats (resolve an alias, get a model) are hand-written SQL with the
# permission condition from `permissions.model_condition_sql`: compiling their querysets cost several times
# what PostgreSQL spends running them. They return the same instances, with the same related objects and
# prefetch caches, as `version_search` and `model_search` rows (tests/registry/test_hot_reads.py compares them).
class _HotReads:
    def __init__(self):
        q = connection.ops.quote_name
        # Only the fields the MLflow renderers read are loaded for versions, their authors and files (psycopg
        # spends time per column); any other field is deferred and loads on access, as with `.only()`.
        self.version = Columns(ModelVersion, "v", list(RENDERED_VERSION_FIELDS))
        self.model = Columns(
            RegisteredModel, "m", [f.name for f in RegisteredModel._meta.concrete_fields if f.name != "search_vector"]
        )
        self.alias_model = Columns(RegisteredModel, "m", ["name", "visibility", "owner", "team"])
        self.user = Columns(User, "u", [User.USERNAME_FIELD])
        self.artifact = Columns(Artifact, "f", ["version", "filename", "size", "sha256", "status", "findings"])
        t = {
            name: q(m._meta.db_table)
            for name, m in (
                ("v", ModelVersion),
                ("m", RegisteredModel),
                ("u", User),
                ("f", Artifact),
                ("a", ModelAlias),
            )
        }
        self.alias_names = f"ARRAY(SELECT an.name FROM {t['a']} an WHERE an.version_id = v.id ORDER BY an.name)"
        self.by_alias = (
            f"SELECT {self.version.sql}, {self.alias_model.sql}, {self.user.sql}, {self.alias_names},"
            f" {self.artifact.sql}"
            f" FROM {t['a']} a JOIN {t['v']} v ON v.id = a.version_id JOIN {t['m']} m ON m.id = v.model_id"
            f" LEFT JOIN {t['u']} u ON u.id = v.created_by_id LEFT JOIN {t['f']} f ON f.version_id = v.id"
            " WHERE m.name = %s AND a.name = %s AND ({condition}) ORDER BY f.filename"
        )
        # model_get: the model with select_related("owner", "team", "created_by", "updated_by").
        self.people = [("owner", Columns(User, "o")), ("team", Columns(Team, "t")), ("created_by", Columns(User, "c"))]
        self.people.append(("updated_by", Columns(User, "b")))
        self.model_by_name = (
            f"SELECT {self.model.sql}, {', '.join(columns.sql for _, columns in self.people)} FROM {t['m']} m"
            f" JOIN {t['u']} o ON o.id = m.owner_id LEFT JOIN {q(Team._meta.db_table)} t ON t.id = m.team_id"
            f" LEFT JOIN {t['u']} c ON c.id = m.created_by_id LEFT JOIN {t['u']} b ON b.id = m.updated_by_id"
            " WHERE m.name = %s AND ({condition})"
        )
        self.model_row = (
            f"SELECT {self.model.sql}, {self.user.sql},"
            f" ARRAY(SELECT ma.name FROM {t['a']} ma WHERE ma.model_id = m.id ORDER BY ma.name),"
            f" ARRAY(SELECT mv.id FROM {t['a']} ma JOIN {t['v']} mv ON mv.id = ma.version_id"
            "        WHERE ma.model_id = m.id ORDER BY ma.name),"
            f" ARRAY(SELECT mv.version FROM {t['a']} ma JOIN {t['v']} mv ON mv.id = ma.version_id"
            "        WHERE ma.model_id = m.id ORDER BY ma.name)"
            f" FROM {t['m']} m JOIN {t['u']} u ON u.id = m.owner_id WHERE m.name = %s AND ({{condition}})"
        )
        # The newest version in each stage (model_search's `latest_per_stage`), with authors, files and aliases.
        self.latest = (
            f"SELECT {self.version.sql}, {self.user.sql}, {self.alias_names}, {self.artifact.sql}"
            f" FROM (SELECT DISTINCT ON (stage) * FROM {t['v']} WHERE model_id = %s ORDER BY stage, version DESC) v"
            f" LEFT JOIN {t['u']} u ON u.id = v.created_by_id LEFT JOIN {t['f']} f ON f.version_id = v.id"
            " ORDER BY v.version, f.filename"
        )

    def model_with_people(self, row) -> RegisteredModel:
        model = self.model.instance(row)
        at = self.model.width
        for name, columns in self.people:
            model._state.fields_cache[name] = columns.instance(row, at)
            at += columns.width
        return model

    def versions(self, rows, offset: int) -> list[ModelVersion]:
        """Versions from rows of `version columns, [extra], author columns, alias names, artifact columns`
        (one row per file, in version order), with `offset` the width of the extra columns after the version."""
        found: dict[int, ModelVersion] = {}
        files: dict[int, list[Artifact]] = {}
        author_at = self.version.width + offset
        names_at = author_at + self.user.width
        for row in rows:
            version_id = row[0]
            if version_id not in found:
                version = found[version_id] = self.version.instance(row)
                version._state.fields_cache["created_by"] = self.user.instance(row, author_at)
                aliases = [ModelAlias(name=name, model_id=version.model_id, version=version) for name in row[names_at]]
                files[version_id] = []
                version._prefetched_objects_cache = {"aliases": prefetched(ModelAlias, aliases)}
            artifact = self.artifact.instance(row, names_at + 1)
            if artifact is not None:
                artifact._state.fields_cache["version"] = found[version_id]
                files[version_id].append(artifact)
        for version_id, version in found.items():
            version._prefetched_objects_cache["artifacts"] = prefetched(Artifact, files[version_id])
        return list(found.values())


_hot: _HotReads | None = None


def _hot_reads() -> _HotReads:
    global _hot
    if _hot is None:
        _hot = _HotReads()
    return _hot


def _first(queryset: QuerySet, missing: str):
    found = queryset.order_by().first()
    if found is None:
        raise Http404(missing)
    return found


def _run(sql: str, params: list) -> list[tuple]:
    with hot_cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def model_detail(*, user, name: str) -> RegisteredModel:
    """One model by name as a `model_search` row: its owner, aliases and newest version per stage (404 if the
    user may not see it). Two queries."""
    if connection.vendor != "postgresql":  # the SQL below uses ARRAY(); `make run`'s SQLite takes the ORM
        return _first(
            model_search(user=user).filter(name=name), f"No model named '{name}', or you do not have access to it."
        )
    hot = _hot_reads()
    condition, params = permissions.model_condition_sql(user, Action.VIEW, "m")
    rows = _run(hot.model_row.format(condition=condition), [name, *params])  # names are unique
    if not rows:
        raise Http404(f"No model named '{name}', or you do not have access to it.")
    row = rows[0]
    model = hot.model.instance(row)
    at = hot.model.width
    model._state.fields_cache["owner"] = hot.user.instance(row, at)
    names, version_ids, numbers = row[at + hot.user.width :]
    aliases = [
        ModelAlias(name=alias, model=model, version=ModelVersion(id=version_id, model_id=model.pk, version=number))
        for alias, version_id, number in zip(names, version_ids, numbers, strict=True)
    ]
    model._prefetched_objects_cache = {"aliases": prefetched(ModelAlias, aliases)}
    model.latest_per_stage = hot.versions(_run(hot.latest, [model.pk]), 0)
    for version in model.latest_per_stage:
        version._state.fields_cache["model"] = model
    return model


def version_by_alias(*, user, model_name: str, alias: str) -> ModelVersion:
    """The version alias `alias` of model `model_name` points at, with its model, author, files and alias
    names, in one query (the CD hot path). 404 if the model is not visible or has no such alias."""
    if connection.vendor != "postgresql":
        return _first(
            version_search(user=user).filter(model__name=model_name, aliases__name=alias),
            f"No model named '{model_name}' with an alias '{alias}', or you do not have access to it.",
        )
    hot = _hot_reads()
    condition, params = permissions.model_condition_sql(user, Action.VIEW, "m")
    rows = _run(hot.by_alias.format(condition=condition), [model_name, alias, *params])
    if not rows:
        raise Http404(f"No model named '{model_name}' with an alias '{alias}', or you do not have access to it.")
    version = hot.versions(rows, hot.alias_model.width)[0]
    version._state.fields_cache["model"] = hot.alias_model.instance(rows[0], hot.version.width)
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
