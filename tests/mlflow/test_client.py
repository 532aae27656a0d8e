"""A pipeline's MlflowClient against a live Arbiter: the calls it makes and what Arbiter does with them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from mlflow.exceptions import MlflowException

from governance import services as governance_services
from governance.models import AuditEvent, Committee
from registry import services
from registry.choices import ArtifactStatus, RiskTier, Stage
from registry.models import Artifact, ModelVersion, RegisteredModel
from registry.permissions import Role
from tests.artifact_files import safetensors_bytes
from tests.factories import add_valid_file, make_user

pytestmark = pytest.mark.postgres


def error_code(excinfo) -> str:
    return excinfo.value.error_code


def message(excinfo) -> str:
    """The server's message (the client prefixes it with the error code)."""
    return excinfo.value.message.removeprefix(f"{excinfo.value.error_code}: ")


def test_create_get_and_search_models_with_tags_and_like(client, owner):
    created = client.create_registered_model("fraud-detector", tags={"team": "risk"}, description="Flags fraud.")
    assert created.name == "fraud-detector" and created.tags == {"team": "risk"}
    for name in ("fraud-scorer", "churn-model"):
        client.create_registered_model(name, tags={"team": "growth" if name == "churn-model" else "risk"})

    got = client.get_registered_model("fraud-detector")
    assert got.description == "Flags fraud." and got.creation_timestamp > 1_700_000_000_000
    model = RegisteredModel.objects.get(name="fraud-detector")
    assert model.owner == owner and model.tags == {"team": "risk"}

    assert [m.name for m in client.search_registered_models("name LIKE 'fraud-%'")] == [
        "fraud-detector",
        "fraud-scorer",
    ]
    assert [m.name for m in client.search_registered_models("name ILIKE 'FRAUD-D%'")] == ["fraud-detector"]
    assert [m.name for m in client.search_registered_models("tags.`team` = 'growth'")] == ["churn-model"]
    assert [m.name for m in client.search_registered_models("tags.team LIKE 'gro%'")] == ["churn-model"]
    assert [m.name for m in client.search_registered_models("tag.team != 'growth' AND name != 'fraud-scorer'")] == [
        "fraud-detector"
    ]
    newest_first = client.search_registered_models(order_by=["creation_timestamp DESC"])
    assert [m.name for m in newest_first] == ["churn-model", "fraud-scorer", "fraud-detector"]
    actions = set(AuditEvent.objects.filter(action="model.created").values_list("target_label", flat=True))
    assert {"fraud-detector", "fraud-scorer", "churn-model"} <= actions


def test_versions_aliases_and_latest_versions(client, owner):
    client.create_registered_model("ranker")
    v1 = client.create_model_version("ranker", "runs:/abc123/model", run_id="abc123", tags={"data": "2026-10"})
    v2 = client.create_model_version("ranker", "s3://bucket/ranker/2", description="Second.")
    assert (v1.version, v2.version) == ("1", "2")
    assert v1.status == "READY" and v1.current_stage == "None" and v1.tags == {"data": "2026-10"}
    stored = ModelVersion.objects.get(model__name="ranker", version=1)
    assert (stored.source, stored.run_id, stored.created_by) == ("runs:/abc123/model", "abc123", owner)

    client.set_registered_model_alias("ranker", "champion", "1")
    client.set_registered_model_alias("ranker", "challenger", 2)
    resolved = client.get_model_version_by_alias("ranker", "champion")
    assert resolved.version == "1" and resolved.aliases == ["champion"]
    assert client.get_registered_model("ranker").aliases == {"champion": "1", "challenger": "2"}
    client.set_registered_model_alias("ranker", "champion", "2")
    assert client.get_model_version_by_alias("ranker", "champion").version == "2"
    client.delete_registered_model_alias("ranker", "challenger")
    with pytest.raises(MlflowException) as missing:
        client.get_model_version_by_alias("ranker", "challenger")
    assert error_code(missing) == "INVALID_PARAMETER_VALUE"  # as MLflow's server answers
    assert message(missing) == "Registered model alias challenger not found."

    latest = client.get_latest_versions("ranker")
    assert [(v.version, v.current_stage) for v in latest] == [("2", "None")]
    client.transition_model_version_stage("ranker", "1", "Staging")
    latest = client.get_latest_versions("ranker", stages=["Staging"])
    assert [(v.version, v.current_stage) for v in latest] == [("1", "Staging")]
    assert {v.version for v in client.search_model_versions("name = 'ranker'")} == {"1", "2"}
    assert [v.version for v in client.search_model_versions("run_id = 'abc123'")] == ["1"]
    assert [v.version for v in client.search_model_versions("source_path LIKE 's3://%'")] == ["2"]
    assert [v.version for v in client.search_model_versions("name = 'ranker' AND tags.data = '2026-10'")] == ["1"]
    assert [v.version for v in client.search_model_versions("version_number = 2")] == ["2"]


