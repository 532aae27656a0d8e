"""Writes to the catalog. Every function here is keyword-only, runs in one transaction, checks the actor's
permission through `registry.permissions`, and records exactly one audit event for the change it makes.

Views, API endpoints, the MLflow-compatible layer, the admin and management commands all call these; none
of them holds a business rule of its own. `actor=None` means the system (a Celery task or a migration).
"""

from __future__ import annotations

import functools
import logging
import math
import secrets
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import slugify
from guardian.shortcuts import assign_perm, remove_perm

from governance.audit import audit_count, audit_record, diff, snapshot
from governance.audit_actions import AuditAction
from registry import blobstore, imports, permissions, uploads
from registry.authentication import TOKEN_PREFIX, hash_secret
from registry.choices import ArtifactKind, ArtifactStatus, ImportStatus, RiskTier, Stage, TokenScope
from registry.exceptions import Conflict, InvalidInput, NameUnavailable, NotFound
from registry.models import (
    ApiToken,
    Artifact,
    MarkdownDescribed,
    Metric,
    ModelAlias,
    ModelVersion,
    RegisteredModel,
    RegisteredModelGroupObjectPermission,
    RegisteredModelUserObjectPermission,
    ServiceAccount,
    Team,
    alias_name_validator,
    model_name_key,
)
from registry.permissions import Action
from registry.rawsql import hot_cursor
from registry.validators import scan_file

User = get_user_model()

MODEL_EDITABLE_FIELDS = (
    "title",
    "description",
    "team",
    "task_type",
    "framework",
    "intended_use",
    "out_of_scope_uses",
    "limitations",
    "visibility",
    "tags",
)
# What a version is (where it came from, how it was trained, with what): frozen once it leaves development and
# bound by approvals (governance.gate binds them by digest).
VERSION_GOVERNED_FIELDS = (
    "source",
    "run_id",
    "run_link",
    "hyperparameters",
    "training_data",
    "framework",
    "framework_version",
    "library_versions",
)
VERSION_METADATA_FIELDS = ("description", *VERSION_GOVERNED_FIELDS)
# Free text and labels: editable at every stage (audited), never bound by an approval.
VERSION_COMMENTARY_FIELDS = ("description", "tags")
MAX_TAGS = 100
MAX_TAG_KEY = 250
MAX_TAG_VALUE = 5000


# --- Input checks shared by the services ----------------------------------------------------------------


def _check_markdown_length(instance) -> None:
    """Markdown fields are capped (MARKDOWN_MAX_CHARS) so no description costs more than a bounded render."""
    limit = settings.MARKDOWN_MAX_CHARS
    length = len(instance.description or "")
    if length > limit:
        raise InvalidInput(
            f"The description is {length:,} characters long; Markdown fields take at most {limit:,} "
            "(MARKDOWN_MAX_CHARS).",
            code="markdown_too_long",
            fields={"description": [f"At most {limit:,} characters (this has {length:,})."]},
        )


