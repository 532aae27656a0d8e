"""Approvals bind the governed facts reviewers judged; production policies require files.

Existing requests are bound to the facts as they are now (their reviewers saw no others that Arbiter kept),
so approvals granted before this migration stay usable until something changes. Every production policy
row gets `require_files`: an approval can no longer bind an empty set of files."""

import hashlib
import json

from django.db import migrations, models

VERSION_FIELDS = (
    "source",
    "run_id",
    "run_link",
    "hyperparameters",
    "training_data",
    "framework",
    "framework_version",
    "library_versions",
)
MODEL_FIELDS = ("intended_use", "limitations", "out_of_scope_uses")


def bind_existing_requests(apps, schema_editor):
    """The same facts and canonical digest as governance.gate.governed_facts / facts_digest (frozen here)."""
    ApprovalRequest = apps.get_model("governance", "ApprovalRequest")
    for request in ApprovalRequest.objects.select_related("version__model").iterator():
        version = request.version
        facts = {name: getattr(version, name) for name in VERSION_FIELDS}
        facts["metrics"] = sorted(
            ({"name": m.name, "value": m.value, "dataset": m.dataset, "split": m.split} for m in version.metrics.all()),
            key=lambda m: (m["name"], m["dataset"], m["split"]),
        )
        facts.update({name: getattr(version.model, name) for name in MODEL_FIELDS})
        canonical = json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        ApprovalRequest.objects.filter(pk=request.pk).update(
            facts=facts, facts_digest=hashlib.sha256(canonical.encode()).hexdigest()
        )


def production_requires_files(apps, schema_editor):
    apps.get_model("governance", "ApprovalPolicy").objects.filter(target_stage="production").update(
        require_files=True
    )


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0008_audit_verification"),
        ("registry", "0007_gate_source_import"),
    ]

    operations = [
        migrations.AddField(
            model_name="approvalpolicy",
            name="require_files",
            field=models.BooleanField(default=False, help_text="At least one file held (and validated) by Arbiter."),
        ),
        migrations.AddField(
            model_name="approvalrequest",
            name="facts",
            field=models.JSONField(blank=True, default=dict, help_text="The governed metadata as submitted."),
        ),
        migrations.AddField(
            model_name="approvalrequest",
            name="facts_digest",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.RunPython(bind_existing_requests, migrations.RunPython.noop),
        migrations.RunPython(production_requires_files, migrations.RunPython.noop),
    ]
