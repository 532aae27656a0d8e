"""Model names as MLflow accepts them (up to 256 characters, spaces included) and `name_key`, the normalised
name uniqueness is checked on (look-alikes such as `credit_scoring` and `Credit-Scoring` are one name).

Existing look-alikes keep working: the oldest keeps the plain key, each later one gets `#<id>` appended, so
no one can register a new look-alike of any of them."""

from django.db import migrations, models

import registry.models


def fill_name_keys(apps, schema_editor):
    RegisteredModel = apps.get_model("registry", "RegisteredModel")
    seen = set()
    for model in RegisteredModel.objects.order_by("id").only("id", "name").iterator():
        key = registry.models.model_name_key(model.name)
        if key in seen:
            key = f"{key}#{model.id}"
        seen.add(key)
        RegisteredModel.objects.filter(pk=model.pk).update(name_key=key)


# PostgreSQL cannot change the type of a column its search trigger (migration 0002) names: set it aside meanwhile.
DROP_TRIGGER = "DROP TRIGGER registry_model_search_vector ON registry_registeredmodel;"
CREATE_TRIGGER = """
    CREATE TRIGGER registry_model_search_vector
      BEFORE INSERT OR UPDATE OF name, title, description, tags ON registry_registeredmodel
      FOR EACH ROW EXECUTE FUNCTION registry_model_search_vector();
"""


def on_postgres(statement):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(statement, params=None)

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0007_gate_source_import"),
    ]

    operations = [
        migrations.AddField(
            model_name="registeredmodel",
            name="name_key",
            field=models.CharField(editable=False, max_length=1024, null=True),
        ),
        migrations.RunPython(fill_name_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="registeredmodel",
            name="name_key",
            field=models.CharField(editable=False, max_length=1024, unique=True),
        ),
        migrations.RemoveConstraint(
            model_name="registeredmodel",
            name="model_name_unique_ignoring_case",
        ),
        migrations.RunPython(on_postgres(DROP_TRIGGER), on_postgres(CREATE_TRIGGER)),
        migrations.AlterField(
            model_name="registeredmodel",
            name="name",
            field=models.CharField(max_length=256, unique=True, validators=[registry.models.model_name_validator]),
        ),
        migrations.RunPython(on_postgres(CREATE_TRIGGER), on_postgres(DROP_TRIGGER)),
    ]