def _full_clean(instance, *, exclude: Iterable[str] = ()) -> None:
    if isinstance(instance, MarkdownDescribed):
        _check_markdown_length(instance)
    try:
        instance.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        fields = {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
        raise InvalidInput("Some fields are not valid.", fields=fields) from exc


def validate_tags(tags: Any, *, field: str = "tags") -> dict[str, str]:
    """Tags are a flat mapping of short string keys to string values."""
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise InvalidInput("Tags must be an object of key/value strings.", fields={field: ["Must be an object."]})
    if len(tags) > MAX_TAGS:
        raise InvalidInput(f"At most {MAX_TAGS} tags.", fields={field: [f"At most {MAX_TAGS} tags."]})
    clean = {}
    for key, value in tags.items():
        if not isinstance(key, str) or not key.strip() or len(key) > MAX_TAG_KEY:
            raise InvalidInput(
                "Tag keys must be non-empty strings.", fields={field: [f"Bad key {key!r}: 1-{MAX_TAG_KEY} characters."]}
            )
        if value is None:
            value = ""
        if not isinstance(value, str | int | float | bool):
            raise InvalidInput("Tag values must be strings.", fields={field: [f"Value of {key!r} must be a string."]})
        value = str(value)
        if len(value) > MAX_TAG_VALUE:
            raise InvalidInput("Tag value too long.", fields={field: [f"Value of {key!r} exceeds {MAX_TAG_VALUE}."]})
        clean[key.strip()] = value
    return clean


def _validate_json_object(value: Any, field: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{field} must be a JSON object.", fields={field: ["Must be a JSON object."]})
    return dict(value)


def _validate_uri_list(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [line.strip() for line in value.splitlines() if line.strip()]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and len(v) <= 1000 for v in value):
        raise InvalidInput(f"{field} must be a list of URIs.", fields={field: ["Must be a list of strings."]})
    return list(value)


def validate_metrics(metrics: Any) -> list[dict[str, Any]]:
    """Metrics are a list of `{name, value, dataset?, split?}`, each name/dataset/split combination once."""
    if metrics is None:
        return []
    if not isinstance(metrics, list | tuple):
        raise InvalidInput("Metrics must be a list.", fields={"metrics": ["Must be a list of objects."]})
    clean, seen = [], set()
    for i, item in enumerate(metrics):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item["name"].strip():
            raise InvalidInput("Each metric needs a name.", fields={"metrics": [f"Item {i}: a name is required."]})
        try:
            value = float(item.get("value"))
        except (TypeError, ValueError):
            raise InvalidInput(
                "Metric values must be numbers.", fields={"metrics": [f"{item['name']}: value must be a number."]}
            ) from None
        if not math.isfinite(value):
            raise InvalidInput("Metric values must be finite.", fields={"metrics": [f"{item['name']}: not finite."]})
        row = {
            "name": item["name"].strip()[:100],
            "value": value,
            "dataset": str(item.get("dataset") or "")[:200],
            "split": str(item.get("split") or "")[:50],
        }
        key = (row["name"], row["dataset"], row["split"])
        if key in seen:
            raise InvalidInput("Duplicate metric.", fields={"metrics": [f"{row['name']} appears twice."]})
        seen.add(key)
        clean.append(row)
    return clean


def _metrics_snapshot(version: ModelVersion) -> list[dict[str, Any]]:
    return [
        {"name": m.name, "value": m.value, "dataset": m.dataset, "split": m.split}
        for m in version.metrics.order_by("name", "dataset", "split")
    ]


# --- Teams ----------------------------------------------------------------------------------------------


@transaction.atomic
def team_create(*, actor, name: str, description: str = "", members: Iterable = ()) -> Team:
    """Create a team and its backing group. Administrators only."""
    if actor is not None and not permissions.is_administrator(actor):
        raise PermissionDenied("Only administrators create teams.")
    slug = slugify(name)
    if not name.strip() or not slug:
        raise InvalidInput("A team needs a name.", fields={"name": ["Required."]})
    if Team.objects.filter(slug=slug).exists() or Group.objects.filter(name=f"team:{slug}").exists():
        raise InvalidInput("A team with this name exists.", fields={"name": ["Already taken."]})
    group = Group.objects.create(name=f"team:{slug}")
    team = Team.objects.create(name=name.strip(), slug=slug, description=description, group=group)
    member_list = list(members)
    group.user_set.add(*member_list)
    audit_record(
        actor=actor,
        action=AuditAction.TEAM_CREATED,
        target=team,
        changes={
            "name": {"before": None, "after": team.name},
            "members": {"before": None, "after": sorted(u.get_username() for u in member_list)},
        },
    )
    return team


def _require_team_admin(actor) -> None:
    if actor is not None and not permissions.is_administrator(actor):
        raise PermissionDenied("Only administrators manage teams.")


@transaction.atomic
def team_member_add(*, actor, team: Team, user) -> Team:
    """Add a person or a service account to a team: they gain every grant the team holds. Administrators only."""
    _require_team_admin(actor)
    if not user.is_active:
        raise InvalidInput("That account is disabled.", fields={"username": ["No active user with this username."]})
    if team.group.user_set.filter(pk=user.pk).exists():
        raise InvalidInput(
            f"{user.get_username()} is already in {team.name}.", fields={"username": ["Already a member."]}
        )
    team.group.user_set.add(user)
    audit_record(
        actor=actor,
        action=AuditAction.TEAM_MEMBER_ADDED,
        target=team,
        changes={"members": {"added": [user.get_username()]}},
    )
    return team


@transaction.atomic
def team_member_remove(*, actor, team: Team, user) -> Team:
    """Take someone out of a team: they lose the team's grants at once. Administrators only."""
    _require_team_admin(actor)
    if not team.group.user_set.filter(pk=user.pk).exists():
        raise NotFound(f"{user.get_username()} is not in {team.name}.", code="not_a_member")
    team.group.user_set.remove(user)
    audit_record(
        actor=actor,
        action=AuditAction.TEAM_MEMBER_REMOVED,
        target=team,
        changes={"members": {"removed": [user.get_username()]}},
    )
    return team


# --- Registered models ------------------------------------------------------------------------------------


def _grant_owner_set(model: RegisteredModel, *, user, team: Team | None) -> None:
    """The owner permission set on a just-saved model, for its owner and its team's group: the rows guardian's
    `assign_perm` would write, one INSERT ... SELECT per grant table (the model is new, so no grant exists yet)."""
    q = connection.ops.quote_name
    codenames = [action.value for action in permissions.OWNER_ACTIONS]
    perms = (
        f"SELECT p.id, %s, %s FROM {q(Permission._meta.db_table)} p"
        f" WHERE p.content_type_id = %s AND p.codename IN ({', '.join(['%s'] * len(codenames))})"
    )
    content_type = ContentType.objects.get_for_model(RegisteredModel).pk  # cached by Django after the first call
    grants = [(RegisteredModelUserObjectPermission, "user_id", user.pk)]
    if team is not None:
        grants.append((RegisteredModelGroupObjectPermission, "group_id", team.group_id))
    with hot_cursor() as cursor:
        for table, grantee_column, grantee in grants:
            cursor.execute(
                f"INSERT INTO {q(table._meta.db_table)} (permission_id, {grantee_column}, content_object_id) {perms}",
                [grantee, model.pk, content_type, *codenames],
            )
            if cursor.rowcount != len(codenames):
                raise RuntimeError(f"The owner permissions are missing: {codenames} (run migrations)")


NAME_REFUSALS_WINDOW = timedelta(days=1)


def _name_holder(name: str, *, exclude_pk: int | None = None) -> RegisteredModel | None:
    """The model whose name is `name` or a look-alike of it (same `model_name_key`), if any."""
    return RegisteredModel.objects.filter(name_key=model_name_key(name)).exclude(pk=exclude_pk).first()


def _records_name_refusals(service):
    """Record each refused name collision (`model.name_unavailable`, on the model holding the name, with the
    actor's count of refusals in the last day) in its own transaction, after the refused change rolled back."""

    @functools.wraps(service)
    def recording(*, actor, **kwargs):
        try:
            return service(actor=actor, **kwargs)
        except NameUnavailable as refusal:
            with transaction.atomic():
                since = timezone.now() - NAME_REFUSALS_WINDOW
                earlier = audit_count(actor=actor, action=AuditAction.MODEL_NAME_UNAVAILABLE, since=since)
                audit_record(
                    actor=actor,
                    action=AuditAction.MODEL_NAME_UNAVAILABLE,
                    target=refusal.holder,
                    changes={"name": refusal.name, "refusals_last_day": earlier + 1},
                )
            raise

    return recording


@_records_name_refusals
@transaction.atomic
def model_create(
    *,
    actor,
    name: str,
    title: str,
    description: str = "",
    team: Team | None = None,
    task_type: str | None = None,
    framework: str | None = None,
    intended_use: str = "",
    out_of_scope_uses: str = "",
    limitations: str = "",
    visibility: str | None = None,
    tags: Mapping[str, str] | None = None,
    owner=None,
) -> RegisteredModel:
    """Register a model. The actor becomes its owner (unless `owner` is given by an administrator); the owner
    and the owning team receive the owner permission set on it."""
    permissions.require_create_model(actor)
    owner = owner or actor
    if owner != actor and not permissions.is_administrator(actor):
        raise PermissionDenied("Only administrators register models on someone else's behalf.")
    if (
        team is not None
        and not permissions.is_administrator(actor)
        and not actor.groups.filter(pk=team.group_id).exists()
    ):
        raise InvalidInput("You can only assign a team you belong to.", fields={"team": ["You are not in this team."]})
    name = (name or "").strip()
    model = RegisteredModel(
        name=name,
        name_key=model_name_key(name),
        title=(title or "").strip() or name,
        description=description or "",
        team=team,
        intended_use=intended_use or "",
        out_of_scope_uses=out_of_scope_uses or "",
        limitations=limitations or "",
        tags=validate_tags(tags),
        owner=owner,
        created_by=actor,
        updated_by=actor,
    )
    if task_type:
        model.task_type = task_type
    if framework:
        model.framework = framework
    if visibility:
        model.visibility = visibility
    # Foreign keys are the actor, the owner and a team already loaded: no need for a query each to validate them.
    _full_clean(model, exclude=["owner", "team", "created_by", "updated_by"])
    if holder := _name_holder(name):
        raise NameUnavailable(name, holder=holder)
    try:  # the name_key unique constraint settles a race between two creations of look-alike names
        with transaction.atomic():
            model.save()
    except IntegrityError as exc:
        raise NameUnavailable(name, holder=_name_holder(name)) from exc
    _grant_owner_set(model, user=owner, team=team)
    after = snapshot(model, ("name", "owner", *MODEL_EDITABLE_FIELDS))
    audit_record(actor=actor, action=AuditAction.MODEL_CREATED, target=model, changes=diff({}, after))
    return model


@transaction.atomic
def model_update(*, actor, model: RegisteredModel, data: Mapping[str, Any]) -> RegisteredModel:
    """Change a model's documentation and settings. Changing visibility needs `manage_access`."""
    model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
    permissions.require(actor, Action.CHANGE, model)
    unknown = set(data) - set(MODEL_EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(
            "These fields cannot be changed here.", fields={f: ["Not editable."] for f in sorted(unknown)}
        )
    if "visibility" in data and data["visibility"] != model.visibility:
        permissions.require(actor, Action.MANAGE_ACCESS, model)
    before = snapshot(model, MODEL_EDITABLE_FIELDS)
    for field, value in data.items():
        if field == "tags":
            value = validate_tags(value)
        elif field != "team" and value is None:
            value = ""
        setattr(model, field, value)
    _full_clean(model, exclude=["owner", "team"])
    changes = diff(before, snapshot(model, MODEL_EDITABLE_FIELDS))
    if not changes:
        return model
    model.updated_at = timezone.now()
    model.updated_by = actor
    model.save()
    audit_record(actor=actor, action=AuditAction.MODEL_UPDATED, target=model, changes=changes)
    return model


@_records_name_refusals
@transaction.atomic
def model_rename(*, actor, model: RegisteredModel, new_name: str) -> RegisteredModel:
    """Rename a model. The new name may be a look-alike of its own name (`Churn` to `churn`), never another's."""
    model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
    permissions.require(actor, Action.CHANGE, model)
    old = model.name
    model.name = (new_name or "").strip()
    _full_clean(model, exclude=["owner", "team"])
    if model.name == old:
        return model
    if holder := _name_holder(model.name, exclude_pk=model.pk):
        raise NameUnavailable(model.name, holder=holder)
    model.name_key = model_name_key(model.name)
    model.updated_at, model.updated_by = timezone.now(), actor
    try:
        with transaction.atomic():
            model.save(update_fields=["name", "name_key", "updated_at", "updated_by"])
    except IntegrityError as exc:
        raise NameUnavailable(model.name, holder=_name_holder(model.name, exclude_pk=model.pk)) from exc
    audit_record(
        actor=actor, action=AuditAction.MODEL_RENAMED, target=model, changes=diff({"name": old}, {"name": model.name})
    )
    return model


@transaction.atomic
def model_tag_set(*, actor, model: RegisteredModel, key: str, value: str) -> RegisteredModel:
    return model_update(actor=actor, model=model, data={"tags": {**model.tags, key: value}})


@transaction.atomic
def model_tag_delete(*, actor, model: RegisteredModel, key: str) -> RegisteredModel:
    if key not in model.tags:
        raise InvalidInput(f"The model has no tag '{key}'.", code="no_such_tag", fields={"key": ["No such tag."]})
    return model_update(actor=actor, model=model, data={"tags": {k: v for k, v in model.tags.items() if k != key}})


@transaction.atomic
def model_delete(*, actor, model: RegisteredModel) -> None:
    """Delete a model and its versions, only while none of them has left development."""
    model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
    permissions.require(actor, Action.DELETE, model)
    beyond = sorted(model.versions.exclude(stage=Stage.DEVELOPMENT).values_list("version", flat=True))
    if beyond:
        listed = ", ".join(f"v{n}" for n in beyond)
        raise Conflict(
            f"'{model.name}' cannot be deleted: {listed} left development. Archive the model instead.",
            code="model_has_released_versions",
        )
    before = snapshot(model, ("name", "owner", *MODEL_EDITABLE_FIELDS))
    audit_record(actor=actor, action=AuditAction.MODEL_DELETED, target=model, changes=diff(before, {}))
    model.delete()


# --- Versions -----------------------------------------------------------------------------------------------


def _refresh_latest(model: RegisteredModel) -> None:
    """Keep the catalog's denormalised latest version, its stage and the production version in step."""
    latest = model.versions.order_by("-version").values_list("version", "stage").first()
    model.latest_version, model.latest_stage = latest if latest else (None, "")
    model.production_version = (
        model.versions.filter(stage=Stage.PRODUCTION)
        .order_by("-stage_changed_at", "-version")
        .values_list("version", flat=True)
        .first()
    )
    model.updated_at = timezone.now()
    RegisteredModel.objects.filter(pk=model.pk).update(
        latest_version=model.latest_version,
        latest_stage=model.latest_stage,
        production_version=model.production_version,
        updated_at=model.updated_at,
    )


@transaction.atomic
def version_register(
    *,
    actor,
    model: RegisteredModel,
    description: str = "",
    source: str = "",
    run_id: str = "",
    run_link: str = "",
    hyperparameters: Mapping[str, Any] | None = None,
    training_data: list[str] | str | None = None,
    framework: str = "",
    framework_version: str = "",
    library_versions: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
    metrics: list[Mapping[str, Any]] | None = None,
) -> ModelVersion:
    """Register the next version of a model. Numbers are 1, 2, 3... per model, assigned under a row lock on
    the model so concurrent registrations never collide, skip or reuse a number (the counter only grows).
    A `source` under an allowed ARTIFACT_IMPORT_SOURCES prefix has its files imported by a worker once the
    version is committed (`version_import`); any other source stays an opaque reference, never fetched."""
    permissions.require(actor, Action.CHANGE, model)
    clean_metrics = validate_metrics(metrics)
    version = ModelVersion(
        model=model,
        version=1,
        description=description or "",
        source=source or "",
        run_id=run_id or "",
        run_link=run_link or "",
        hyperparameters=_validate_json_object(hyperparameters, "hyperparameters"),
        training_data=_validate_uri_list(training_data, "training_data"),
        framework=framework or "",
        framework_version=framework_version or "",
        library_versions=_validate_json_object(library_versions, "library_versions"),
        tags=validate_tags(tags),
        created_by=actor,
    )
    _full_clean(version, exclude=["model", "version", "created_by"])
    # One statement takes the model's row lock, counts the version and keeps the catalog's denormalised
    # summary in step (what _refresh_latest would find: the new version is the newest, in development; the
    # production version does not change).
    now = timezone.now()
    with hot_cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(RegisteredModel._meta.db_table)}"
            " SET version_counter = version_counter + 1, latest_version = version_counter + 1,"
            " latest_stage = %s, updated_at = %s WHERE id = %s RETURNING version_counter",
            [Stage.DEVELOPMENT.value, now, model.pk],
        )
        row = cursor.fetchone()
    if row is None:
        raise NotFound(f"The model '{model.name}' no longer exists.")
    (number,) = row
    model.version_counter = model.latest_version = number
    model.latest_stage, model.updated_at = Stage.DEVELOPMENT, now
    version.model = model
    version.version = number
    if imports.is_importable(version.source):
        version.import_status, version.import_changed_at = ImportStatus.PENDING, now
    version.save()
    Metric.objects.bulk_create(Metric(version=version, **row) for row in clean_metrics)
    after = snapshot(version, ("version", *VERSION_METADATA_FIELDS, "tags", "stage", "import_status"))
    after["metrics"] = clean_metrics
    audit_record(actor=actor, action=AuditAction.VERSION_CREATED, target=version, changes=diff({}, after))
    if version.import_status:
        transaction.on_commit(lambda: enqueue_import(version.pk))
    return version


@transaction.atomic
def version_update(*, actor, version: ModelVersion, data: Mapping[str, Any]) -> ModelVersion:
    """Edit a version's metadata (only while in development), or its description and tags (at any time: they
    are commentary, not facts an approval binds). A frozen version's governed fields may be sent unchanged
    (a form posts them all); only a change is refused."""
    version = ModelVersion.objects.select_for_update().select_related("model").get(pk=version.pk)
    permissions.require(actor, Action.CHANGE, version)
    allowed = {*VERSION_METADATA_FIELDS, "tags", "metrics"}
    unknown = set(data) - allowed
    if unknown:
        raise InvalidInput(
            "These fields cannot be changed here.", fields={f: ["Not editable."] for f in sorted(unknown)}
        )
    tracked = (*VERSION_METADATA_FIELDS, "tags")
    before = snapshot(version, tracked)
    before["metrics"] = _metrics_snapshot(version)
    converters = {
        "hyperparameters": lambda v: _validate_json_object(v, "hyperparameters"),
        "library_versions": lambda v: _validate_json_object(v, "library_versions"),
        "training_data": lambda v: _validate_uri_list(v, "training_data"),
        "tags": validate_tags,
    }
    for field, value in data.items():
        if field == "metrics":
            continue
        convert = converters.get(field)
        setattr(version, field, convert(value) if convert else (value or ""))
    _full_clean(version, exclude=["model", "version", "created_by"])
    after = snapshot(version, tracked)
    if "metrics" in data:
        clean_metrics = validate_metrics(data["metrics"])
        version.metrics.all().delete()
        Metric.objects.bulk_create(Metric(version=version, **row) for row in clean_metrics)
        after["metrics"] = sorted(clean_metrics, key=lambda m: (m["name"], m["dataset"], m["split"]))
    else:
        after["metrics"] = before["metrics"]
    changes = diff(before, after)
    frozen = sorted(set(changes) - set(VERSION_COMMENTARY_FIELDS))
    if frozen and version.metadata_frozen:
        raise Conflict(
            f"v{version.version} is in {version.get_stage_display().lower()}: its metadata is frozen once it leaves "
            f"development ({', '.join(frozen)}). Only the description and tags can change. Register a new version "
            "instead.",
            code="version_frozen",
        )
    if not changes:
        return version
    version.updated_at = timezone.now()
    version.save()
    audit_record(actor=actor, action=AuditAction.VERSION_UPDATED, target=version, changes=changes)
    return version


@transaction.atomic
def version_tag_set(*, actor, version: ModelVersion, key: str, value: str) -> ModelVersion:
    return version_update(actor=actor, version=version, data={"tags": {**version.tags, key: value}})


@transaction.atomic
def version_tag_delete(*, actor, version: ModelVersion, key: str) -> ModelVersion:
    if key not in version.tags:
        raise InvalidInput(
            f"v{version.version} has no tag '{key}'.", code="no_such_tag", fields={"key": ["No such tag."]}
        )
    return version_update(
        actor=actor, version=version, data={"tags": {k: v for k, v in version.tags.items() if k != key}}
    )


@transaction.atomic
def version_delete(*, actor, version: ModelVersion) -> None:
    """Delete a version that is in development or archived. Its number is never given out again."""
    version = ModelVersion.objects.select_for_update().select_related("model").get(pk=version.pk)
    permissions.require(actor, Action.DELETE, version)
    if version.stage in (Stage.STAGING, Stage.PRODUCTION):
        raise Conflict(
            f"v{version.version} is in {version.get_stage_display().lower()}; archive it before deleting it.",
            code="version_in_use",
        )
    model = version.model
    audit_record(
        actor=actor,
        action=AuditAction.VERSION_DELETED,
        target=version,
        changes=diff(snapshot(version, ("version", "stage", "source")), {}),
    )
    version.delete()
    _refresh_latest(model)


# The lifecycle. Moves into production are not made here: governance.services.version_transition holds
# the approval gate and calls `version_stage_apply` with the decision it checked.
ALLOWED_TRANSITIONS = {
    Stage.DEVELOPMENT: {Stage.STAGING, Stage.ARCHIVED},
    Stage.STAGING: {Stage.PRODUCTION, Stage.ARCHIVED, Stage.DEVELOPMENT},
    Stage.PRODUCTION: {Stage.STAGING, Stage.ARCHIVED},
    Stage.ARCHIVED: {Stage.STAGING},
}


def transition_refusal(current: str, target: str) -> str | None:
    """Why `current → target` is not a legal move, or None if it is."""
    if current == target:
        return f"The version is already in {Stage(target).label.lower()}."
    if target not in ALLOWED_TRANSITIONS[Stage(current)]:
        allowed = ", ".join(sorted(Stage(s).label.lower() for s in ALLOWED_TRANSITIONS[Stage(current)]))
        return f"A version in {Stage(current).label.lower()} can only move to: {allowed}."
    if current == Stage.STAGING and target == Stage.DEVELOPMENT:
        return "A version cannot return to development once it has left it; register a new version instead."
    return None


@transaction.atomic
def version_stage_apply(
    *,
    actor,
    version: ModelVersion,
    stage: str,
    gate_decision: Mapping[str, Any] | None = None,
    reason: str = "",
    force_lifecycle: bool = False,
) -> ModelVersion:
    """Move a version to `stage`. Production requires `gate_decision` from the governance gate (what approval
    or break-glass authorised it); this function refuses production without one. Only break-glass, which
    the gate authorises, skips the lifecycle's order (`force_lifecycle`)."""
    version = ModelVersion.objects.select_for_update().select_related("model").get(pk=version.pk)
    refusal = transition_refusal(version.stage, stage)
    if refusal and not (force_lifecycle and gate_decision and gate_decision.get("break_glass")):
        raise Conflict(refusal, code="illegal_transition")
    if stage == Stage.PRODUCTION and not gate_decision:
        raise PermissionDenied("Moving a version into production needs an approved decision from the approval gate.")
    before = version.stage
    version.stage = stage
    version.stage_changed_at = version.updated_at = timezone.now()
    version.save(update_fields=["stage", "stage_changed_at", "updated_at"])
    _refresh_latest(version.model)
    changes = diff({"stage": before}, {"stage": stage})
    if gate_decision:
        changes["authorised_by"] = dict(gate_decision)
    if reason:
        changes["reason"] = reason
    audit_record(actor=actor, action=AuditAction.VERSION_STAGE_CHANGED, target=version, changes=changes)
    return version


PRODUCTION_ALIAS = "production"


@transaction.atomic
def alias_apply(
    *, actor, model: RegisteredModel, name: str, version: ModelVersion, gate_decision: Mapping[str, Any] | None = None
) -> ModelAlias:
    """Point alias `name` of `model` at `version`. The `production` alias requires `gate_decision` from the
    governance gate, exactly like the production stage; governance.services.alias_set is the caller."""
    permissions.require(actor, Action.CHANGE, model)
    if version.model_id != model.pk:
        raise InvalidInput("That version belongs to another model.", fields={"version": ["Wrong model."]})
    try:
        alias_name_validator(name)
    except ValidationError as exc:
        raise InvalidInput(exc.messages[0], code="invalid_alias", fields={"alias": exc.messages}) from exc
    if name == PRODUCTION_ALIAS and not gate_decision:
        raise PermissionDenied("Moving the production alias needs an approved decision from the approval gate.")
    alias = ModelAlias.objects.select_for_update().filter(model=model, name=name).select_related("version").first()
    before = alias.version.version if alias else None
    if alias is None:
        alias = ModelAlias(model=model, name=name)
    elif alias.version_id == version.pk:
        return alias
    alias.version, alias.updated_by, alias.updated_at = version, actor, timezone.now()
    alias.save()
    changes = {"alias": name, "version": {"before": before, "after": version.version}}
    if gate_decision:
        changes["authorised_by"] = dict(gate_decision)
    audit_record(actor=actor, action=AuditAction.ALIAS_CHANGED, target=alias, changes=changes)
    return alias


@transaction.atomic
def alias_delete(*, actor, model: RegisteredModel, name: str) -> None:
    """Remove an alias. Removing `production` takes nothing into production, so it needs no approval."""
    permissions.require(actor, Action.CHANGE, model)
    alias = ModelAlias.objects.select_for_update().filter(model=model, name=name).select_related("version").first()
    if alias is None:
        raise InvalidInput(f"'{model.name}' has no alias '{name}'.", code="no_such_alias", fields={"alias": ["None."]})
    changes = {"alias": name, "version": {"before": alias.version.version, "after": None}}
    audit_record(actor=actor, action=AuditAction.ALIAS_DELETED, target=alias, changes=changes)
    alias.delete()


@transaction.atomic
def model_risk_tier_set(*, actor, model: RegisteredModel, tier: str, reason: str = "") -> RegisteredModel:
    """Set a model's risk tier. Called by the risk-assessment services, never from a form."""
    model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
    if tier not in RiskTier.values:
        raise InvalidInput(f"Unknown risk tier '{tier}'.", fields={"risk_tier": ["Unknown tier."]})
    if tier == model.risk_tier:
        return model
    changes = diff({"risk_tier": model.risk_tier}, {"risk_tier": tier})
    if reason:
        changes["reason"] = reason
    model.risk_tier = tier
    model.updated_at = timezone.now()
    model.save(update_fields=["risk_tier", "updated_at"])
    audit_record(actor=actor, action=AuditAction.MODEL_RISK_TIER_CHANGED, target=model, changes=changes)
    return model


# --- Access ------------------------------------------------------------------------------------------------


def _grantee_label(grantee) -> str:
    if isinstance(grantee, Group):
        team = getattr(grantee, "team", None)
        return f"team:{team.slug}" if team is not None else f"group:{grantee.name}"
    return f"user:{grantee.get_username()}"


def _check_grantee(grantee) -> None:
    """Grants go to active users or to teams; never to a role group, whose members the grant would not name."""
    if isinstance(grantee, Group):
        if not Team.objects.filter(group=grantee).exists():
            raise InvalidInput("Access is granted to users or teams.", fields={"team": ["Not a team."]})
    elif not getattr(grantee, "is_active", False):
        raise InvalidInput("That account is disabled.", fields={"user": ["No active user with this username."]})


def _parse_actions(actions: Iterable) -> list[Action]:
    try:
        parsed = sorted({Action(a) for a in actions}, key=list(Action).index)
    except ValueError:
        raise InvalidInput(
            "Unknown permission.", fields={"actions": [f"Pick from: {', '.join(a.value for a in Action)}."]}
        ) from None
    if not parsed:
        raise InvalidInput("Choose at least one permission.", fields={"actions": ["Required."]})
    return parsed


def direct_grants(model: RegisteredModel, grantee) -> set[str]:
    """The action codenames granted on `model` to exactly this user or team group (not via their teams)."""
    if isinstance(grantee, Group):
        rows = RegisteredModelGroupObjectPermission.objects.filter(group=grantee, content_object=model)
    else:
        rows = RegisteredModelUserObjectPermission.objects.filter(user=grantee, content_object=model)
    return set(rows.values_list("permission__codename", flat=True))


@transaction.atomic
def access_grant(*, actor, model: RegisteredModel, grantee, actions: Iterable[Action]) -> set[str]:
    """Grant per-model actions to a user or a team's group. Needs `manage_access`, and nobody can hand out
    an action they do not hold themselves (a token-authenticated actor holds only what the token allows).
    Returns the grantee's direct grants afterwards; records an event only for actions newly granted."""
    permissions.require(actor, Action.MANAGE_ACCESS, model)
    actions = _parse_actions(actions)
    _check_grantee(grantee)
    for action in actions:
        if action not in permissions.GRANTABLE_ACTIONS and action != Action.DELETE:
            raise InvalidInput(f"'{action}' cannot be granted per model.", fields={"actions": ["Not grantable."]})
        if not permissions.can(actor, action, model):
            raise PermissionDenied(f"You cannot grant '{action.value}': you do not hold it on this model.")
    held = direct_grants(model, grantee)
    added = [action for action in actions if action.value not in held]
    if not added:
        return held
    for action in added:
        assign_perm(action.value, grantee, model)
    audit_record(
        actor=actor,
        action=AuditAction.PERMISSION_GRANTED,
        target=model,
        changes={"grantee": _grantee_label(grantee), "actions": sorted(a.value for a in added)},
    )
    return held | {a.value for a in added}


@transaction.atomic
def access_revoke(*, actor, model: RegisteredModel, grantee, actions: Iterable[Action]) -> set[str]:
    """Revoke per-model actions from a user or a team's group. Needs `manage_access`. Returns what the
    grantee still holds directly; refuses (404) when the grantee held none of the actions."""
    permissions.require(actor, Action.MANAGE_ACCESS, model)
    actions = _parse_actions(actions)
    held = direct_grants(model, grantee)
    removed = [action for action in actions if action.value in held]
    if not removed:
        raise NotFound(
            f"{_grantee_label(grantee)} holds none of these permissions on '{model.name}'.", code="no_such_grant"
        )
    for action in removed:
        remove_perm(action.value, grantee, model)
    audit_record(
        actor=actor,
        action=AuditAction.PERMISSION_REVOKED,
        target=model,
        changes={"grantee": _grantee_label(grantee), "actions": sorted(a.value for a in removed)},
    )
    return held - {a.value for a in removed}


# --- API tokens and service accounts --------------------------------------------------------------------------


def _new_secret() -> tuple[str, str]:
    prefix = TOKEN_PREFIX + secrets.token_hex(4)
    return prefix, f"{prefix}_{secrets.token_urlsafe(32)}"


def _token_lifetime(*, actor, user, expires_days: int | None) -> int:
    """Days until the new token expires (0: never). Up to API_TOKEN_MAX_DAYS for everyone; beyond it only an
    administrator (or an operator at the command line), and never-expiring tokens only for service accounts."""
    limit = settings.API_TOKEN_MAX_DAYS
    days = min(settings.API_TOKEN_DEFAULT_DAYS, limit) if expires_days is None else expires_days
    if days < 0 or days > 3650:
        raise InvalidInput("Expiry out of range.", fields={"expires_days": ["Between 0 (never) and 3650 days."]})
    privileged = actor is None or permissions.is_administrator(actor)
    if days == 0 and not (privileged and permissions.is_service_account(user)):
        raise InvalidInput(
            "Only an administrator may issue a token that never expires, and only for a service account.",
            code="token_expiry_required",
            fields={"expires_days": [f"Choose between 1 and {limit} days."]},
        )
    if days > limit and not privileged:
        raise InvalidInput(
            f"Tokens expire after at most {limit} days (API_TOKEN_MAX_DAYS).",
            code="token_expiry_too_long",
            fields={"expires_days": [f"At most {limit} days."]},
        )
    return days


@transaction.atomic
def token_create(
    *,
    actor,
    user,
    name: str,
    scopes: Iterable[str],
    expires_days: int | None = None,
    model: RegisteredModel | None = None,
) -> tuple[ApiToken, str]:
    """Issue a token for `user` (the actor themself, or a service account when the actor administers;
    `actor=None` is an operator at the command line). Returns the token and its secret; the secret is not
    kept and cannot be shown again. A token-authenticated actor cannot mint a broader token than its own:
    the new token's scopes must be within it, and a model-restricted token mints only for that model."""
    if actor is not None and actor != user:
        if not permissions.is_administrator(actor):
            raise PermissionDenied("You can only create tokens for yourself.")
        if not permissions.is_service_account(user):
            raise PermissionDenied("Administrators create tokens for service accounts, not for other people.")
    scopes = sorted(set(scopes))
    if not scopes or not set(scopes) <= set(TokenScope.values):
        raise InvalidInput(
            "Choose the token's scopes.", fields={"scopes": [f"Pick from: {', '.join(TokenScope.values)}."]}
        )
    acting_token = permissions.request_token(actor)
    if acting_token is not None:
        missing = [scope for scope in scopes if not acting_token.has_scope(scope)]
        if missing:
            raise PermissionDenied(
                f"This API token cannot create a token with scopes it lacks itself: {', '.join(missing)}."
            )
        if acting_token.model_id is not None and (model is None or model.pk != acting_token.model_id):
            raise PermissionDenied(
                "This API token is restricted to one model: tokens it creates must be restricted to that model."
            )
    if TokenScope.VOTE in scopes and permissions.is_service_account(user):
        raise InvalidInput("Service accounts cannot vote.", fields={"scopes": ["'vote' is for people only."]})
    if not (name or "").strip():
        raise InvalidInput("Give the token a name.", fields={"name": ["Required."]})
    days = _token_lifetime(actor=actor, user=user, expires_days=expires_days)
    if model is not None and not permissions.can(user, Action.VIEW, model):
        raise InvalidInput("The token's owner cannot see that model.", fields={"model": ["No access."]})
    prefix, secret = _new_secret()
    token = ApiToken.objects.create(
        user=user,
        name=name.strip()[:100],
        prefix=prefix,
        token_hash=hash_secret(secret),
        scopes=scopes,
        model=model,
        expires_at=timezone.now() + timedelta(days=days) if days else None,
    )
    audit_record(
        actor=actor,
        action=AuditAction.TOKEN_CREATED,
        target=token,
        target_label=f"{prefix} ({token.name}) for {user.get_username()}",
        changes={
            "owner": user.get_username(),
            "scopes": scopes,
            "model": model.name if model else None,
            "expires_at": token.expires_at,
        },
    )
    return token, secret


@transaction.atomic
def token_revoke(*, actor, token: ApiToken) -> ApiToken:
    token = ApiToken.objects.select_for_update().select_related("user").get(pk=token.pk)
    if actor is not None and actor != token.user and not permissions.is_administrator(actor):
        raise PermissionDenied("You can only revoke your own tokens.")
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        action=AuditAction.TOKEN_REVOKED,
        target=token,
        target_label=f"{token.prefix} ({token.name}) for {token.user.get_username()}",
        changes={"revoked_at": {"before": None, "after": token.revoked_at}},
    )
    return token


