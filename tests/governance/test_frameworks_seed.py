"""The seeded questionnaires: created by the data migration, reloaded idempotently by the command."""

import io

from django.core.management import call_command

from governance.models import AssessmentTemplate


def test_data_migration_seeded_the_three_frameworks(db):
    # Regular (non-transactional) tests run first, on the database exactly as the migrations left it.
    seeded = dict(AssessmentTemplate.objects.filter(version=1).values_list("key", "source"))
    assert seeded == {
        "eu-ai-act": "governance/frameworks/eu-ai-act.yaml",
        "nist-ai-rmf": "governance/frameworks/nist-ai-rmf.yaml",
        "iso-42001": "governance/frameworks/iso-42001.yaml",
    }
    assert AssessmentTemplate.objects.get(key="eu-ai-act").classifies is True


def test_frameworks_command_loads_and_lists(frameworks):
    out = io.StringIO()
    call_command("frameworks", "load", stdout=out)
    assert out.getvalue().splitlines() == [
        "eu-ai-act: unchanged (v1)",
        "iso-42001: unchanged (v1)",
        "nist-ai-rmf: unchanged (v1)",
    ]
    out = io.StringIO()
    call_command("frameworks", "list", stdout=out)
    assert "EU AI Act risk classification" in out.getvalue()
