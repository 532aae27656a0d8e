"""Emails about risk assessments: re-review due soon, and expired. Sent through Django's email backend (the
console in development) after the change that prompts them has committed."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.urls import reverse

from governance.models import Assessment
from registry.permissions import Role

User = get_user_model()


def _recipients(assessment: Assessment) -> list[str]:
    """The model's owner and every active risk officer with an email address."""
    officers = User.objects.filter(groups__name=Role.RISK_OFFICER, is_active=True).exclude(email="")
    emails = [assessment.model.owner.email, *officers.values_list("email", flat=True)]
    return sorted({email for email in emails if email})


def _send(assessment: Assessment, subject: str, lines: list[str]) -> int:
    recipients = _recipients(assessment)
    if not recipients:
        return 0
    link = settings.SITE_URL + reverse("governance:model-assessments", kwargs={"name": assessment.model.name})
    body = "\n".join([*lines, "", f"Assessments of {assessment.model.name}: {link}", "", "-- Arbiter"])
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)


def assessment_expired(assessment_id: int) -> int:
    assessment = Assessment.objects.select_related("model__owner", "template").get(pk=assessment_id)
    model = assessment.model
    return _send(
        assessment,
        f"[Arbiter] Risk assessment of {model.name} expired",
        [
            f"The {assessment.template.title} assessment of {model.name} (#{assessment.pk}) was valid until "
            f"{assessment.valid_until:%d %B %Y} and has expired.",
            f"{model.name}'s risk tier is now {model.get_risk_tier_display().lower()}. Until a new assessment is "
            "approved, the approval gate treats the model as unassessed.",
            "Start a new assessment from the model's Assessments tab.",
        ],
    )


def assessment_due_soon(assessment_id: int) -> int:
    assessment = Assessment.objects.select_related("model__owner", "template").get(pk=assessment_id)
    model = assessment.model
    return _send(
        assessment,
        f"[Arbiter] Re-review of {model.name}'s risk assessment due by {assessment.valid_until:%d %B %Y}",
        [
            f"The {assessment.template.title} assessment of {model.name} (#{assessment.pk}) is valid until "
            f"{assessment.valid_until:%d %B %Y}.",
            "Start a new assessment and have it approved before then, or the model's risk tier returns to unassessed.",
        ],
    )
