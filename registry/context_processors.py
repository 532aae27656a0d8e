"""What every page's navigation bar needs: the sections this user may open, and their roles."""

from django.urls import reverse

from registry import permissions

# Pages of the Risk section (in the governance namespace); the model's own tabs stay in the catalog.
RISK_SECTION_PAGES = {
    "assessment-review-queue",
    "risk-portfolio",
    "template-list",
    "template-detail",
    "template-create",
    "template-edit",
}

# A model's own tabs served by governance (Assessments, Risks, History): the person is still in the catalog.
MODEL_TAB_PAGES = {"model-assessments", "model-risks", "risk-create", "risk-edit", "model-history", "version-history"}


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    match = getattr(request, "resolver_match", None)
    namespace = match.namespace if match else ""
    url_name = match.url_name if match else ""
    items = []
    # Risk: the review queue for risk officers, the risk portfolio for everyone (governance:risk-portfolio).
    risk_home = "assessment-review-queue" if permissions.can_review_assessments(user) else "risk-portfolio"
    items.append({"label": "Risk", "url": reverse(f"governance:{risk_home}"), "section": "risk"})
    if permissions.can_read_audit_trail(user):
        items.append({"label": "Audit trail", "url": reverse("governance:audit-log"), "section": "audit"})
    overseer = permissions.is_overseer(user)
    if overseer or permissions.has_role(user, permissions.Role.MODEL_OWNER):  # owners see their own teams
        items.append({"label": "Teams", "url": reverse("registry:teams"), "section": "teams"})
    if overseer:
        items.append(
            {"label": "Service accounts", "url": reverse("registry:service-accounts"), "section": "service-accounts"}
        )
        items.append({"label": "Sign-in", "url": reverse("sso:settings"), "section": "sso"})
    section = "audit" if url_name == "audit-log" else ("catalog" if namespace == "registry" else namespace)
    if url_name.startswith(("team", "service-account")):
        section = "teams" if url_name.startswith("team") else "service-accounts"
    if url_name in RISK_SECTION_PAGES:
        section = "risk"
    if url_name in MODEL_TAB_PAGES:
        section = "catalog"
    return {"nav_items": items, "nav_roles": sorted(permissions.roles(user)), "nav_section": section}
