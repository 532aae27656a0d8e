"""Descriptions keep their rendered, sanitised HTML (rendered at save, never on a page view); existing rows
are rendered here once."""

from django.db import migrations, models

from registry.rendering import rerender_descriptions


def render_existing(apps, schema_editor):
    for name in ("RegisteredModel", "ModelVersion"):
        rerender_descriptions(apps.get_model("registry", name).objects.all())


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0008_mlflow_model_name_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="modelversion",
            name="description_html",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AddField(
            model_name="registeredmodel",
            name="description_html",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.RunPython(render_existing, migrations.RunPython.noop),
    ]
