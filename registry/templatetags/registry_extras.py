"""Template helpers: Markdown rendering and the colours of status badges."""

from django import template

from registry.choices import RiskTier, Stage
from registry.rendering import render_markdown

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


@register.filter
def markdown(text):
    return render_markdown(text)


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
