"""Issue 13, item 2: a pipeline registers a version by `source` with the real MlflowClient; when the source lies
in an allowed store (moto's S3 server on loopback), a real Celery worker imports the files into Arbiter, the
MLflow status follows (PENDING_REGISTRATION, then READY or FAILED_REGISTRATION with the reason), and the
approval binds the imported files' digests. Sources outside the allow-list are never fetched."""

from __future__ import annotations

import boto3
import pytest
from django.test import Client
from mlflow.exceptions import MlflowException

from governance import services as governance_services
from governance.models import AuditEvent, Committee
from registry import services
from registry.choices import ArtifactStatus, ImportStatus, RiskTier, Stage
from registry.models import ModelVersion, RegisteredModel
from registry.permissions import Role
from tests.artifact_files import safetensors_bytes, sha256_of
from tests.conftest import free_port
from tests.factories import make_user

pytestmark = pytest.mark.postgres

BUCKET = "mlflow-artifacts"
RUN = "1/4f2a9c/artifacts/model"
FILES = {
    "MLmodel": b"artifact_path: model\nflavors:\n  python_function:\n    loader_module: mlflow.pyfunc\n",
    "model.safetensors": safetensors_bytes(),
    "requirements.txt": b"numpy==2.1.0\n",
}
MALICIOUS_PICKLE = b"cos\nsystem\n(S'echo pwned'\ntR."


@pytest.fixture
def mlflow_store(settings, monkeypatch):
    """An S3 store on loopback (moto's server, the real S3 protocol) holding one run's model files, and
    Arbiter configured to import from `s3://mlflow-artifacts/` only."""
    from moto.server import ThreadedMotoServer

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    for bucket in (BUCKET, "elsewhere"):
        s3.create_bucket(Bucket=bucket)
    for name, data in FILES.items():
        s3.put_object(Bucket=BUCKET, Key=f"{RUN}/{name}", Body=data)
        s3.put_object(Bucket="elsewhere", Key=f"{RUN}/{name}", Body=data)
    settings.ARTIFACT_IMPORT_SOURCES = [f"s3://{BUCKET}/"]
    settings.ARTIFACT_IMPORT_ENDPOINT_URL = endpoint
    settings.AWS_S3_REGION_NAME = "us-east-1"
    yield s3
    server.stop()


def signed_in(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def status_of(client, name: str, version: str = "1"):
    return client.get_model_version(name, version)


def test_files_under_an_allowed_source_are_imported_validated_and_bound_by_the_approval(
    client, owner, administrator, mlflow_store, celery_worker, tmp_path
):
    import mlflow

    client.create_registered_model("churn")
    created = client.create_model_version("churn", f"s3://{BUCKET}/{RUN}", run_id="4f2a9c")
    assert created.status == "PENDING_REGISTRATION"
    assert created.status_message and f"s3://{BUCKET}/{RUN}" in created.status_message

    ready = status_of(client, "churn")  # the client waited while it was PENDING_REGISTRATION, as with MLflow
    assert ready.status == "READY" and ready.source == f"s3://{BUCKET}/{RUN}"
    version = ModelVersion.objects.get(model__name="churn", version=1)
    assert version.import_status == ImportStatus.IMPORTED
    held = {a.filename: (a.sha256, a.status) for a in version.artifacts.all()}
    assert held == {name: (sha256_of(data), ArtifactStatus.VALID) for name, data in FILES.items()}
    imported = AuditEvent.objects.filter(action="artifact.imported", model_name="churn")
    assert sorted(e.changes["filename"] for e in imported) == sorted(FILES)
    assert AuditEvent.objects.get(action="version.imported").changes["import_status"]["after"] == "imported"

    page = signed_in(owner).get("/models/churn/versions/1/").content.decode()
    assert "Import of its files: imported. 3 files imported from" in page

    out = mlflow.artifacts.download_artifacts("models:/churn/1", dst_path=str(tmp_path / "out"))
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == FILES and out

    model = RegisteredModel.objects.get(name="churn")
    services.model_update(actor=owner, model=model, data={"intended_use": "Churn.", "limitations": "EU only."})
    services.model_risk_tier_set(actor=None, model=model, tier=RiskTier.MINIMAL)
    services.version_update(
        actor=owner,
        version=version,
        data={"training_data": ["s3://lake/churn/"], "metrics": [{"name": "auc", "value": 0.9}]},
    )
    reviewer = make_user("peer", roles=[Role.REVIEWER])
    peer = Committee.objects.get(slug="peer-review")
    governance_services.committee_member_set(actor=administrator, committee=peer, user=reviewer)
    request = governance_services.approval_request_submit(
        actor=owner, version=version, target_stage=Stage.PRODUCTION, justification="AUC 0.90."
    )
    governance_services.vote_cast(actor=reviewer, request=request, committee=peer, decision="approve")
    request.refresh_from_db()
    assert request.status == "approved"
    assert request.artifact_digests == {name: sha256_of(data) for name, data in FILES.items()}
    client.transition_model_version_stage("churn", "1", "Staging")
    assert client.transition_model_version_stage("churn", "1", "Production").current_stage == "Production"


def test_failed_imports_say_why_and_other_sources_are_never_fetched(
    client, owner, mlflow_store, celery_worker, settings
):
    """MlflowClient.create_model_version waits while the version is PENDING_REGISTRATION, as against MLflow's
    server, and raises with the status message when it ends FAILED_REGISTRATION."""
    mlflow_store.put_object(Bucket=BUCKET, Key="2/bad/artifacts/model/model.pkl", Body=MALICIOUS_PICKLE)
    client.create_registered_model("scorer")
    with pytest.raises(MlflowException, match="FAILED_REGISTRATION") as empty:
        client.create_model_version("scorer", f"s3://{BUCKET}/9/nothing-here/artifacts/model")
    assert f"There are no files under s3://{BUCKET}/9/nothing-here/artifacts/model." in empty.value.message
    with pytest.raises(MlflowException, match="FAILED_REGISTRATION") as rejected:
        client.create_model_version("scorer", f"s3://{BUCKET}/2/bad/artifacts/model")
    assert "model.pkl is rejected" in rejected.value.message
    assert status_of(client, "scorer", "2").status == "FAILED_REGISTRATION"

    for number, source in (("3", f"s3://elsewhere/{RUN}"), ("4", "https://files.example.org/model")):
        opaque = client.create_model_version("scorer", source)
        assert opaque.version == number and opaque.status == "READY" and not opaque.status_message
        version = ModelVersion.objects.get(model__name="scorer", version=int(number))
        assert version.import_status == "" and not version.artifacts.exists(), "never fetched"
    page = signed_in(owner).get("/models/scorer/versions/4/").content.decode()
    assert "A reference only: Arbiter never fetched these bytes." in page
    failed = signed_in(owner).get("/models/scorer/versions/1/").content.decode()
    assert "Import of its files: failed. There are no files under" in failed

    settings.ARTIFACT_MAX_BYTES = 10
    with pytest.raises(MlflowException, match="FAILED_REGISTRATION") as too_big:
        client.create_model_version("scorer", f"s3://{BUCKET}/{RUN}")
    assert "over the maximum artifact size of 10 bytes (ARTIFACT_MAX_BYTES)" in too_big.value.message
    assert not ModelVersion.objects.get(model__name="scorer", version=5).artifacts.exists()
