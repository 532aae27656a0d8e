"""The catalog's rules, exercised through the services every entry point calls."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from governance.models import AuditEvent
from registry import permissions, services
from registry.choices import Stage, Visibility
from registry.exceptions import Conflict, InvalidInput
from registry.models import ModelVersion
from tests.factories import make_model, make_version


def last_event():
    return AuditEvent.objects.order_by("-seq").first()


def test_model_create_records_owner_team_grants_and_event(owner, teammate, team_alpha):
    model = services.model_create(
        actor=owner, name="credit-scoring", title="Credit scoring", team=team_alpha, tags={"unit": "retail"}
    )
    assert model.owner == owner and model.team == team_alpha
    assert permissions.can(owner, permissions.Action.MANAGE_ACCESS, model)
    assert permissions.can(teammate, permissions.Action.UPLOAD, model), "the team gets the owner set"
    event = last_event()
    assert event.action == "model.created" and event.model_name == "credit-scoring"
    assert event.changes["title"] == {"before": None, "after": "Credit scoring"}
    assert event.changes["tags"] == {"before": None, "after": {"unit": "retail"}}


@pytest.mark.parametrize("bad", ["", "   ", "a/b", "a:b", "tab\there", "nul\x00", ".", "..x", "trailing.", "x" * 257])
def test_model_names_refuse_what_mlflow_refuses_or_cannot_be_routed(owner, bad):
    with pytest.raises(InvalidInput) as exc:
        services.model_create(actor=owner, name=bad, title="T")
    assert "name" in exc.value.fields


@pytest.mark.parametrize("good", ["UpdateRMTest 2", "-leading", "ünïcode", "a.b", "50% off?#&", "x" * 256])
def test_model_names_accept_what_mlflow_accepts(owner, good):
    assert services.model_create(actor=owner, name=good, title="T").name == good


@pytest.mark.parametrize("look_alike", ["fraud-model", "FRAUD_MODEL", "fraud.model", "Fraud Model", "ｆｒａｕｄ-model"])
def test_model_names_are_unique_ignoring_case_and_look_alike_characters(owner, look_alike):
    make_model(owner, name="Fraud-Model")
    with pytest.raises(Conflict) as exc:
        make_model(owner, name=look_alike)
    assert exc.value.code == "name_unavailable"


def test_only_model_owners_register_models(viewer, reviewer):
    for user in (viewer, reviewer):
        with pytest.raises(PermissionDenied):
            make_model(user)


def test_update_records_field_level_diff(owner):
    model = make_model(owner, title="Old")
    services.model_update(actor=owner, model=model, data={"title": "New", "limitations": "Small data"})
    event = last_event()
    assert event.action == "model.updated"
    assert event.changes == {
        "title": {"before": "Old", "after": "New"},
        "limitations": {"before": "", "after": "Small data"},
    }


def test_update_without_change_writes_no_event(owner):
    model = make_model(owner, title="Same")
    before = AuditEvent.objects.count()
    services.model_update(actor=owner, model=model, data={"title": "Same"})
    assert AuditEvent.objects.count() == before


def test_outsider_cannot_change_internal_model_but_can_see_it(owner, outsider):
    model = make_model(owner)
    assert permissions.can(outsider, permissions.Action.VIEW, model)
    with pytest.raises(PermissionDenied):
        services.model_update(actor=outsider, model=model, data={"title": "Hijacked"})


def test_outsider_gets_404_on_restricted_model(owner, outsider):
    model = make_model(owner, visibility=Visibility.RESTRICTED)
    with pytest.raises(Http404):
        services.model_update(actor=outsider, model=model, data={"title": "x"})


def test_risk_tier_is_not_editable_through_update(owner):
    model = make_model(owner)
    with pytest.raises(InvalidInput) as exc:
        services.model_update(actor=owner, model=model, data={"risk_tier": "minimal"})
    assert "risk_tier" in exc.value.fields


def test_versions_are_numbered_in_order_and_numbers_never_reused(owner):
    model = make_model(owner)
    v1, v2, v3 = (make_version(owner, model) for _ in range(3))
    assert [v1.version, v2.version, v3.version] == [1, 2, 3]
    services.version_delete(actor=owner, version=v3)
    v4 = make_version(owner, model)
    assert v4.version == 4, "a deleted version's number is not given out again"
    model.refresh_from_db()
    assert model.latest_version == 4 and model.latest_stage == Stage.DEVELOPMENT


def test_version_register_stores_metadata_and_metrics(owner):
    model = make_model(owner)
    version = services.version_register(
        actor=owner,
        model=model,
        source="git+https://example.org/repo@abc",
        hyperparameters={"lr": 0.1},
        training_data=["s3://bucket/train/"],
        metrics=[{"name": "auc", "value": 0.91, "split": "test"}, {"name": "auc", "value": 0.93, "split": "val"}],
    )
    assert version.hyperparameters == {"lr": 0.1}
    assert sorted((m.split, m.value) for m in version.metrics.all()) == [("test", 0.91), ("val", 0.93)]
    assert last_event().changes["metrics"]["after"][0]["name"] == "auc"


@pytest.mark.parametrize(
    "metrics",
    [
        [{"name": "auc", "value": "high"}],
        [{"name": "auc", "value": float("nan")}],
        [{"value": 1}],
        [{"name": "auc", "value": 1}, {"name": "auc", "value": 2}],
        "auc=1",
    ],
)
def test_bad_metrics_are_refused_and_nothing_is_written(owner, metrics):
    model = make_model(owner)
    events = AuditEvent.objects.count()
    with pytest.raises(InvalidInput) as exc:
        services.version_register(actor=owner, model=model, metrics=metrics)
    assert "metrics" in exc.value.fields
    assert not ModelVersion.objects.filter(model=model).exists()
    assert AuditEvent.objects.count() == events
    model.refresh_from_db()
    assert model.version_counter == 0, "a refused registration does not consume a number"


def test_metadata_is_frozen_once_a_version_leaves_development(owner):
    model = make_model(owner)
    version = make_version(owner, model)
    services.version_stage_apply(actor=owner, version=version, stage=Stage.STAGING)
    with pytest.raises(Conflict) as exc:
        services.version_update(actor=owner, version=version, data={"source": "git+https://x/y@2"})
    assert exc.value.code == "version_frozen"
    assert "frozen" in exc.value.message and "(source)" in exc.value.message
    services.version_update(
        actor=owner, version=version, data={"tags": {"deployed": "eu-west"}, "description": "Commentary."}
    )
    version.refresh_from_db()
    assert version.tags == {"deployed": "eu-west"} and version.description == "Commentary."
    assert version.source == ""


def test_stage_transitions_follow_the_lifecycle(owner):
    version = make_version(owner, make_model(owner))
    with pytest.raises(Conflict) as exc:
        services.version_stage_apply(actor=owner, version=version, stage=Stage.PRODUCTION)
    assert "can only move to" in exc.value.message
    services.version_stage_apply(actor=owner, version=version, stage=Stage.STAGING)
    with pytest.raises(PermissionDenied):
        services.version_stage_apply(actor=owner, version=version, stage=Stage.PRODUCTION)
    with pytest.raises(Conflict):
        services.version_stage_apply(actor=owner, version=version, stage=Stage.DEVELOPMENT)
    version.refresh_from_db()
    assert version.stage == Stage.STAGING
    assert last_event().changes["stage"] == {"before": "development", "after": "staging"}


def test_model_with_released_versions_cannot_be_deleted(owner):
    model = make_model(owner)
    version = make_version(owner, model)
    services.version_stage_apply(actor=owner, version=version, stage=Stage.STAGING)
    with pytest.raises(Conflict) as exc:
        services.model_delete(actor=owner, model=model)
    assert "v1" in exc.value.message


def test_model_in_development_can_be_deleted_and_is_recorded(owner):
    model = make_model(owner, name="scratch")
    make_version(owner, model)
    services.model_delete(actor=owner, model=model)
    event = last_event()
    assert event.action == "model.deleted" and event.model_name == "scratch"


@pytest.mark.parametrize("tags", [["a"], {"": "x"}, {"k": {"nested": 1}}, {f"k{i}": "v" for i in range(101)}])
def test_tags_must_be_flat_string_pairs(owner, tags):
    with pytest.raises(InvalidInput):
        make_model(owner, tags=tags)


def test_failed_change_leaves_no_event(owner):
    model = make_model(owner)
    events = AuditEvent.objects.count()
    with pytest.raises(InvalidInput):
        services.model_update(actor=owner, model=model, data={"title": "x" * 201})
    assert AuditEvent.objects.count() == events
    model.refresh_from_db()
    assert model.title != "x" * 201