@transaction.atomic
def service_account_create(
    *, actor, username: str, description: str = "", roles: Iterable[str] = (), teams: Iterable[Team] = ()
) -> ServiceAccount:
    """Create a machine identity for a pipeline: no password, no interactive login (the sign-in form refuses
    it even if a password is set later), tokens only. Administrators only."""
    if actor is not None and not permissions.is_administrator(actor):
        raise PermissionDenied("Only administrators create service accounts.")
    username = (username or "").strip()
    if not username:
        raise InvalidInput("A service account needs a username.", fields={"username": ["Required."]})
    try:
        User.username_validator(username)
    except ValidationError as exc:
        raise InvalidInput("That username is not valid.", fields={"username": exc.messages}) from exc
    if len(username) > User._meta.get_field("username").max_length:
        raise InvalidInput("That username is too long.", fields={"username": ["At most 150 characters."]})
    if User.objects.filter(username__iexact=username).exists():
        raise InvalidInput("That username is taken.", fields={"username": ["Already taken."]})
    role_names = sorted(set(roles))
    unknown = set(role_names) - set(permissions.Role)
    if unknown:
        raise InvalidInput("Unknown role.", fields={"roles": [f"Unknown: {', '.join(sorted(unknown))}."]})
    team_list = sorted(set(teams), key=lambda t: t.name)
    user = User(username=username)
    user.set_unusable_password()
    user.save()
    user.groups.add(*Group.objects.filter(name__in=role_names), *(team.group for team in team_list))
    account = ServiceAccount.objects.create(user=user, description=description, created_by=actor)
    audit_record(
        actor=actor,
        action=AuditAction.SERVICE_ACCOUNT_CREATED,
        target=account,
        changes={"username": username, "roles": role_names, "teams": [team.slug for team in team_list]},
    )
    return account


