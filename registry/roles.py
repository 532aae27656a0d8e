"""The six roles and the global permissions each carries. Per-model rights come from grants instead.

Migration `registry.0003_roles` creates the groups; `sync_roles` runs after every `migrate` (and after the
test runner's flush) so the groups always carry exactly the permissions listed here, including ones that
later migrations add.
"""

from __future__ import annotations

from registry.permissions import Role

ROLE_PERMISSIONS: dict[Role, list[str]] = {
    Role.ADMINISTRATOR: ["registry.*", "governance.*"],
    Role.MODEL_OWNER: ["registry.add_registeredmodel"],
    Role.REVIEWER: [],
    Role.RISK_OFFICER: [
        "registry.view_registeredmodel",
        # Risk assessments: start and sign off assessments, maintain templates, keep risk registers.
        "governance.view_assessment",
        "governance.add_assessment",
        "governance.approve_assessment",
        "governance.view_assessmenttemplate",
        "governance.add_assessmenttemplate",
        "governance.change_assessmenttemplate",
        "governance.view_risk",
        "governance.add_risk",
        "governance.change_risk",
    ],
    Role.AUDITOR: [
        "registry.view_registeredmodel",
        "governance.view_auditevent",
        "governance.view_assessment",
        "governance.view_assessmenttemplate",
        "governance.view_risk",
    ],
    Role.VIEWER: [],
}


def sync_roles(*, group_model, permission_model) -> None:
    for role, specs in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=role.value)
        wanted = permission_model.objects.none()
        for spec in specs:
            app_label, codename = spec.split(".")
            found = permission_model.objects.filter(content_type__app_label=app_label)
            if codename != "*":
                found = found.filter(codename=codename)
            wanted = wanted | found
        group.permissions.set(wanted)


def sync_roles_after_migrate(sender, **kwargs) -> None:
    from django.contrib.auth.models import Group, Permission

    sync_roles(group_model=Group, permission_model=Permission)
