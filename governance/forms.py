"""Governance forms. They parse and present; the services decide."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from governance.models import ApprovalPolicy, Committee
from governance.quorum import QuorumRule
from registry.choices import Stage
from registry.forms import BootstrapFormMixin

User = get_user_model()


class SubmitForm(BootstrapFormMixin, forms.Form):
    target_stage = forms.ChoiceField(
        choices=[(Stage.PRODUCTION.value, "Production"), (Stage.STAGING.value, "Staging")], label="Approve for"
    )
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text="Why this version should move: what changed, how it was validated, what reviewers should check.",
    )


class VoteForm(BootstrapFormMixin, forms.Form):
    committee = forms.ModelChoiceField(queryset=Committee.objects.none(), widget=forms.HiddenInput)
    decision = forms.ChoiceField(
        choices=[("approve", "Approve"), ("request_changes", "Request changes"), ("reject", "Reject")],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text="Required to reject or to request changes.",
    )
    accept_flagged = forms.BooleanField(
        required=False, label="I reviewed the files flagged for review and accept them for this use."
    )

    def __init__(self, *args, committees=(), flagged=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["committee"].queryset = Committee.objects.filter(pk__in=[c.pk for c in committees])
        if not flagged:
            del self.fields["accept_flagged"]


class CommitteeForm(BootstrapFormMixin, forms.ModelForm):
    quorum_rule = forms.ChoiceField(
        choices=[
            (QuorumRule.COUNT.value, "At least N approvals"),
            (QuorumRule.FRACTION.value, "A share of members"),
            (QuorumRule.UNANIMOUS.value, "Unanimity"),
        ]
    )

    class Meta:
        model = Committee
        fields = ["name", "purpose", "quorum_rule", "min_approvals", "approval_fraction", "veto_on_reject"]
        widgets = {"purpose": forms.Textarea(attrs={"rows": 2})}
        labels = {"min_approvals": "Approvals needed (for 'at least N')", "approval_fraction": "Share (for 'share')"}


class MemberForm(BootstrapFormMixin, forms.Form):
    username = forms.CharField()
    role = forms.ChoiceField(choices=[("member", "Member"), ("chair", "Chair")])

    def clean_username(self):
        user = User.objects.filter(username=self.cleaned_data["username"].strip(), is_active=True).first()
        if user is None:
            raise forms.ValidationError("No active user with this username.")
        return user


class PolicyForm(BootstrapFormMixin, forms.ModelForm):
    committees = forms.ModelMultipleChoiceField(
        queryset=Committee.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ApprovalPolicy
        fields = ["allowed", "committees", "require_metadata", "require_assessment", "note"]


class BreakGlassForm(BootstrapFormMixin, forms.Form):
    stage = forms.ChoiceField(choices=Stage.choices, label="Force to stage")
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Written justification (incident number, who authorised it). Recorded and flagged.",
    )
