"""Template helpers: the colours of status badges."""

import re

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeData, mark_safe

from registry.choices import ArtifactStatus, RiskTier, Stage

register = template.Library()

# "(/governance/models/x/assessments/)": a page of this site, cited in a service's plain-text message.
_CITED_PATH = re.compile(r"\((/(?!/)[^\s()<>\"']*)\)")

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


@register.filter
def link_paths(text) -> str:
    """A plain-text message (a flash, a gate problem) whose cited pages, "(/path/)", become links; the rest
    is escaped. Service messages stay plain text for the API; only their HTML rendering links."""
    if isinstance(text, SafeData):
        return text
    text = str(text)
    parts, last = [], 0
    for match in _CITED_PATH.finditer(text):
        parts.append(escape(text[last : match.start()]))
        parts.append(format_html('(<a href="{}" class="alert-link">open</a>)', match.group(1)))
        last = match.end()
    parts.append(escape(text[last:]))
    return mark_safe("".join(parts))  # every part is escaped or built by format_html
