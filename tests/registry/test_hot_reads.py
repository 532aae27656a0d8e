"""The precompiled hot reads (alias resolution and model get, used by every deployment system) must answer
exactly what the ORM-built reads answer: the same MLflow JSON. tests/registry/test_permission_rule.py holds
them to the permission rule for every kind of user and token."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404

from governance import services as governance_services
from registry import permissions, selectors, services
from registry.api.mlflow import serializers as render
from registry.choices import Stage, Visibility
from registry.permissions import Action
from tests.factories import make_model, make_version


@pytest.fixture
def estate(owner, teammate, outsider, team_alpha, administrator):
    """Models of every visibility, owned by different teams, with grants to a person and to a team."""
    internal = make_model(owner, name="internal-alpha")
    restricted = make_model(owner, name="restricted-alpha", visibility=Visibility.RESTRICTED)
    beta = make_model(outsider, name="restricted-beta", visibility=Visibility.RESTRICTED)
    shared = make_model(outsider, name="shared-beta", visibility=Visibility.RESTRICTED)
    services.access_grant(actor=outsider, model=shared, grantee=teammate, actions=[Action.VIEW, Action.CHANGE])
    services.access_grant(actor=administrator, model=beta, grantee=team_alpha.group, actions=[Action.VIEW])
    return {"internal": internal, "restricted": restricted, "beta": beta, "shared": shared}


def test_token_authentication_reads_the_same_roles_and_permissions(
    owner, administrator, reviewer, risk_officer, auditor, viewer
):
    """The token lookup reads the user's roles and permissions in the same statement; they must be what the
    separate grants query finds, for every role and for a permission granted to the person directly."""
    from django.contrib.auth.models import Permission

    from registry.authentication import authenticate_token

    viewer.user_permissions.add(Permission.objects.get(codename="add_registeredmodel"))
    for user in (owner, administrator, reviewer, risk_officer, auditor, viewer):
        _, secret = services.token_create(actor=user, user=user, name="grants", scopes=["read"])
        via_token = authenticate_token(secret).user._arbiter_grants
        fresh = type(user).objects.get(pk=user.pk)
        assert via_token == permissions._load_grants(fresh), user.username
        assert via_token[0], "every persona holds a role"
    assert "registry.add_registeredmodel" in authenticate_token(secret).user._arbiter_grants[1]


@pytest.fixture
def documented(owner, estate, artifact_storage):
    """A model with versions in several stages, files (one still pending) and aliases."""
    model = estate["restricted"]
    first = make_version(owner, model, source="s3://runs/1", run_id="r1", tags={"team": "alpha"}, description="one")
    second = make_version(owner, model, source="runs:/abc/model", run_link="http://ci/2")
    third = make_version(owner, model)
    for name, body in (("config.json", b"{}"), ("a.json", b"[]")):
        artifact = services.artifact_upload(
            actor=owner, version=second, uploaded_file=SimpleUploadedFile(name, body), filename=name, kind="config"
        )
        if name == "a.json":
            services.artifact_validate(artifact_id=artifact.pk)  # the other stays pending
    governance_services.version_transition(actor=owner, version=first, stage=Stage.STAGING)
    services.alias_apply(actor=owner, model=model, name="champion", version=second)
    services.alias_apply(actor=owner, model=model, name="challenger", version=second)
    services.alias_apply(actor=owner, model=model, name="old", version=first)
    return model, first, second, third


def test_alias_resolution_renders_like_version_search(documented, teammate, django_assert_num_queries):
    model, first, second, _ = documented
    for user in (type(teammate).objects.get(username="owner"),):
        for alias, version in (("champion", second), ("challenger", second), ("old", first)):
            hot = selectors.version_by_alias(user=user, model_name=model.name, alias=alias)
            orm = selectors.version_search(user=user).get(pk=version.pk)
            with django_assert_num_queries(0):  # everything rendered was loaded (no deferred field read)
                hot_body = render.model_version(hot)
            assert hot_body == render.model_version(orm)
            assert hot.model.name == model.name and hot.created_by == version.created_by
    rendered = render.model_version(selectors.version_by_alias(user=user, model_name=model.name, alias="champion"))
    assert rendered["status"] == "PENDING_REGISTRATION" and rendered["aliases"] == ["challenger", "champion"]
    assert [a["filename"] for a in rendered["artifacts"]] == ["a.json", "config.json"]


def test_model_get_renders_like_model_search(documented, owner, administrator, django_assert_num_queries):
    model, *_ = documented
    for user in (owner, administrator):
        hot = selectors.model_detail(user=user, name=model.name)
        orm = selectors.model_search(user=user).get(pk=model.pk)
        with django_assert_num_queries(0):
            hot_body = render.registered_model(hot)
        assert hot_body == render.registered_model(orm)
    body = render.registered_model(selectors.model_detail(user=owner, name=model.name))
    assert [v["version"] for v in body["latest_versions"]] == ["1", "3"], "newest per stage: staging v1, dev v3"
    assert body["aliases"] == [
        {"alias": "challenger", "version": "2"},
        {"alias": "champion", "version": "2"},
        {"alias": "old", "version": "1"},
    ]


def test_hot_reads_answer_404_to_those_who_may_not_see(documented, outsider, viewer):
    model, *_ = documented
    for user in (outsider, viewer):
        with pytest.raises(Http404):
            selectors.model_detail(user=user, name=model.name)
        with pytest.raises(Http404):
            selectors.version_by_alias(user=user, model_name=model.name, alias="champion")
    with pytest.raises(Http404):
        selectors.version_by_alias(user=type(viewer).objects.get(username="owner"), model_name=model.name, alias="nope")
