"""What every page's navigation bar needs: the sections this user may open, and their roles."""

from django.urls import reverse

from registry import permissions


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    match = getattr(request, "resolver_match", None)
    namespace = match.namespace if match else ""
    url_name = match.url_name if match else ""
    items = []
    if permissions.can_read_audit_trail(user):
        items.append({"label": "Audit trail", "url": reverse("governance:audit-log"), "section": "audit"})
    if permissions.is_administrator(user) or permissions.has_role(user, permissions.Role.AUDITOR):
        items.append({"label": "Teams", "url": reverse("registry:teams"), "section": "teams"})
        items.append(
            {"label": "Service accounts", "url": reverse("registry:service-accounts"), "section": "service-accounts"}
        )
    section = "audit" if url_name == "audit-log" else ("catalog" if namespace == "registry" else namespace)
    if url_name.startswith(("team", "service-account")):
        section = "teams" if url_name.startswith("team") else "service-accounts"
    return {"nav_items": items, "nav_roles": sorted(permissions.roles(user)), "nav_section": section}