# --- Artifacts ---------------------------------------------------------------------------------------------

logger = logging.getLogger(__name__)


def artifact_upload(
    *,
    actor,
    version: ModelVersion,
    uploaded_file,
    filename: str,
    kind: str = ArtifactKind.OTHER,
    declared_sha256: str | None = None,
) -> Artifact:
    """Store an uploaded file and register it as a pending artifact of `version`; validation is enqueued
    once the row is committed. The file is stored before the transaction and deleted if it fails, so a
    failed upload leaves no blob behind. Not to be called inside an outer transaction."""
    permissions.require(actor, Action.UPLOAD, version)
    if version.metadata_frozen:
        raise Conflict(
            f"v{version.version} has left development: its files can never change. Register a new version.",
            code="version_frozen",
        )
    filename = uploads.sanitize_filename(filename)
    declared = uploads.validate_declared_sha256(declared_sha256)
    if kind not in ArtifactKind.values:
        raise InvalidInput(f"Unknown artifact kind '{kind}'.", fields={"kind": [f"One of {ArtifactKind.values}."]})
    if Artifact.objects.filter(version=version, filename=filename).exists():
        raise Conflict(
            f"v{version.version} already has a file named '{filename}'. Delete it first to replace it.",
            code="duplicate_filename",
            fields={"filename": ["Already uploaded."]},
        )
    size = uploaded_file.size
    key = blobstore.save_upload(uploaded_file)
    try:
        with transaction.atomic():
            ModelVersion.objects.select_for_update().get(pk=version.pk)  # serialise with stage changes
            artifact = Artifact.objects.create(
                version=version,
                kind=kind,
                filename=filename,
                size=size,
                declared_sha256=declared,
                storage_key=key,
                uploaded_by=actor,
            )
            audit_record(
                actor=actor,
                action=AuditAction.ARTIFACT_UPLOADED,
                target=artifact,
                changes={"filename": filename, "kind": kind, "size": size, "declared_sha256": declared or None},
            )
            transaction.on_commit(lambda: enqueue_validation(artifact.pk))
    except IntegrityError as exc:
        blobstore.delete(key)
        raise Conflict(f"v{version.version} already has a file named '{filename}'.", code="duplicate_filename") from exc
    except BaseException:
        blobstore.delete(key)
        raise
    return artifact


