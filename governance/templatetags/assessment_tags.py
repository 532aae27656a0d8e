"""Template helpers for risk assessments: status and rating badges, and the re-review flags shown in the
catalog and on model pages (one query for a whole page of models)."""

from django import template

from governance import selectors
from governance.choices import AssessmentStatus, RiskBand, risk_band

register = template.Library()

STATUS_CLASSES = {
    AssessmentStatus.DRAFT: "text-bg-secondary",
    AssessmentStatus.SUBMITTED: "text-bg-primary",
    AssessmentStatus.RETURNED: "text-bg-warning",
    AssessmentStatus.APPROVED: "text-bg-success",
    AssessmentStatus.SUPERSEDED: "text-bg-light border",
    AssessmentStatus.EXPIRED: "text-bg-danger",
}
BAND_CLASSES = {
    RiskBand.LOW: "band-low",
    RiskBand.MEDIUM: "band-medium",
    RiskBand.HIGH: "band-high",
    RiskBand.CRITICAL: "band-critical",
}


@register.inclusion_tag("governance/_status_badge.html")
def assessment_status(status):
    label = AssessmentStatus(status).label if status in AssessmentStatus.values else status
    return {"label": label, "css": STATUS_CLASSES.get(status, "text-bg-light border"), "status": status}


@register.inclusion_tag("governance/_rating_badge.html")
def risk_rating(rating):
    band = risk_band(rating)
    return {
        "rating": rating,
        "band": band,
        "label": RiskBand(band).label if band else "",
        "css": BAND_CLASSES.get(band),
    }


@register.simple_tag
def review_flags(models):
    """{model id: {"state": "overdue" | "due_soon", "valid_until": date}} for a page of models."""
    return selectors.review_flags([m.pk for m in models])


@register.inclusion_tag("governance/_review_badge.html")
def review_badge(flags, model):
    return {"flag": flags.get(model.pk), "model": model}


@register.inclusion_tag("governance/_review_badge.html", takes_context=True)
def model_review_badge(context, model):
    """The model page's re-review badge. A view that already looked the flag up passes it as `review_flag`."""
    if "review_flag" in context:
        return {"flag": context["review_flag"], "model": model}
    return {"flag": selectors.review_flags([model.pk]).get(model.pk), "model": model}


@register.filter
def band_class(rating):
    return BAND_CLASSES.get(risk_band(rating), "")


def _value_text(value) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, list):
        return ", ".join(_value_text(v) for v in value)
    return str(value)


@register.filter
def condition_text(cond) -> str:
    """A condition as a person reads it: `annex3_applies is yes and (a or b)`."""
    if not cond:
        return ""
    if "all" in cond or "any" in cond:
        joiner = " and " if "all" in cond else " or "
        parts = [condition_text(c) for c in cond.get("all") or cond.get("any")]
        return "(" + joiner.join(parts) + ")" if len(parts) > 1 else parts[0]
    if "not" in cond:
        return f"not {condition_text(cond['not'])}"
    question = cond["question"]
    for op, words in (
        ("equals", "is"),
        ("not_equals", "is not"),
        ("in", "is one of"),
        ("includes", "includes"),
        ("includes_any", "includes any of"),
        ("gte", "≥"),
        ("lte", "≤"),
    ):
        if op in cond:
            return f"{question} {words} {_value_text(cond[op])}"
    return f"{question} {'is answered' if cond.get('answered') else 'is not answered'}"


@register.filter
def weights_text(weights) -> str:
    return ", ".join(f"{answer}: {weight:g}" for answer, weight in (weights or {}).items())
