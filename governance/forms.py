"""Governance forms: approvals, committees and policies, and risk assessments (whose questionnaire forms
are built at runtime from a template's definition). They parse and present; the services decide."""

from __future__ import annotations

import datetime as dt
from typing import Any

import yaml
from django import forms
from django.contrib.auth import get_user_model

from governance import questionnaire
from governance.choices import (
    AssessmentFramework,
    CommitteeRole,
    QuestionType,
    QuorumRule,
    RiskCategory,
    RiskStatus,
    VoteDecision,
    WebhookEvent,
)
from governance.models import ApprovalPolicy, Assessment, AssessmentTemplate, Committee
from registry import permissions
from registry.choices import Stage
from registry.forms import BootstrapFormMixin
from registry.models import RegisteredModel

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
        choices=[(d.value, d.label) for d in (VoteDecision.APPROVE, VoteDecision.REQUEST_CHANGES, VoteDecision.REJECT)],
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
    quorum_rule = forms.ChoiceField(choices=QuorumRule.choices)

    class Meta:
        model = Committee
        fields = ["name", "purpose", "quorum_rule", "min_approvals", "approval_fraction", "veto_on_reject"]
        widgets = {"purpose": forms.Textarea(attrs={"rows": 2})}
        labels = {"min_approvals": "Approvals needed (for 'at least N')", "approval_fraction": "Share (for 'share')"}


class MemberForm(BootstrapFormMixin, forms.Form):
    username = forms.CharField()
    role = forms.ChoiceField(choices=[(r.value, r.label) for r in (CommitteeRole.MEMBER, CommitteeRole.CHAIR)])

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
        fields = ["allowed", "committees", "require_metadata", "require_assessment", "require_files", "note"]


class BreakGlassForm(BootstrapFormMixin, forms.Form):
    stage = forms.ChoiceField(choices=Stage.choices, label="Force to stage")
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Written justification (incident number, who authorised it). Recorded and flagged.",
    )


LIKELIHOOD_CHOICES = [
    (1, "1 · Rare"),
    (2, "2 · Unlikely"),
    (3, "3 · Possible"),
    (4, "4 · Likely"),
    (5, "5 · Almost certain"),
]
IMPACT_CHOICES = [(1, "1 · Negligible"), (2, "2 · Minor"), (3, "3 · Moderate"), (4, "4 · Major"), (5, "5 · Severe")]


def evidence_field_names(question_id: str) -> tuple[str, str, str]:
    """The names of a question's evidence inputs (file, link, title). Question ids never contain dashes."""
    return f"evidence-{question_id}-file", f"evidence-{question_id}-url", f"evidence-{question_id}-title"


def _question_field(question: dict[str, Any]) -> forms.Field | None:
    """The form field for one question, or None for evidence-only questions (they take files and links)."""
    qtype = question["type"]
    common = {"label": question["text"], "required": False, "help_text": question.get("help", "")}
    if qtype == QuestionType.YES_NO:
        return forms.TypedChoiceField(
            choices=[("yes", "Yes"), ("no", "No")],
            widget=forms.RadioSelect,
            coerce=lambda value: value == "yes",
            empty_value=None,
            **common,
        )
    if qtype == QuestionType.SINGLE_CHOICE:
        choices = [(o["value"], o["label"]) for o in question["options"]]
        widget = forms.RadioSelect if len(choices) <= 6 else forms.Select
        if widget is forms.Select:
            choices = [("", "—"), *choices]
        return forms.ChoiceField(choices=choices, widget=widget, **common)
    if qtype == QuestionType.MULTIPLE_CHOICE:
        choices = [(o["value"], o["label"]) for o in question["options"]]
        return forms.MultipleChoiceField(choices=choices, widget=forms.CheckboxSelectMultiple, **common)
    if qtype == QuestionType.SHORT_TEXT:
        attrs = {"placeholder": question["placeholder"]} if question.get("placeholder") else {}
        return forms.CharField(max_length=questionnaire.SHORT_TEXT_MAX, widget=forms.TextInput(attrs=attrs), **common)
    if qtype == QuestionType.LONG_TEXT:
        return forms.CharField(
            max_length=questionnaire.LONG_TEXT_MAX, widget=forms.Textarea(attrs={"rows": 3}), **common
        )
    if qtype == QuestionType.NUMBER:
        return forms.FloatField(min_value=question.get("min"), max_value=question.get("max"), **common)
    if qtype == QuestionType.SCALE:
        labels = question.get("scale_labels", {})
        choices = [
            (point, f"{point} · {labels[point]}" if point in labels else point) for point in questionnaire.SCALE_POINTS
        ]
        return forms.TypedChoiceField(choices=choices, widget=forms.RadioSelect, coerce=int, empty_value=None, **common)
    if qtype == QuestionType.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    return None


