"""Template helpers: the colours of status badges."""

from django import template

from registry.choices import ArtifactStatus, RiskTier, Stage

register = template.Library()

STAGE_CLASSES = {
    Stage.DEVELOPMENT: "text-bg-secondary",
    Stage.STAGING: "text-bg-info",
    Stage.PRODUCTION: "text-bg-success",
    Stage.ARCHIVED: "text-bg-dark",
}
RISK_CLASSES = {
    RiskTier.UNASSESSED: "text-bg-light border",
    RiskTier.MINIMAL: "text-bg-success",
    RiskTier.LIMITED: "text-bg-info",
    RiskTier.HIGH: "text-bg-warning",
    RiskTier.PROHIBITED: "text-bg-danger",
}


ARTIFACT_CLASSES = {
    ArtifactStatus.PENDING: ("text-bg-secondary", "hourglass-split"),
    ArtifactStatus.VALIDATING: ("text-bg-info", "arrow-repeat"),
    ArtifactStatus.VALID: ("text-bg-success", "check-circle-fill"),
    ArtifactStatus.NEEDS_REVIEW: ("text-bg-warning", "eye-fill"),
    ArtifactStatus.REJECTED: ("text-bg-danger", "x-octagon-fill"),
    ArtifactStatus.ERROR: ("text-bg-danger", "exclamation-triangle-fill"),
    ArtifactStatus.CORRUPTED: ("text-bg-danger", "shield-x"),
}


@register.inclusion_tag("_partials/artifact_badge.html")
def artifact_badge(status):
    css, icon = ARTIFACT_CLASSES.get(status, ("text-bg-light border", "question"))
    return {"label": ArtifactStatus(status).label, "css": css, "icon": icon, "status": status}


@register.inclusion_tag("_partials/stage_badge.html")
def stage_badge(stage):
    label = Stage(stage).label if stage in Stage.values else "No versions"
    return {"label": label, "css": STAGE_CLASSES.get(stage, "text-bg-light border"), "stage": stage}


@register.inclusion_tag("_partials/risk_badge.html")
def risk_badge(tier):
    return {"label": RiskTier(tier).label, "css": RISK_CLASSES.get(tier, "text-bg-light border"), "tier": tier}


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None
