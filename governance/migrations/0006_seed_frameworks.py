"""Seed the questionnaire templates from governance/frameworks/*.yaml (EU AI Act, NIST AI RMF, ISO/IEC 42001).

Runs the same loader as `manage.py frameworks load`, with the historical model and without audit events (the
audit trail records later loads and every edit). Reversing removes only templates no assessment uses.
"""

from django.db import migrations


def seed(apps, schema_editor):
    from governance.frameworks import load_template, template_files

    Template = apps.get_model("governance", "AssessmentTemplate")
    Assessment = apps.get_model("governance", "Assessment")
    for file in template_files():
        load_template(Template, file, is_used=lambda t: Assessment.objects.filter(template=t).exists())


def unseed(apps, schema_editor):
    Template = apps.get_model("governance", "AssessmentTemplate")
    Template.objects.exclude(source="").filter(assessments__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("governance", "0005_assessments")]
    operations = [migrations.RunPython(seed, unseed)]