def test_tags_rename_update_and_delete(client, owner):
    client.create_registered_model("scorer")
    client.create_model_version("scorer", "runs:/r1/model")
    client.set_registered_model_tag("scorer", "owner-team", "alpha")
    client.set_model_version_tag("scorer", "1", "validated", "yes")
    assert client.get_registered_model("scorer").tags == {"owner-team": "alpha"}
    assert client.get_model_version("scorer", "1").tags == {"validated": "yes"}
    client.delete_registered_model_tag("scorer", "owner-team")
    client.delete_model_version_tag("scorer", "1", "validated")
    client.delete_model_version_tag("scorer", "1", "never-set")  # absent: done, as on MLflow's server
    assert client.get_registered_model("scorer").tags == {}
    assert client.get_model_version("scorer", "1").tags == {}

    client.update_registered_model("scorer", description="Scores.")
    client.update_model_version("scorer", "1", description="First.")
    client.rename_registered_model("scorer", "credit-scorer")
    assert client.get_registered_model("credit-scorer").description == "Scores."
    assert client.get_model_version("credit-scorer", "1").description == "First."
    with pytest.raises(MlflowException) as gone:
        client.get_registered_model("scorer")
    assert error_code(gone) == "RESOURCE_DOES_NOT_EXIST"

    client.create_model_version("credit-scorer", "runs:/r2/model")
    client.delete_model_version("credit-scorer", "2")
    assert [v.version for v in client.search_model_versions("name = 'credit-scorer'")] == ["1"]
    client.delete_registered_model("credit-scorer")
    assert not RegisteredModel.objects.filter(name="credit-scorer").exists()
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    for action in ("model.renamed", "version.deleted", "model.deleted", "model.updated", "version.updated"):
        assert action in actions


def test_errors_surface_as_mlflow_exceptions_with_their_codes(client, owner, outsider, client_as):
    client.create_registered_model("dup")
    with pytest.raises(MlflowException) as exists:
        client.create_registered_model("dup")
    assert error_code(exists) == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(MlflowException) as bad_name:
        client.create_registered_model("no/slashes")
    assert error_code(bad_name) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as no_version:
        client.get_model_version("dup", "7")
    assert error_code(no_version) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as bad_filter:
        client.search_registered_models("flavour = 'x'")
    assert error_code(bad_filter) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as too_many:
        client.search_registered_models(max_results=1001)
    assert error_code(too_many) == "INVALID_PARAMETER_VALUE"

    reader = client_as(owner, scopes=("read",))
    with pytest.raises(MlflowException) as read_only:
        reader.create_model_version("dup", "runs:/x/model")
    assert error_code(read_only) == "PERMISSION_DENIED"
    assert "lacks the 'write' scope" in read_only.value.message
    other = client_as(outsider)
    with pytest.raises(MlflowException) as not_theirs:
        other.set_registered_model_tag("dup", "k", "v")
    assert error_code(not_theirs) == "PERMISSION_DENIED"


