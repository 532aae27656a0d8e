"""Matrix rows for artifacts: the version page's file table, uploads, downloads, deletion (browser and API)."""

from django.core.files.uploadedfile import SimpleUploadedFile

from registry import services
from registry.permissions import Action
from tests.artifact_files import safetensors_bytes
from tests.permission_matrix import Endpoint


def existing_artifact(ctx: dict, visibility: str, user) -> dict:
    """A validated file on version 1 of the model under test."""
    model = ctx["models"][visibility]
    version = model.versions.get(version=1)
    artifact = version.artifacts.filter(filename="a.safetensors").first()
    if artifact is None:
        upload = SimpleUploadedFile("a.safetensors", safetensors_bytes())
        artifact = services.artifact_upload(
            actor=model.owner, version=version, uploaded_file=upload, filename="a.safetensors", kind="weights"
        )
        services.artifact_validate(artifact_id=artifact.pk)
    return {"artifact_id": artifact.pk}


def new_file(ctx: dict) -> dict:
    return {"file": SimpleUploadedFile("new.safetensors", safetensors_bytes()), "kind": "weights"}


ROWS = [
    Endpoint("registry:version-artifacts"),
    Endpoint("registry:artifact-upload", "post", Action.UPLOAD, ok=302, data=new_file),
    Endpoint("registry:artifact-download", url_kwargs=existing_artifact),
    Endpoint("registry:artifact-delete", "post", Action.UPLOAD, ok=302, url_kwargs=existing_artifact),
    Endpoint("api:artifact-list", api=True),
    Endpoint("api:artifact-list", "post", Action.UPLOAD, api=True, ok=202, data=new_file, content="multipart"),
    Endpoint(
        "api:artifact-put",
        "put",
        Action.UPLOAD,
        api=True,
        ok=202,
        content="raw",
        data=lambda ctx: safetensors_bytes(),
        url_kwargs=lambda ctx, visibility, user: {"filename": "raw.safetensors"},
    ),
    Endpoint("api:artifact-detail", api=True, url_kwargs=existing_artifact),
    Endpoint("api:artifact-detail", "delete", Action.UPLOAD, api=True, ok=204, url_kwargs=existing_artifact),
    Endpoint("api:artifact-download", api=True, url_kwargs=existing_artifact),
]
