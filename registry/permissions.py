"""The one place that decides who may do what.

Views, serializers, selectors, the admin and the MLflow-compatible API all ask here:

- `restrict(queryset, user, action)` narrows any queryset of a model-scoped entity (a RegisteredModel, or
  anything with a `registered_model_path` attribute naming the lookup to its RegisteredModel) to the rows
  the user may act on, in a single SQL statement (subqueries on guardian's direct foreign-key tables).
- `can(user, action, obj)` answers for one object; `require(user, action, obj)` raises `Http404` when the
  user may not even see the object (so its existence does not leak) and `PermissionDenied` with a message
  when they may see it but not do this.

Who holds what: roles are Django groups (created by migration 0003) that carry global permissions; teams
and individuals get per-model grants through django-guardian; a model's `visibility` decides whether every
signed-in user may view it. A request authenticated by an API token is further narrowed by the token's
scopes and optional model restriction: a token never grants more than its owner holds.
"""

from __future__ import annotations

from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import Http404
from guardian.core import ObjectPermissionChecker

from registry.choices import TokenScope, Visibility
from registry.models import (
    RegisteredModel,
    RegisteredModelGroupObjectPermission,
    RegisteredModelUserObjectPermission,
)


class Role(StrEnum):
    ADMINISTRATOR = "Administrator"
    MODEL_OWNER = "Model Owner"
    REVIEWER = "Reviewer"
    RISK_OFFICER = "Risk Officer"
    AUDITOR = "Auditor"
    VIEWER = "Viewer"


class Action(StrEnum):
    """What a user may do to a registered model (and everything that belongs to it)."""

    VIEW = "view_registeredmodel"
    CHANGE = "change_registeredmodel"
    DELETE = "delete_registeredmodel"
    UPLOAD = "upload_artifact"
    SUBMIT = "submit_for_approval"
    MANAGE_ACCESS = "manage_access"


# The per-model set granted to a model's creator and the creator's team.
OWNER_ACTIONS = (Action.VIEW, Action.CHANGE, Action.DELETE, Action.UPLOAD, Action.SUBMIT, Action.MANAGE_ACCESS)
GRANTABLE_ACTIONS = (Action.VIEW, Action.CHANGE, Action.UPLOAD, Action.SUBMIT, Action.MANAGE_ACCESS)

ACTION_SCOPE = {
    Action.VIEW: TokenScope.READ,
    Action.CHANGE: TokenScope.WRITE,
    Action.DELETE: TokenScope.WRITE,
    Action.UPLOAD: TokenScope.WRITE,
    Action.SUBMIT: TokenScope.WRITE,
    Action.MANAGE_ACCESS: TokenScope.ADMIN,
}

ACTION_VERBS = {
    Action.VIEW: "view this model",
    Action.CHANGE: "change this model",
    Action.DELETE: "delete this model",
    Action.UPLOAD: "upload artifacts to this model",
    Action.SUBMIT: "submit this model's versions for approval",
    Action.MANAGE_ACCESS: "manage access to this model",
}


# --- Who the user is ---------------------------------------------------------------------------------