def _ready_for_production(owner, model_name: str, version: str):
    """Minimal risk (one peer reviewer decides), documented, with metrics, training data and a valid file."""
    model = RegisteredModel.objects.get(name=model_name)
    services.model_update(actor=owner, model=model, data={"intended_use": "Ranking.", "limitations": "Small data."})
    services.model_risk_tier_set(actor=None, model=model, tier=RiskTier.MINIMAL)
    target = model.versions.get(version=int(version))
    services.version_update(
        actor=owner,
        version=target,
        data={"training_data": ["s3://lake/ranker/"], "metrics": [{"name": "auc", "value": 0.91}]},
    )
    add_valid_file(owner, target)
    return model, target


def test_archive_existing_versions_rotates_staging_in_one_transaction(client, owner):
    client.create_registered_model("rotor")
    for _ in range(3):
        client.create_model_version("rotor", "runs:/r/model")
    client.transition_model_version_stage("rotor", "1", "Staging")
    client.transition_model_version_stage("rotor", "2", "Staging", archive_existing_versions=False)
    staged = client.transition_model_version_stage("rotor", "3", "Staging", archive_existing_versions=True)
    assert staged.current_stage == "Staging"
    stages = {v.version: v.current_stage for v in client.search_model_versions("name = 'rotor'")}
    assert stages == {"1": "Archived", "2": "Archived", "3": "Staging"}


def test_production_needs_an_approval(client, owner, administrator):
    client.create_registered_model("ranker")
    client.create_model_version("ranker", "runs:/abc/model")
    model, version = _ready_for_production(owner, "ranker", "1")
    staged = client.transition_model_version_stage("ranker", "1", "Staging")
    assert staged.current_stage == "Staging"

    with pytest.raises(MlflowException) as refused:
        client.transition_model_version_stage("ranker", "1", "Production")
    assert error_code(refused) == "PERMISSION_DENIED"
    assert message(refused).startswith(
        "Model Version (name=ranker, version=1) cannot move from Staging to Production: v1 needs an approval from "
        "Peer Review"
    )
    with pytest.raises(MlflowException) as alias_refused:
        client.set_registered_model_alias("ranker", "production", "1")
    assert error_code(alias_refused) == "PERMISSION_DENIED"
    assert ModelVersion.objects.get(pk=version.pk).stage == Stage.STAGING

    reviewer = make_user("peer", roles=[Role.REVIEWER])
    peer = Committee.objects.get(slug="peer-review")
    governance_services.committee_member_set(actor=administrator, committee=peer, user=reviewer)
    request = governance_services.approval_request_submit(
        actor=owner, version=version, target_stage=Stage.PRODUCTION, justification="AUC 0.91 on holdout."
    )
    governance_services.vote_cast(actor=reviewer, request=request, committee=peer, decision="approve")

    client.set_registered_model_alias("ranker", "production", "1")
    promoted = client.transition_model_version_stage("ranker", "1", "Production", archive_existing_versions=True)
    assert promoted.current_stage == "Production"
    assert client.get_model_version_by_alias("ranker", "production").version == "1"
    event = AuditEvent.objects.filter(action="version.stage_changed").order_by("-seq").first()
    assert event.changes["stage"] == {"before": "staging", "after": "production"}
    assert event.changes["authorised_by"]["approval_request"] == request.pk


def test_status_is_pending_while_files_are_validated(client, owner):
    client.create_registered_model("vision")
    client.create_model_version("vision", "runs:/v/model")
    version = ModelVersion.objects.get(model__name="vision", version=1)
    Artifact.objects.create(version=version, filename="w.bin", storage_key="uploads/x", uploaded_by=owner)
    assert client.get_model_version("vision", "1").status == "PENDING_REGISTRATION"
    Artifact.objects.filter(version=version).update(status=ArtifactStatus.VALID, sha256="ab" * 32)
    fetched = client.get_model_version("vision", "1")
    assert fetched.status == "READY"
    uri = client.get_model_version_download_uri("vision", "1")
    assert uri.endswith("/api/2.0/mlflow-artifacts/artifacts/arbiter/vision/1")


