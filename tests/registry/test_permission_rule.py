"""One permission rule, read the same way everywhere: on generated estates (superusers, roles, direct and team
grants together, internal and restricted models, API tokens of every scope, some restricted to one model,
inactive accounts), `restrict()`, `can()` and every hot read the MLflow API makes must answer what the rule
says. The rule is restated here from the product's description, so a mistake shared by the three fails too."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import AuthenticationFailed

from registry import permissions, selectors, services
from registry.authentication import authenticate_token
from registry.choices import Visibility
from registry.models import ApiToken, ModelVersion, RegisteredModel
from registry.permissions import Action, Role
from tests.factories import make_model, make_user, make_version

# What each action needs of an API token, and what each scope includes: stated here, not read from production.
NEEDS_SCOPE = {
    Action.VIEW: "read",
    Action.CHANGE: "write",
    Action.DELETE: "write",
    Action.UPLOAD: "write",
    Action.SUBMIT: "write",
    Action.MANAGE_ACCESS: "admin",
}
SCOPE_INCLUDES = {
    "read": {"read"},
    "write": {"write", "read"},
    "admin": {"admin", "write", "read"},
    "vote": {"vote", "read"},
}
GRANTABLE = [Action.VIEW, Action.CHANGE, Action.UPLOAD, Action.SUBMIT, Action.MANAGE_ACCESS]


@dataclass
class Estate:
    teams: int
    users: list[dict]
    models: list[str]  # visibility of each model
    grants: list[tuple]  # (("user" | "team", index), model index, actions)
    tokens: list[tuple]  # (user index, scopes, model index or None)


@st.composite
def estates(draw) -> Estate:
    teams = draw(st.integers(0, 2))
    users = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "superuser": st.sampled_from([False, False, False, True]),
                    "active": st.sampled_from([True, True, True, False]),
                    "roles": st.sets(st.sampled_from(list(Role)), max_size=2),
                    "teams": st.sets(st.integers(0, teams - 1), max_size=teams) if teams else st.just(set()),
                }
            ),
            min_size=1,
            max_size=3,
        )
    )
    models = draw(st.lists(st.sampled_from([Visibility.INTERNAL, Visibility.RESTRICTED]), min_size=1, max_size=3))
    grantees = [("user", i) for i in range(len(users))] + [("team", j) for j in range(teams)]
    grants = draw(
        st.lists(
            st.tuples(
                st.sampled_from(grantees),
                st.integers(0, len(models) - 1),
                st.sets(st.sampled_from(GRANTABLE), min_size=1, max_size=3),
            ),
            max_size=6,
        )
    )
    tokens = draw(
        st.lists(
            st.tuples(
                st.integers(0, len(users) - 1),
                st.sets(st.sampled_from(["read", "write", "admin", "vote"]), min_size=1, max_size=2),
                st.none() | st.integers(0, len(models) - 1),
            ),
            max_size=3,
        )
    )
    return Estate(teams, users, models, grants, tokens)


@dataclass
class Principal:
    """Who asks: a user, possibly through an API token (as the token authentication hands it over)."""

    label: str
    user: object
    spec: dict | None = None  # None: anonymous
    scopes: set = field(default_factory=set)
    token_model: int | None = None
    token: bool = False


def role_permissions(role_names) -> set[str]:
    """The global registry permissions the roles carry (data seeded by migration, read from the database)."""
    held = set()
    for group in Group.objects.filter(name__in=[str(r) for r in role_names]).prefetch_related("permissions"):
        held |= {p.codename for p in group.permissions.all() if p.content_type.app_label == "registry"}
    return held


def expected(estate: Estate, built, who: Principal, action: Action, model_index: int) -> bool:
    """The rule, from the product's description (README, Access control)."""
    spec = who.spec
    if spec is None or not spec["active"]:
        return False
    if who.token:
        if not any(NEEDS_SCOPE[action] in SCOPE_INCLUDES[scope] for scope in who.scopes):
            return False
        if who.token_model is not None and who.token_model != model_index:
            return False
    user_index = built["user_index"][who.label]
    if spec["superuser"] or Role.ADMINISTRATOR in spec["roles"] or action.value in built["role_perms"][user_index]:
        return True
    if action == Action.VIEW and estate.models[model_index] == Visibility.INTERNAL:
        return True
    for (kind, index), model, actions in estate.grants:
        if model != model_index or action not in actions:
            continue
        if (kind, index) == ("user", user_index) or (kind == "team" and index in spec["teams"]):
            return True
    return False