def enqueue_validation(artifact_id: int) -> bool:
    """Hand an artifact to the workers. If the broker is unreachable the artifact simply stays pending: the
    periodic sweep (and `manage.py artifacts requeue`) enqueues it again later."""
    from registry.tasks import validate_artifact

    try:
        validate_artifact.apply_async((artifact_id,), retry=False)
    except Exception:  # noqa: BLE001  (any broker failure: the sweep will retry)
        logger.warning("could not enqueue validation of artifact %s; it stays pending for the sweep", artifact_id)
        return False
    return True


def _claim_for_validation(artifact_id: int) -> Artifact | None:
    """Move an artifact to `validating` with one conditional UPDATE; None if another delivery finished it.
    Counts attempts, and ends in `error` instead of retrying a file that keeps killing workers."""
    now = timezone.now()
    claimable = Artifact.objects.filter(pk=artifact_id, status__in=[ArtifactStatus.PENDING, ArtifactStatus.VALIDATING])
    exhausted = claimable.filter(attempts__gte=settings.ARTIFACT_MAX_ATTEMPTS)
    with transaction.atomic():
        if exhausted.update(status=ArtifactStatus.ERROR, status_changed_at=now, validated_at=now):
            artifact = Artifact.objects.select_related("version__model").get(pk=artifact_id)
            message = (
                f"Validation did not finish after {artifact.attempts} attempts (the file may crash or exhaust the "
                "worker). It is not usable; upload it again or ask an administrator to look at the worker logs."
            )
            Artifact.objects.filter(pk=artifact_id).update(
                findings=[{"severity": "error", "code": "validation.attempts_exhausted", "message": message}]
            )
            audit_record(
                actor=None,
                action=AuditAction.ARTIFACT_VALIDATED,
                target=artifact,
                changes={"status": {"before": ArtifactStatus.VALIDATING, "after": ArtifactStatus.ERROR}},
            )
            return None
    claimed = claimable.update(status=ArtifactStatus.VALIDATING, attempts=F("attempts") + 1, status_changed_at=now)
    if not claimed:
        return None
    return Artifact.objects.select_related("version__model").get(pk=artifact_id)