def test_pagination_over_250_models(client, owner):
    for i in range(250):
        services.model_create(actor=owner, name=f"m-{i:03d}", title=f"M {i}")
    seen, token, pages = [], None, 0
    while True:
        page = client.search_registered_models(max_results=100, page_token=token)
        seen += [m.name for m in page]
        pages += 1
        token = page.token
        if not token:
            break
    assert pages == 3 and seen == [f"m-{i:03d}" for i in range(250)]
    selective = client.search_registered_models("name LIKE 'm-12%'", max_results=5)
    assert [m.name for m in selective] == [f"m-12{i}" for i in range(5)] and selective.token


def test_auth_failures(mlflow_env, owner):
    import mlflow

    anonymous = mlflow.MlflowClient()
    with pytest.raises(MlflowException) as no_token:
        anonymous.search_registered_models()
    assert error_code(no_token) == "UNAUTHENTICATED"
    mlflow_env.setenv("MLFLOW_TRACKING_TOKEN", "arb_deadbeef_not-a-real-token")
    with pytest.raises(MlflowException) as bad_token:
        anonymous.get_registered_model("anything")
    assert error_code(bad_token) == "UNAUTHENTICATED"
    mlflow_env.delenv("MLFLOW_TRACKING_TOKEN")

    _, secret = services.token_create(actor=owner, user=owner, name="basic", scopes=["write"])
    mlflow_env.setenv("MLFLOW_TRACKING_USERNAME", "owner")
    mlflow_env.setenv("MLFLOW_TRACKING_PASSWORD", secret)
    assert mlflow.MlflowClient().create_registered_model("via-basic").name == "via-basic"
    mlflow_env.setenv("MLFLOW_TRACKING_USERNAME", "somebody-else")
    with pytest.raises(MlflowException) as mismatch:
        mlflow.MlflowClient().get_registered_model("via-basic")
    assert error_code(mismatch) == "UNAUTHENTICATED"


def test_models_uri_downloads_the_validated_files_through_arbiter(client, owner, artifact_storage, tmp_path):
    """`mlflow.artifacts.download_artifacts("models:/name/1")`: get-download-uri points at Arbiter's
    mlflow-artifacts bridge, which serves the version's files as the v1 download does (recorded, digest-checked)."""
    import mlflow

    client.create_registered_model("loader")
    client.create_model_version("loader", "runs:/r/model")
    version = ModelVersion.objects.get(model__name="loader", version=1)
    weights = safetensors_bytes()
    for name, data in (("model.safetensors", weights), ("config.json", b'{"layers": 2}')):
        artifact = services.artifact_upload(
            actor=owner, version=version, uploaded_file=SimpleUploadedFile(name, data), filename=name
        )
        services.artifact_validate(artifact_id=artifact.pk)
    assert client.get_model_version("loader", "1").status == "READY"

    target = mlflow.artifacts.download_artifacts("models:/loader/1", dst_path=str(tmp_path / "out"))
    files = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    assert target and files == {"model.safetensors": weights, "config.json": b'{"layers": 2}'}
    downloads = AuditEvent.objects.filter(action="artifact.downloaded", model_name="loader")
    assert downloads.count() == 2

    Artifact.objects.filter(version=version, filename="config.json").update(status=ArtifactStatus.REJECTED)
    with pytest.raises(MlflowException) as refused:
        mlflow.artifacts.download_artifacts("models:/loader/1", dst_path=str(tmp_path / "again"))
    assert "403" in str(refused.value) or "rejected" in str(refused.value)


def test_register_model_fluent_api_unchanged(client, owner):
    """`mlflow.register_model` with a storage URI: creates the model once, then numbered versions."""
    import mlflow

    first = mlflow.register_model("s3://models/churn/2026-11-01", "churn", tags={"git": "4f2a"})
    second = mlflow.register_model("s3://models/churn/2026-11-08", "churn")  # model exists: the client carries on
    assert (first.version, second.version) == ("1", "2") and first.status == "READY"
    versions = ModelVersion.objects.filter(model__name="churn").order_by("version")
    assert [v.source for v in versions] == ["s3://models/churn/2026-11-01", "s3://models/churn/2026-11-08"]
    assert versions[0].tags == {"git": "4f2a"} and versions[0].created_by == owner