def build(estate: Estate, creator) -> dict:
    teams = [services.team_create(actor=creator, name=f"Team {j}") for j in range(estate.teams)]
    users = [
        make_user(
            f"person-{i}",
            roles=spec["roles"],
            teams=[teams[j] for j in spec["teams"]],
            is_superuser=spec["superuser"],
        )
        for i, spec in enumerate(estate.users)
    ]
    models, versions = [], []
    for i, visibility in enumerate(estate.models):
        model = make_model(creator, name=f"estate-{i}", visibility=visibility)
        version = make_version(creator, model)
        services.alias_apply(actor=creator, model=model, name="champion", version=version)
        models.append(model)
        versions.append(version)
    for (kind, index), model, actions in estate.grants:
        grantee = users[index] if kind == "user" else teams[index].group
        services.access_grant(actor=creator, model=models[model], grantee=grantee, actions=list(actions))
    # Accounts disabled after they were granted access (grants to a disabled account are refused).
    disabled = [user.pk for user, spec in zip(users, estate.users, strict=True) if not spec["active"]]
    type(creator).objects.filter(pk__in=disabled).update(is_active=False)
    principals = [Principal("anonymous", AnonymousUser())]
    user_index = {}
    for i, spec in enumerate(estate.users):
        label = f"person-{i}"
        user_index[label] = i
        principals.append(Principal(label, type(creator).objects.get(pk=users[i].pk), spec))
    for n, (i, scopes, model) in enumerate(estate.tokens):
        token, secret = services.token_create(actor=None, user=users[i], name=f"t{n}", scopes=sorted(scopes))
        if model is not None:
            # Restricted to a model its owner may not (or no longer) see: a grant revoked after the token was made.
            ApiToken.objects.filter(pk=token.pk).update(model=models[model])
        try:
            user = authenticate_token(secret).user  # the token read every API request makes
        except AuthenticationFailed:  # an inactive owner: the rule must refuse everything anyway
            user = type(creator).objects.get(pk=users[i].pk)
            user.api_token = ApiToken.objects.get(pk=token.pk)
        label = f"person-{i}"
        principals.append(Principal(label, user, estate.users[i], set(scopes), model, token=True))
    role_perms = [role_permissions(spec["roles"]) for spec in estate.users]
    return {
        "models": models,
        "versions": versions,
        "principals": principals,
        "user_index": user_index,
        "role_perms": role_perms,
    }


def answer(read, **arguments) -> str:
    try:
        read(**arguments)
    except Http404:
        return "404"
    except PermissionDenied:
        return "403"
    return "ok"


def check(estate: Estate, built) -> None:
    models, versions = built["models"], built["versions"]
    ids = [m.pk for m in models]
    for who in built["principals"]:
        user = who.user
        for action in Action:
            rule = {i for i in range(len(models)) if expected(estate, built, who, action, i)}
            why = (who.label, sorted(who.scopes), who.token_model, action.name)
            restricted = set(
                permissions.restrict(RegisteredModel.objects.filter(pk__in=ids), user, action).values_list(
                    "pk", flat=True
                )
            )
            assert restricted == {ids[i] for i in rule}, why
            restricted_versions = permissions.restrict(ModelVersion.objects.filter(model__in=ids), user, action)
            assert set(restricted_versions.values_list("model_id", flat=True)) == {ids[i] for i in rule}, why
            assert {i for i, m in enumerate(models) if permissions.can(user, action, m)} == rule, why
            assert {i for i, v in enumerate(versions) if permissions.can(user, action, v)} == rule, why
            visible = {i for i in range(len(models)) if expected(estate, built, who, Action.VIEW, i)}
            for i, model in enumerate(models):
                want = "404" if i not in visible else ("ok" if i in rule else "403")
                got_model = answer(selectors.model_get, user=user, name=model.name, action=action)
                assert got_model == want, (*why, model.name, "model_get")
                if action in (Action.VIEW, Action.CHANGE):  # the version reads of the MLflow API
                    got_version = answer(selectors.version_get, user=user, model=model, version=1, action=action)
                    assert got_version == want, (*why, model.name, "version_get")
        visible = {i for i in range(len(models)) if expected(estate, built, who, Action.VIEW, i)}
        why = (who.label, sorted(who.scopes), who.token_model)
        for i, model in enumerate(models):
            want = "ok" if i in visible else "404"
            assert answer(selectors.model_detail, user=user, name=model.name) == want, (*why, i)
            by_alias = answer(selectors.version_by_alias, user=user, model_name=model.name, alias="champion")
            assert by_alias == want, (*why, i)
            if i in visible:
                assert selectors.model_get(user=user, name=model.name).pk == model.pk
                assert selectors.model_detail(user=user, name=model.name).pk == model.pk
                resolved = selectors.version_by_alias(user=user, model_name=model.name, alias="champion")
                assert (resolved.pk, resolved.model.pk) == (versions[i].pk, model.pk)
        searched = set(selectors.model_search(user=user).filter(pk__in=ids).values_list("pk", flat=True))
        assert searched == {ids[i] for i in visible}, why
        searched = set(selectors.version_search(user=user).filter(model__in=ids).values_list("model_id", flat=True))
        assert searched == {ids[i] for i in visible}, why


@pytest.mark.django_db
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(estate=estates())
def test_restrict_can_and_the_hot_reads_agree_with_the_rule(postgres, estate):
    with transaction.atomic():
        creator = make_user("creator", roles=[Role.ADMINISTRATOR])
        check(estate, build(estate, creator))
        transaction.set_rollback(True)  # each estate starts from an empty catalog