def _initial(question: dict[str, Any], answer: Any) -> Any:
    if answer is None:
        return None
    if question["type"] == QuestionType.YES_NO:
        return "yes" if answer else "no"
    if question["type"] == QuestionType.SCALE:
        return str(answer)
    return answer


class AssessmentStepForm(BootstrapFormMixin, forms.Form):
    """One section of a questionnaire as a form: one field per question, named by its id (see `step_form`).

    Every field is optional here: a draft can be saved at any point. Required questions are checked when
    the person moves on and, for the whole questionnaire, by the submit service.
    """

    def __init__(self, *args, section: dict[str, Any], answers: dict[str, Any], **kwargs):
        self.section = section
        self.questions = {q["id"]: q for q in section["questions"]}
        initial = {qid: _initial(q, answers.get(qid)) for qid, q in self.questions.items()}
        super().__init__(*args, initial=initial, **kwargs)
        for name, field in self.fields.items():
            if self.questions[name]["required"]:
                field.widget.attrs["aria-required"] = "true"

    def answers(self) -> dict[str, Any]:
        """The cleaned answers of this section, ready for `assessment_answer` (None clears a question)."""
        values = {}
        for qid in self.fields:
            value = self.cleaned_data.get(qid)
            if isinstance(value, dt.date):
                value = value.isoformat()
            values[qid] = None if value in ("", []) else value
        return values


def step_form(section: dict[str, Any]) -> type[AssessmentStepForm]:
    """A form class for one section, its fields built from the section's questions at runtime."""
    fields = {q["id"]: field for q in section["questions"] if (field := _question_field(q)) is not None}
    return type(f"{section['id'].title()}StepForm", (AssessmentStepForm,), fields)


class StartAssessmentForm(BootstrapFormMixin, forms.Form):
    template = forms.ModelChoiceField(
        queryset=AssessmentTemplate.objects.none(),
        empty_label=None,
        label="Questionnaire",
        help_text="The EU AI Act classification sets the model's risk tier; the checklists record practices.",
    )
    model_version = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        label="Version (optional)",
        help_text="Assess the model as a whole, or one version of it.",
    )

    def __init__(self, *args, templates, versions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = templates
        self.fields["template"].label_from_instance = lambda t: f"{t.title} (v{t.version})"
        self.fields["model_version"].choices = [("", "The model as a whole")] + [(v, f"v{v}") for v in versions]


class DecisionForm(BootstrapFormMixin, forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", "Approve"), ("return", "Return for changes")], widget=forms.RadioSelect, initial="approve"
    )
    comment = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Sign-off comment",
        help_text="Required when returning: say what needs to change.",
    )


class TemplateForm(BootstrapFormMixin, forms.Form):
    key = forms.SlugField(max_length=64, help_text="A stable identifier, e.g. model-risk-policy. Cannot change later.")
    title = forms.CharField(max_length=200)
    framework = forms.ChoiceField(choices=AssessmentFramework.choices)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    definition = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 28, "spellcheck": "false", "class": "font-monospace"}),
        help_text="YAML: sections with their questions, and the scoring rules. See docs/risk-assessments.md.",
    )

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["key"]
            del self.fields["framework"]

    def clean_definition(self) -> Any:
        text = self.cleaned_data["definition"]
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise forms.ValidationError(f"This is not valid YAML{where}: {getattr(exc, 'problem', exc)}.") from exc