def test_names_mlflow_accepts_work_through_every_call(client, owner, artifact_storage, tmp_path):
    """`UpdateRMTest 2` (MLflow's own test name): a space in the name, in query strings, JSON bodies, the
    `models:/` URI and Arbiter's artifact URL."""
    import mlflow

    name = "UpdateRMTest 2"
    assert client.create_registered_model(name, tags={"k": "v"}).name == name
    client.create_model_version(name, "s3://bucket/update-rm/1")
    assert client.get_registered_model(name).tags == {"k": "v"}
    assert [m.name for m in client.search_registered_models(f"name = '{name}'")] == [name]
    assert [v.version for v in client.search_model_versions(f"name = '{name}'")] == ["1"]
    client.set_registered_model_alias(name, "champion", "1")
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    client.update_model_version(name, "1", description="Spaced.")
    version = ModelVersion.objects.get(model__name=name, version=1)
    upload = SimpleUploadedFile("model.safetensors", safetensors_bytes())
    artifact = services.artifact_upload(
        actor=owner, version=version, uploaded_file=upload, filename="model.safetensors"
    )
    services.artifact_validate(artifact_id=artifact.pk)
    assert client.get_model_version_download_uri(name, "1").endswith("/artifacts/arbiter/UpdateRMTest%202/1")
    mlflow.artifacts.download_artifacts(f"models:/{name}/1", dst_path=str(tmp_path / "out"))
    assert (tmp_path / "out" / "model.safetensors").read_bytes() == safetensors_bytes()
    assert client.transition_model_version_stage(name, "1", "Staging").current_stage == "Staging"
    client.rename_registered_model(name, "UpdateRMTest 3")
    assert client.get_registered_model("UpdateRMTest 3").latest_versions[0].current_stage == "Staging"

    for refused in ("a/b", "a:b", "credit-scoring.", "..", "tab\there"):
        with pytest.raises(MlflowException) as bad:
            client.create_registered_model(refused)
        assert error_code(bad) == "INVALID_PARAMETER_VALUE", refused


def test_error_messages_are_mlflows_own(client, owner):
    client.create_registered_model("dup")
    client.create_model_version("dup", "s3://b/dup/1")
    cases = [
        (
            lambda: client.create_registered_model("dup"),
            "RESOURCE_ALREADY_EXISTS",
            "Registered Model (name=dup) already exists.",
        ),
        (
            lambda: client.get_registered_model("nope"),
            "RESOURCE_DOES_NOT_EXIST",
            "Registered Model with name=nope not found",
        ),
        (
            lambda: client.delete_registered_model("nope"),
            "RESOURCE_DOES_NOT_EXIST",
            "Registered Model with name=nope not found",
        ),
        (
            lambda: client.get_model_version("dup", "7"),
            "RESOURCE_DOES_NOT_EXIST",
            "Model Version (name=dup, version=7) not found",
        ),
        (
            lambda: client.get_model_version("nope", "1"),
            "RESOURCE_DOES_NOT_EXIST",
            "Model Version (name=nope, version=1) not found",
        ),
        (
            lambda: client.get_model_version("dup", "one"),
            "INVALID_PARAMETER_VALUE",
            "Parameter 'version' must be an integer, got 'one'.",
        ),
        (
            lambda: client.transition_model_version_stage("dup", "1", "Live"),
            "INVALID_PARAMETER_VALUE",
            "Invalid Model Version stage: Live. Value must be one of None, Staging, Production, Archived.",
        ),
        (
            lambda: client.search_model_versions(max_results=10001),
            "INVALID_PARAMETER_VALUE",
            "Invalid value for request parameter max_results. It must be at most 10000, but got value 10001",
        ),
    ]
    for call, code, expected in cases:  # Arbiter may append its reason (a name collision says why)
        with pytest.raises(MlflowException) as raised:
            call()
        assert error_code(raised) == code and message(raised).startswith(expected), message(raised)


