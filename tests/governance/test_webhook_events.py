"""The governance workflow, end to end through the services, produces the webhook events a CD pipeline
listens to, in order: artifacts validated, approval requested and decided, the stage change, the alias."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from governance import services, webhooks
from governance.models import WebhookDelivery
from registry import services as registry_services
from registry.choices import Stage
from tests.artifact_files import safetensors_bytes
from tests.factories import make_version

pytestmark = pytest.mark.usefixtures("committees")


def test_a_promotion_sends_every_event_of_the_workflow(
    owner, model, reviewers, risk_officer, committees, artifact_storage, settings
):
    settings.WEBHOOK_ALLOWED_HOSTS = ["203.0.113.0/24"]
    subscription = webhooks.webhook_subscription_create(
        actor=owner,
        name="CD",
        url="https://203.0.113.20/arbiter",
        event_types=[
            "version.created",
            "artifact.validated",
            "artifact.rejected",
            "approval.requested",
            "approval.decided",
            "version.stage_changed",
            "alias.changed",
        ],
        model=model,
    )
    version = make_version(owner, model, training_data=["s3://lake/credit/"])
    uploads = {}
    for name, declared in (("weights.safetensors", ""), ("bad.safetensors", "0" * 64)):  # a wrong checksum
        uploads[name] = registry_services.artifact_upload(
            actor=owner,
            version=version,
            uploaded_file=SimpleUploadedFile(name, safetensors_bytes()),
            filename=name,
            kind="weights",
            declared_sha256=declared,
        )
        registry_services.artifact_validate(artifact_id=uploads[name].pk)
    registry_services.artifact_delete(actor=owner, artifact=uploads["bad.safetensors"])
    version = services.version_transition(actor=owner, version=version, stage=Stage.STAGING)
    request = services.approval_request_submit(
        actor=owner, version=version, target_stage=Stage.PRODUCTION, justification="Validated on holdout."
    )
    services.vote_cast(actor=reviewers[0], request=request, committee=committees["mrc"], decision="approve")
    services.vote_cast(actor=reviewers[1], request=request, committee=committees["mrc"], decision="approve")
    services.vote_cast(actor=risk_officer, request=request, committee=committees["rnc"], decision="approve")
    services.version_transition(actor=owner, version=version, stage=Stage.PRODUCTION)
    services.alias_set(actor=owner, model=model, name="champion", version=version)

    deliveries = list(WebhookDelivery.objects.filter(subscription=subscription).order_by("pk"))
    events = [d.event for d in deliveries]
    assert events[:3] == ["version.created", "artifact.validated", "artifact.rejected"]
    assert events[-5:] == [
        "version.stage_changed",  # development -> staging
        "approval.requested",
        "approval.decided",
        "version.stage_changed",  # staging -> production
        "alias.changed",
    ]
    decided = deliveries[events.index("approval.decided")].payload
    assert decided["data"]["status"] == {"before": "open", "after": "approved"}
    promoted = deliveries[-2].payload
    assert promoted["data"]["stage"] == {"before": "staging", "after": "production"}
    assert promoted["data"]["authorised_by"]["approval_request"] == request.pk
    assert deliveries[-1].payload["data"]["version"] == {"before": None, "after": version.version}
