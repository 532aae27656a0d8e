"""The six roles, as Django groups with their global permissions. Per-model rights come from grants."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_PERMISSIONS = {
    "Administrator": ["registry.*", "governance.*"],
    "Model Owner": ["registry.add_registeredmodel"],
    "Reviewer": [],
    "Risk Officer": ["registry.view_registeredmodel"],
    "Auditor": ["registry.view_registeredmodel", "governance.view_auditevent"],
    "Viewer": [],
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; the roles need them now.
    for label in ("registry", "governance"):
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for spec in perms:
            app_label, codename = spec.split(".")
            found = Permission.objects.filter(content_type__app_label=app_label)
            if codename != "*":
                found = found.filter(codename=codename)
            group.permissions.add(*found)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0002_postgres_search"),
        ("governance", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_roles, remove_roles)]