def test_search_model_versions_default_order_and_pages_follow_it(client, owner):
    """MLflow's default: last_updated_timestamp DESC, then name ASC, then version DESC."""
    for name, versions in (("b-model", 2), ("a-model", 1)):
        client.create_registered_model(name)
        for _ in range(versions):
            client.create_model_version(name, f"s3://b/{name}")
    moment = timezone.now()
    ModelVersion.objects.update(updated_at=moment - timedelta(minutes=5))
    ModelVersion.objects.filter(model__name="b-model", version=1).update(updated_at=moment)
    expected = [("b-model", "1"), ("a-model", "1"), ("b-model", "2")]
    assert [(v.name, v.version) for v in client.search_model_versions()] == expected
    paged, token = [], None
    while True:
        page = client.search_model_versions(max_results=1, page_token=token)
        paged += [(v.name, v.version) for v in page]
        token = page.token
        if not token:
            break
    assert paged == expected


def test_download_uri_is_the_source_until_arbiter_holds_the_files(client, owner, artifact_storage):
    client.create_registered_model("sourced")
    client.create_model_version("sourced", "s3://mlflow-artifacts/1/run/artifacts/model")
    assert client.get_model_version_download_uri("sourced", "1") == "s3://mlflow-artifacts/1/run/artifacts/model"
    version = ModelVersion.objects.get(model__name="sourced", version=1)
    upload = SimpleUploadedFile("model.safetensors", safetensors_bytes())
    services.artifact_upload(actor=owner, version=version, uploaded_file=upload, filename="model.safetensors")
    assert client.get_model_version_download_uri("sourced", "1").endswith(
        "/api/2.0/mlflow-artifacts/artifacts/arbiter/sourced/1"
    )


def test_governance_refusals_name_the_mlflow_object_and_the_reason(client, owner):
    client.create_registered_model("ranker")
    client.create_model_version("ranker", "s3://b/ranker/1")
    with pytest.raises(MlflowException) as skipped:
        client.transition_model_version_stage("ranker", "1", "Production")
    assert error_code(skipped) == "RESOURCE_CONFLICT"
    assert message(skipped) == (
        "Model Version (name=ranker, version=1) cannot move from None to Production: "
        "A version in development can only move to: archived, staging."
    )
    client.transition_model_version_stage("ranker", "1", "Staging")
    with pytest.raises(MlflowException) as back:
        client.transition_model_version_stage("ranker", "1", "None")
    assert message(back).startswith("Model Version (name=ranker, version=1) cannot move from Staging to None: ")
    with pytest.raises(MlflowException) as released:
        client.delete_model_version("ranker", "1")
    assert error_code(released) == "RESOURCE_CONFLICT"
    assert message(released).startswith("Model Version (name=ranker, version=1) cannot be deleted: v1 is in staging")


def test_creating_a_name_the_caller_cannot_see_answers_like_any_collision(client_as, owner, outsider):
    """The same code and wording whether or not the caller may see the model holding the name (issue 22.4);
    `mlflow.register_model` still carries on when the model exists, since the code is RESOURCE_ALREADY_EXISTS."""
    services.model_create(actor=owner, name="secret-scoring", title="S", visibility="restricted")
    services.model_create(actor=outsider, name="own-scoring", title="O")
    theirs = client_as(outsider)
    with pytest.raises(MlflowException) as hidden:
        theirs.get_registered_model("secret-scoring")
    assert error_code(hidden) == "RESOURCE_DOES_NOT_EXIST"
    answers = {}
    for attempt in ("Secret_Scoring", "Own_Scoring"):
        with pytest.raises(MlflowException) as collided:
            theirs.create_registered_model(attempt)
        answers[attempt] = (error_code(collided), message(collided).replace(attempt, "?"))
    assert answers["Secret_Scoring"] == answers["Own_Scoring"]
    assert answers["Own_Scoring"][0] == "RESOURCE_ALREADY_EXISTS" and "secret-scoring" not in str(answers)
    assert AuditEvent.objects.filter(action="model.name_unavailable", actor_label="outsider").count() == 2
