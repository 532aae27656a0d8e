"""The default committees and approval policies (see governance/defaults.py)."""

from django.db import migrations

from governance.defaults import COMMITTEES, ensure_defaults


def seed(apps, schema_editor):
    ensure_defaults(
        group_model=apps.get_model("auth", "Group"),
        committee_model=apps.get_model("governance", "Committee"),
        policy_model=apps.get_model("governance", "ApprovalPolicy"),
    )


def unseed(apps, schema_editor):
    apps.get_model("governance", "ApprovalPolicy").objects.all().delete()
    apps.get_model("governance", "Committee").objects.filter(slug__in=[c[1] for c in COMMITTEES]).delete()


class Migration(migrations.Migration):
    dependencies = [("governance", "0003_approvals"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(seed, unseed)]