def definition_as_yaml(definition: dict[str, Any]) -> str:
    return yaml.safe_dump(definition, sort_keys=False, allow_unicode=True, width=110)


class RiskForm(BootstrapFormMixin, forms.Form):
    title = forms.CharField(max_length=200, help_text="What could go wrong, in a line.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    category = forms.ChoiceField(choices=RiskCategory.choices)
    likelihood = forms.TypedChoiceField(choices=LIKELIHOOD_CHOICES, coerce=int, help_text="Before mitigation.")
    impact = forms.TypedChoiceField(choices=IMPACT_CHOICES, coerce=int, help_text="Before mitigation.")
    mitigation = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    residual_likelihood = forms.TypedChoiceField(
        choices=[("", "Not assessed"), *LIKELIHOOD_CHOICES], coerce=int, empty_value=None, required=False
    )
    residual_impact = forms.TypedChoiceField(
        choices=[("", "Not assessed"), *IMPACT_CHOICES], coerce=int, empty_value=None, required=False
    )
    owner = forms.ModelChoiceField(queryset=User.objects.none(), help_text="Who sees the mitigation through.")
    due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    status = forms.ChoiceField(choices=RiskStatus.choices, initial=RiskStatus.OPEN)
    assessment = forms.ModelChoiceField(
        queryset=Assessment.objects.none(),
        required=False,
        help_text="The assessment that raised this risk, if any.",
    )
    question_ids = forms.MultipleChoiceField(
        required=False,
        label="Questions that raised it",
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="Questions of the chosen assessment. Hold Ctrl (or Cmd) to choose several.",
    )

    def __init__(self, *args, model, assessment: Assessment | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(is_active=True, service_account__isnull=True).order_by(
            "username"
        )
        self.fields["assessment"].queryset = model.assessments.select_related("template").order_by("-created_at")
        self.fields["assessment"].label_from_instance = lambda a: (
            f"#{a.pk} {a.template.title} ({a.get_status_display()})"
        )
        chosen = assessment
        if self.is_bound and self.data.get("assessment"):
            chosen = self.fields["assessment"].queryset.filter(pk=self.data.get("assessment")).first() or chosen
        questions = questionnaire.iter_questions(chosen.template.definition) if chosen else []
        self.fields["question_ids"].choices = [
            (q.id, f"{q.get('reference') or q.id} · {q['text'][:90]}") for q in questions
        ]


class WebhookForm(BootstrapFormMixin, forms.Form):
    """Create or edit a webhook subscription. The URL's safety is checked by the service (field errors)."""

    name = forms.CharField(max_length=100, help_text="For you: what receives these events, e.g. “Deploy bot”.")
    url = forms.CharField(
        max_length=500,
        label="Payload URL",
        help_text="An https:// (or http://) address on the public internet. Internal addresses need an "
        "administrator's allowance.",
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.example.com/arbiter", "spellcheck": "false"}),
    )
    event_types = forms.MultipleChoiceField(
        choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple, label="Events"
    )
    model = forms.ModelChoiceField(
        queryset=RegisteredModel.objects.none(),
        required=False,
        empty_label="Every model I can see",
        help_text="Only events of this model.",
    )
    active = forms.BooleanField(required=False, initial=True, help_text="Inactive webhooks receive nothing.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].queryset = permissions.restrict(RegisteredModel.objects.order_by("name"), user)

    @classmethod
    def initial_for(cls, subscription) -> dict[str, Any]:
        return {
            "name": subscription.name,
            "url": subscription.url,
            "event_types": subscription.event_types,
            "model": subscription.model_id,
            "active": subscription.active,
        }