def artifact_validate(*, artifact_id: int) -> Artifact | None:
    """Hash and scan a stored upload, move it to its content address, and record the verdict. Idempotent: a
    second delivery of the same task finds the artifact already decided and does nothing."""
    artifact = _claim_for_validation(artifact_id)
    if artifact is None:
        return None
    with blobstore.local_copy(artifact.storage_key) as path:
        result = scan_file(
            path, filename=artifact.filename, kind=artifact.kind, declared_sha256=artifact.declared_sha256 or None
        )
    key = blobstore.promote(artifact.storage_key, result.sha256)
    now = timezone.now()
    with transaction.atomic():
        updated = Artifact.objects.filter(pk=artifact.pk, status=ArtifactStatus.VALIDATING).update(
            status=result.verdict,
            sha256=result.sha256,
            size=result.size,
            format=result.format,
            findings=[f.as_dict() for f in result.findings],
            scanners=result.scanners,
            storage_key=key,
            validated_at=now,
            verified_at=now,
            status_changed_at=now,
        )
        if not updated:
            return None
        audit_record(
            actor=None,
            action=AuditAction.ARTIFACT_VALIDATED,
            target=artifact,
            changes={
                "status": {"before": ArtifactStatus.VALIDATING, "after": result.verdict},
                "sha256": result.sha256,
                "format": result.format,
                "findings": [f.code for f in result.findings],
                "scanners": result.scanners,
            },
        )
    artifact.refresh_from_db()
    return artifact