def roles(user) -> frozenset[str]:
    """The user's role names, read once per request and cached on the user object."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_arbiter_roles", None)
    if cached is None:
        cached = frozenset(user.groups.filter(name__in=list(Role)).values_list("name", flat=True))
        user._arbiter_roles = cached
    return cached


def has_role(user, *wanted: Role) -> bool:
    return bool(roles(user) & set(wanted))


def is_administrator(user) -> bool:
    return getattr(user, "is_authenticated", False) and (user.is_superuser or has_role(user, Role.ADMINISTRATOR))


def is_service_account(user) -> bool:
    return hasattr(user, "service_account")


def request_token(user):
    """The API token the current request was authenticated with, if any (set by BearerTokenAuthentication)."""
    return getattr(user, "api_token", None)


def token_allows(user, scope: str) -> bool:
    token = request_token(user)
    return token is None or token.has_scope(scope)


def require_scope(user, scope: str, doing: str) -> None:
    """Refuse (403) a token-authenticated request whose token lacks `scope`. Sessions pass."""
    if not token_allows(user, scope):
        raise PermissionDenied(f"This API token lacks the '{scope}' scope needed to {doing}.")


def _holds_globally(user, action: Action) -> bool:
    return is_administrator(user) or user.has_perm(f"registry.{action.value}")


# --- Querysets ---------------------------------------------------------------------------------------


def _path(model_class) -> str:
    if model_class is RegisteredModel:
        return ""
    path = getattr(model_class, "registered_model_path", None)
    if path is None:
        raise TypeError(f"{model_class.__name__} has no registered_model_path: the permission module cannot scope it")
    return path


def _lookup(path: str, field: str) -> str:
    return f"{path}__{field}" if path else field


def granted_model_ids(user, action: Action) -> tuple[QuerySet, QuerySet]:
    """Subqueries of the ids of models on which the user, or one of their teams, holds `action`."""
    direct = RegisteredModelUserObjectPermission.objects.filter(user=user, permission__codename=action.value).values(
        "content_object_id"
    )
    via_team = RegisteredModelGroupObjectPermission.objects.filter(
        group__user=user, permission__codename=action.value
    ).values("content_object_id")
    return direct, via_team


def restrict(queryset: QuerySet, user, action: Action = Action.VIEW) -> QuerySet:
    """The rows of `queryset` on whose model the user may perform `action`, as one SQL statement."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    if not token_allows(user, ACTION_SCOPE[action]):
        return queryset.none()
    path = _path(queryset.model)
    token = request_token(user)
    if token is not None and token.model_id is not None:
        queryset = queryset.filter(**{_lookup(path, "pk"): token.model_id})
    if _holds_globally(user, action):
        return queryset
    direct, via_team = granted_model_ids(user, action)
    condition = Q(**{_lookup(path, "pk__in"): direct}) | Q(**{_lookup(path, "pk__in"): via_team})
    if action == Action.VIEW:
        condition |= Q(**{_lookup(path, "visibility"): Visibility.INTERNAL})
    return queryset.filter(condition)


# --- Single objects ----------------------------------------------------------------------------------


def registered_model_of(obj: Model) -> RegisteredModel:
    if isinstance(obj, RegisteredModel):
        return obj
    target = obj
    for part in _path(type(obj)).split("__"):
        target = getattr(target, part)
    return target


def _object_perms(user, model: RegisteredModel) -> set[str]:
    checker = getattr(user, "_arbiter_checker", None)
    if checker is None:
        checker = ObjectPermissionChecker(user)
        user._arbiter_checker = checker
    return set(checker.get_perms(model))


def can(user, action: Action, obj: Model) -> bool:
    """Whether the user may perform `action` on `obj` (a model or anything that belongs to one)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if not token_allows(user, ACTION_SCOPE[action]):
        return False
    model = registered_model_of(obj)
    token = request_token(user)
    if token is not None and token.model_id is not None and token.model_id != model.pk:
        return False
    if _holds_globally(user, action):
        return True
    if action == Action.VIEW and model.visibility == Visibility.INTERNAL:
        return True
    return action.value in _object_perms(user, model)


def require(user, action: Action, obj: Model) -> None:
    """Raise 404 if the user may not see `obj`, 403 with a reason if they may see it but not do `action`."""
    if not can(user, Action.VIEW, obj):
        raise Http404("No such model, or you do not have access to it.")
    if action == Action.VIEW:
        return
    if not can(user, action, obj):
        token = request_token(user)
        scope = ACTION_SCOPE[action]
        if token is not None and not token.has_scope(scope):
            raise PermissionDenied(f"This API token lacks the '{scope}' scope needed to {ACTION_VERBS[action]}.")
        raise PermissionDenied(f"You do not have permission to {ACTION_VERBS[action]}.")


def can_create_model(user) -> bool:
    return (
        getattr(user, "is_authenticated", False)
        and token_allows(user, TokenScope.WRITE)
        and (is_administrator(user) or user.has_perm("registry.add_registeredmodel"))
        and (request_token(user) is None or request_token(user).model_id is None)
    )


def require_create_model(user) -> None:
    if not can_create_model(user):
        if not token_allows(user, TokenScope.WRITE):
            raise PermissionDenied("This API token lacks the 'write' scope needed to register models.")
        raise PermissionDenied("Registering models needs the Model Owner or Administrator role.")


def can_read_audit_trail(user) -> bool:
    """Auditors and administrators read the whole trail; others see a model's history on its page."""
    return (
        getattr(user, "is_authenticated", False)
        and token_allows(user, TokenScope.READ)
        and (is_administrator(user) or user.has_perm("governance.view_auditevent"))
    )


def model_perms_for(user, model: RegisteredModel) -> dict[str, bool]:
    """Every action's answer for one model, for templates and API responses (`perms.change` ...)."""
    return {action.name.lower(): can(user, action, model) for action in Action}
