"""Approval emails: committee members on a new request, the submitter on a decision and on expiry; every
email links to the request with the site's full address."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance import services
from governance.models import ApprovalRequest, Notification
from registry.choices import Stage

pytestmark = pytest.mark.usefixtures("committees")


def submit(owner, version):
    return services.approval_request_submit(
        actor=owner, version=version, target_stage=Stage.PRODUCTION, justification="Validated on holdout."
    )


def test_members_are_emailed_a_full_link_to_the_new_request(
    owner, staged, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://arbiter.example.org"
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(owner, staged)
    asked = [mail for mail in mailoutbox if "Review requested" in mail.subject]
    recipients = {address for mail in asked for address in mail.to}
    assert recipients == {"rev1@example.org", "rev2@example.org", "rev3@example.org", "risk@example.org"}
    assert f"https://arbiter.example.org{request.get_absolute_url()}" in asked[0].body


def test_the_submitter_is_emailed_the_decision(
    owner, staged, reviewers, risk_officer, committees, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://arbiter.example.org"
    request = submit(owner, staged)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.vote_cast(
            actor=risk_officer,
            request=request,
            committee=committees["rnc"],
            decision="reject",
            comment="Bias audit missing.",
        )
    decided = [mail for mail in mailoutbox if "was rejected" in mail.subject]
    assert [mail.to for mail in decided] == [[owner.email]]
    assert f"https://arbiter.example.org{request.get_absolute_url()}" in decided[0].body


def test_the_submitter_hears_when_an_approval_expires_unused(
    owner, staged, reviewers, risk_officer, committees, mailoutbox, django_capture_on_commit_callbacks
):
    request = submit(owner, staged)
    for voter, committee in ((reviewers[0], "mrc"), (reviewers[1], "mrc"), (risk_officer, "rnc")):
        services.vote_cast(actor=voter, request=request, committee=committees[committee], decision="approve")
    ApprovalRequest.objects.filter(pk=request.pk).update(valid_until=timezone.now() - timedelta(seconds=1))
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.approvals_expire() == 1
    assert Notification.objects.filter(user=owner, message__contains="expired unused").count() == 1
    assert [mail.to for mail in mailoutbox if "expired" in mail.subject] == [[owner.email]]