def artifacts_requeue_stale(*, pending_for: int | None = None, validating_for: int | None = None) -> list[int]:
    """Enqueue again the artifacts left pending (broker was down) or stuck validating (worker died and the
    message was lost), and source imports left the same way. Returns the artifact ids. Attempts are bounded
    by the claims, so this never loops."""
    now = timezone.now()
    pending_cut = now - timedelta(
        seconds=settings.ARTIFACT_REQUEUE_AFTER_SECONDS if pending_for is None else pending_for
    )
    validating_cut = now - timedelta(
        seconds=settings.ARTIFACT_STALE_VALIDATION_SECONDS if validating_for is None else validating_for
    )
    stale = Artifact.objects.filter(
        Q(status=ArtifactStatus.PENDING, status_changed_at__lte=pending_cut)
        | Q(status=ArtifactStatus.VALIDATING, status_changed_at__lte=validating_cut)
    ).values_list("pk", flat=True)
    ids = list(stale[:1000])
    for artifact_id in ids:
        enqueue_validation(artifact_id)
    stale_imports = ModelVersion.objects.filter(
        Q(import_status=ImportStatus.PENDING, import_changed_at__lte=pending_cut)
        | Q(import_status=ImportStatus.IMPORTING, import_changed_at__lte=validating_cut)
    ).values_list("pk", flat=True)
    for version_id in stale_imports[:1000]:
        enqueue_import(version_id)
    return ids


def enqueue_import(version_id: int) -> bool:
    """Hand a version's source import to the workers; if the broker is unreachable it stays pending for the
    periodic sweep."""
    from registry.tasks import import_version_files

    try:
        import_version_files.apply_async((version_id,), retry=False)
    except Exception:  # noqa: BLE001  (any broker failure: the sweep will retry)
        logger.warning("could not enqueue the import of version %s; it stays pending for the sweep", version_id)
        return False
    return True


def _import_finish(version: ModelVersion, status: str, message: str, *, files: list[str]) -> ModelVersion | None:
    now = timezone.now()
    with transaction.atomic():
        updated = ModelVersion.objects.filter(pk=version.pk, import_status=ImportStatus.IMPORTING).update(
            import_status=status, import_message=message, import_changed_at=now
        )
        if not updated:
            return None
        audit_record(
            actor=None,
            action=AuditAction.VERSION_IMPORTED,
            target=version,
            changes={
                "import_status": {"before": ImportStatus.IMPORTING, "after": status},
                "source": version.source,
                "files": files,
                "message": message,
            },
        )
    version.refresh_from_db()
    return version


def _claim_for_import(version_id: int) -> ModelVersion | None:
    """Move a version's import to `importing` with one conditional UPDATE; None if there is nothing to import
    or another delivery finished it. Ends in `failed` instead of retrying an import that keeps dying."""
    now = timezone.now()
    claimable = ModelVersion.objects.filter(
        pk=version_id, import_status__in=[ImportStatus.PENDING, ImportStatus.IMPORTING]
    )
    exhausted = claimable.filter(import_attempts__gte=settings.ARTIFACT_MAX_ATTEMPTS)
    message = f"The import did not finish after {settings.ARTIFACT_MAX_ATTEMPTS} attempts; see the worker logs."
    with transaction.atomic():
        if exhausted.update(import_status=ImportStatus.FAILED, import_message=message, import_changed_at=now):
            version = ModelVersion.objects.select_related("model").get(pk=version_id)
            audit_record(
                actor=None,
                action=AuditAction.VERSION_IMPORTED,
                target=version,
                changes={
                    "import_status": {"before": ImportStatus.IMPORTING, "after": ImportStatus.FAILED},
                    "message": message,
                },
            )
            return None
    if not claimable.update(
        import_status=ImportStatus.IMPORTING, import_attempts=F("import_attempts") + 1, import_changed_at=now
    ):
        return None
    return ModelVersion.objects.select_related("model").get(pk=version_id)


def version_import(*, version_id: int) -> ModelVersion | None:
    """Import the files under a version's allowed `source`: each object streamed to a temporary file
    (size-capped), stored as a pending artifact (event `artifact.imported`) and validated like an upload;
    then the import's outcome (event `version.imported`). Idempotent: a file already imported is skipped,
    and a second delivery finds the import claimed or finished. Storage errors propagate for the task to
    retry; a refusal (no files, too large, access denied) fails the import with the reason."""
    version = _claim_for_import(version_id)
    if version is None:
        return None
    names = []
    try:
        if not imports.is_importable(version.source):  # edited since registration: never fetch it
            raise imports.ImportRefused(f"{version.source or 'The source'} is not under ARTIFACT_IMPORT_SOURCES.")
        for obj in imports.list_source(version.source):
            names.append(obj.filename)
            if Artifact.objects.filter(version=version, filename=obj.filename).exists():
                continue
            with imports.download(version.source, obj) as temporary:
                _import_artifact(version, temporary, obj.filename)
    except imports.ImportRefused as exc:
        return _import_finish(version, ImportStatus.FAILED, str(exc), files=names)
    return _import_finish(
        version, ImportStatus.IMPORTED, f"{len(names)} files imported from {version.source}.", files=names
    )


def _import_artifact(version: ModelVersion, temporary, filename: str) -> None:
    size = temporary.size
    key = blobstore.save_upload(temporary)
    try:
        with transaction.atomic():
            artifact = Artifact.objects.create(
                version=version, filename=filename, size=size, storage_key=key, uploaded_by=None
            )
            audit_record(
                actor=None,
                action=AuditAction.ARTIFACT_IMPORTED,
                target=artifact,
                changes={"filename": filename, "size": size, "source": version.source},
            )
            transaction.on_commit(lambda: enqueue_validation(artifact.pk))
    except IntegrityError:
        blobstore.delete(key)  # another delivery imported it meanwhile
    except BaseException:
        blobstore.delete(key)
        raise


