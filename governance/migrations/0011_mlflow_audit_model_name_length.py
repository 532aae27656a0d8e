from django.db import migrations, models


class Migration(migrations.Migration):
    """Audit events carry model names as long as MLflow's (256 characters)."""

    dependencies = [
        ("governance", "0010_ui_notification_done"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="model_name",
            field=models.CharField(blank=True, editable=False, max_length=256),
        ),
    ]