def artifact_verify(*, artifact: Artifact) -> Artifact:
    """Scrubbing: re-hash the stored blob; a changed or missing blob marks the artifact `corrupted`."""
    if artifact.status not in (ArtifactStatus.VALID, ArtifactStatus.NEEDS_REVIEW, ArtifactStatus.REJECTED):
        return artifact
    try:
        digest, size = blobstore.rehash(artifact.storage_key)
        problem = (
            None if digest == artifact.sha256 else f"stored bytes now hash to {digest}, expected {artifact.sha256}"
        )
    except FileNotFoundError:
        problem = "the stored blob is missing"
    now = timezone.now()
    if problem is None:
        Artifact.objects.filter(pk=artifact.pk).update(verified_at=now)
        artifact.verified_at = now
        return artifact
    return artifact_mark_corrupted(artifact=artifact, reason=problem)


@transaction.atomic
def artifact_mark_corrupted(*, artifact: Artifact, reason: str) -> Artifact:
    """Record that an artifact's stored bytes no longer match its digest (found by scrubbing or a download)."""
    before = artifact.status
    now = timezone.now()
    finding = {"severity": "error", "code": "integrity.digest_changed", "message": f"Integrity check failed: {reason}."}
    updated = (
        Artifact.objects.filter(pk=artifact.pk)
        .exclude(status=ArtifactStatus.CORRUPTED)
        .update(
            status=ArtifactStatus.CORRUPTED,
            status_changed_at=now,
            verified_at=now,
            findings=[*artifact.findings, finding],
        )
    )
    artifact.refresh_from_db()
    if updated:
        audit_record(
            actor=None,
            action=AuditAction.ARTIFACT_CORRUPTED,
            target=artifact,
            changes={"status": {"before": before, "after": ArtifactStatus.CORRUPTED}, "reason": reason},
        )
    return artifact


def artifact_rescan(*, artifact: Artifact) -> Artifact:
    """Validate a stored artifact again (e.g. after the scanners changed): back to pending, then enqueued."""
    with transaction.atomic():
        Artifact.objects.filter(pk=artifact.pk).update(
            status=ArtifactStatus.PENDING, attempts=0, status_changed_at=timezone.now()
        )
        audit_record(
            actor=None,
            action=AuditAction.ARTIFACT_RESCAN_REQUESTED,
            target=artifact,
            changes={"status": {"before": artifact.status, "after": ArtifactStatus.PENDING}},
        )
        transaction.on_commit(lambda: enqueue_validation(artifact.pk))
    artifact.refresh_from_db()
    return artifact


@transaction.atomic
def artifact_delete(*, actor, artifact: Artifact) -> None:
    """Remove a file from a version still in development. Its blob goes too unless another artifact shares it."""
    artifact = Artifact.objects.select_for_update().select_related("version__model").get(pk=artifact.pk)
    permissions.require(actor, Action.UPLOAD, artifact)
    if artifact.version.metadata_frozen:
        raise Conflict("The version has left development: its files can never change.", code="version_frozen")
    key = artifact.storage_key
    audit_record(
        actor=actor,
        action=AuditAction.ARTIFACT_DELETED,
        target=artifact,
        changes={"filename": artifact.filename, "sha256": artifact.sha256 or None},
    )
    artifact.delete()
    if not Artifact.objects.filter(storage_key=key).exists():
        transaction.on_commit(lambda: blobstore.delete(key))


@transaction.atomic
def artifact_download_record(*, actor, artifact: Artifact, override: bool = False) -> None:
    """Record a download (a read that matters). Rejected or corrupted files are served only to an
    administrator who explicitly overrides, and the override is flagged in the event."""
    permissions.require(actor, Action.VIEW, artifact)
    blocked = artifact.status in (ArtifactStatus.REJECTED, ArtifactStatus.CORRUPTED, ArtifactStatus.ERROR)
    if artifact.in_progress:
        raise Conflict("This file is still being validated; try again in a moment.", code="not_validated")
    if blocked and not (override and permissions.is_administrator(actor)):
        if permissions.is_administrator(actor):
            raise PermissionDenied(
                f"This file is {artifact.get_status_display().lower()}. Tick the override to download it anyway; "
                "the override is recorded."
            )
        raise PermissionDenied(f"This file is {artifact.get_status_display().lower()} and cannot be downloaded.")
    audit_record(
        actor=actor,
        action=AuditAction.ARTIFACT_DOWNLOADED,
        target=artifact,
        changes={"sha256": artifact.sha256, "override": bool(blocked and override)},
    )


# --- Storage: what it holds, and unreferenced files ------------------------------------------------------------

GC_PREFIXES = ("blobs/", "uploads/")


def blobs_unreferenced(*, older_than: timedelta) -> list[tuple[str, int]]:
    """Files under `blobs/` and `uploads/` of the artifact storage that no artifact references and that were last
    written more than `older_than` ago, as (key, size). The grace period keeps uploads still being registered, and
    a blob whose digest an artifact carries (declared or computed) is kept even if no artifact points at it yet."""
    store, cutoff, found = blobstore.storage(), timezone.now() - older_than, []
    referenced = set(Artifact.objects.values_list("storage_key", flat=True))
    digests = {d for pair in Artifact.objects.values_list("sha256", "declared_sha256") for d in pair if d}
    for prefix in GC_PREFIXES:
        for key in blobstore.walk(prefix.rstrip("/")):
            if key in referenced or key.rsplit("/", 1)[-1] in digests:
                continue
            if store.get_modified_time(key) < cutoff:
                found.append((key, store.size(key)))
    return found


@transaction.atomic
def blob_collect(*, actor, key: str) -> int | None:
    """Delete one stored file that no artifact references (`manage.py blobs gc`); audited as `blob.deleted`.
    Returns the bytes freed, or None when an artifact references the file by now (it is kept)."""
    if actor is not None and not permissions.is_administrator(actor):
        raise PermissionDenied("Only administrators may delete stored files.")
    if not key.startswith(GC_PREFIXES):
        raise InvalidInput(f"'{key}' is not a blob or an upload.", code="not_a_blob")
    digest = key.rsplit("/", 1)[-1]
    if Artifact.objects.filter(Q(storage_key=key) | Q(sha256=digest) | Q(declared_sha256=digest)).exists():
        return None
    size = blobstore.storage().size(key)
    audit_record(
        actor=actor,
        action=AuditAction.BLOB_DELETED,
        target_type="blob",
        target_id=digest,  # the digest, or the upload's random name
        target_label=key,
        changes={"key": key, "size": size},
    )
    transaction.on_commit(lambda: blobstore.delete(key))
    return size


def storage_usage() -> dict[str, dict[str, dict[str, int]]]:
    """Bytes per model, team and stage: `stored` counts each blob once within the group, `referenced` counts every
    artifact (what the group would take without de-duplication). `total` is the whole registry."""
    rows = Artifact.objects.values_list(
        "storage_key", "size", "version__model__name", "version__model__team__name", "version__stage"
    )
    groups: dict[str, dict[str, dict[str, Any]]] = {"model": {}, "team": {}, "stage": {}, "total": {}}
    for key, size, model, team, stage in rows.iterator():
        for kind, name in (("model", model), ("team", team or "(no team)"), ("stage", stage), ("total", "all")):
            entry = groups[kind].setdefault(name, {"keys": {}, "referenced": 0})
            entry["keys"][key] = size
            entry["referenced"] += size
    return {
        kind: {name: {"stored": sum(e["keys"].values()), "referenced": e["referenced"]} for name, e in names.items()}
        for kind, names in groups.items()
    }
