"""Browser forms. They parse and present; the services decide. Service errors land next to their fields."""

from __future__ import annotations

import json
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off, get_failure_limit
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm

from registry import permissions
from registry.choices import ArtifactKind, Framework, Stage, TaskType, TokenScope, Visibility
from registry.exceptions import DomainError
from registry.models import MODEL_NAME_MAX_LENGTH, RegisteredModel, Team, model_name_validator

User = get_user_model()


class BootstrapFormMixin:
    """Bootstrap classes on every widget, and `aria-describedby` wiring for help text."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple | forms.RadioSelect):
                css = "form-check-input"
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()
            if field.help_text:
                widget.attrs["aria-describedby"] = f"id_{name}_help"

    def add_error(self, field, error):
        super().add_error(field, error)
        names = [field] if field else []
        if isinstance(error, forms.ValidationError) and hasattr(error, "error_dict"):
            names = list(error.error_dict)
        for name in names:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                if "is-invalid" not in attrs.get("class", ""):
                    attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()
                attrs["aria-invalid"] = "true"
                described = attrs.get("aria-describedby", "")
                if f"id_{name}_error" not in described:
                    attrs["aria-describedby"] = f"{described} id_{name}_error".strip()

    def apply_error(self, exc: DomainError) -> None:
        """Show a service error: field errors next to their fields, the rest at the top of the form."""
        placed = False
        for field, messages in exc.fields.items():
            target = field if field in self.fields else None
            for message in messages:
                self.add_error(target, message)
                placed = True
        if not placed or not exc.fields:
            self.add_error(None, exc.message)


class KeyValueField(forms.CharField):
    """`key=value` per line, to and from a flat dict."""

    widget = forms.Textarea(attrs={"rows": 3, "spellcheck": "false"})

    def prepare_value(self, value):
        if isinstance(value, dict):
            return "\n".join(f"{k}={v}" for k, v in value.items())
        return value

    def to_python(self, value) -> dict[str, str]:
        if isinstance(value, dict):  # a disabled field hands back its initial value
            return value
        value = super().to_python(value)
        result = {}
        for number, line in enumerate((value or "").splitlines(), start=1):
            line = line.strip()
            if not line:
                continue
            if "=" not in line:
                raise forms.ValidationError(f"Line {number}: write key=value.")
            key, _, val = line.partition("=")
            if not key.strip():
                raise forms.ValidationError(f"Line {number}: the key is empty.")
            result[key.strip()] = val.strip()
        return result


class JSONObjectField(forms.JSONField):
    widget = forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "font-monospace"})

    def to_python(self, value):
        value = super().to_python(value)
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise forms.ValidationError('Enter a JSON object, e.g. {"learning_rate": 0.01}.')
        return value

    def prepare_value(self, value):
        if isinstance(value, dict):
            return json.dumps(value, indent=2) if value else ""
        return super().prepare_value(value)


class LinesField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 3, "spellcheck": "false"})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value) -> list[str]:
        if isinstance(value, list):
            return value
        return [line.strip() for line in (super().to_python(value) or "").splitlines() if line.strip()]


class MetricsField(forms.CharField):
    """One metric per line: `name, value[, dataset[, split]]`."""

    widget = forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "font-monospace"})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(
                ", ".join(str(p) for p in (m["name"], m["value"], m.get("dataset", ""), m.get("split", "")) if p != "")
                for m in value
            )
        return value

    def to_python(self, value) -> list[dict[str, Any]]:
        if isinstance(value, list):
            return value
        rows = []
        for number, line in enumerate((super().to_python(value) or "").splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split(",")]
            if len(parts) < 2 or len(parts) > 4 or not parts[0]:
                raise forms.ValidationError(f"Line {number}: write name, value[, dataset[, split]].")
            try:
                number_value = float(parts[1])
            except ValueError:
                raise forms.ValidationError(f"Line {number}: '{parts[1]}' is not a number.") from None
            rows.append(
                {
                    "name": parts[0],
                    "value": number_value,
                    "dataset": parts[2] if len(parts) > 2 else "",
                    "split": parts[3] if len(parts) > 3 else "",
                }
            )
        return rows


def _team_choices(user):
    if permissions.is_administrator(user):
        return Team.objects.all()
    return Team.objects.filter(group__user=user)


class ModelForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(
        max_length=MODEL_NAME_MAX_LENGTH,
        validators=[model_name_validator],
        help_text="A unique identifier, e.g. credit-scoring; no '/' or ':'. Case, '-', '_', '.' and spaces do not "
        "tell names apart.",
    )
    title = forms.CharField(max_length=200, help_text="A human-readable name shown in the catalog.")
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 6}), help_text="Markdown. What the model does and how."
    )
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, help_text="The team that owns it.")
    task_type = forms.ChoiceField(choices=TaskType.choices, initial=TaskType.CLASSIFICATION)
    framework = forms.ChoiceField(choices=Framework.choices, initial=Framework.PYTORCH)
    visibility = forms.ChoiceField(
        choices=Visibility.choices,
        initial=Visibility.INTERNAL,
        widget=forms.RadioSelect,
        help_text="Restricted models are visible only to people and teams granted access.",
    )
    intended_use = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    out_of_scope_uses = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    limitations = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    tags = KeyValueField(required=False, help_text="One key=value per line.")

    def __init__(self, *args, user, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = _team_choices(user)
        if editing:
            del self.fields["name"]


class VersionForm(BootstrapFormMixin, forms.Form):
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    source = forms.CharField(
        required=False, max_length=1000, help_text="URI of the training run or the code commit that produced it."
    )
    run_id = forms.CharField(required=False, max_length=100, label="Run ID")
    framework = forms.ChoiceField(choices=[("", "—"), *Framework.choices], required=False)
    framework_version = forms.CharField(required=False, max_length=50)
    library_versions = KeyValueField(required=False, help_text="One package=version per line.")
    hyperparameters = JSONObjectField(required=False, help_text='A JSON object, e.g. {"max_depth": 6}.')
    training_data = LinesField(required=False, label="Training data", help_text="One dataset URI per line.")
    metrics = MetricsField(required=False, help_text="One per line: name, value[, dataset[, split]].")
    tags = KeyValueField(required=False, help_text="One key=value per line.")


class ArtifactUploadForm(BootstrapFormMixin, forms.Form):
    file = forms.FileField(help_text="Weights, configuration, tokenizer, code or documentation.")
    kind = forms.ChoiceField(choices=ArtifactKind.choices, initial=ArtifactKind.WEIGHTS)
    sha256 = forms.CharField(
        required=False,
        label="Expected SHA-256 (optional)",
        max_length=64,
        help_text="If given, a file whose digest differs is rejected.",
    )


class TransitionForm(BootstrapFormMixin, forms.Form):
    stage = forms.ChoiceField(choices=Stage.choices)
    justification = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)


class TokenForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. 'training pipeline'.")
    scopes = forms.MultipleChoiceField(
        choices=TokenScope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[TokenScope.READ],
        help_text="read: fetch; write: register and upload; admin: manage access; vote: cast approval votes.",
    )
    expires_days = forms.IntegerField(min_value=0, max_value=3650, initial=90, label="Expires after (days)")
    model = forms.CharField(
        required=False,
        max_length=100,
        label="Restrict to model",
        help_text="Optional: the name of the one model this token may reach.",
    )

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = owner
        self.fields["expires_days"].help_text = (
            f"At most {settings.API_TOKEN_MAX_DAYS} days unless you administer Arbiter; "
            "0 (never) only for service accounts."
        )

    def clean_model(self):
        name = (self.cleaned_data.get("model") or "").strip()
        if not name:
            return None
        # The owner's view of the catalog decides: a model they cannot see reads as missing.
        model = permissions.restrict(RegisteredModel.objects.all(), self.owner).filter(name=name).first()
        if model is None:
            raise forms.ValidationError("No such model, or the token's owner cannot see it.")
        return model


class GrantForm(BootstrapFormMixin, forms.Form):
    grantee_type = forms.ChoiceField(choices=[("user", "User"), ("team", "Team")], label="Grant to")
    username = forms.CharField(required=False, label="Username")
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False)
    actions = forms.MultipleChoiceField(
        choices=[(a.value, permissions.ACTION_VERBS[a].capitalize()) for a in permissions.GRANTABLE_ACTIONS],
        widget=forms.CheckboxSelectMultiple,
        initial=[permissions.Action.VIEW.value],
        label="Permissions",
    )

    def clean(self):
        data = super().clean()
        if data.get("grantee_type") == "user":
            username = (data.get("username") or "").strip()
            user = User.objects.filter(username=username, is_active=True).first() if username else None
            if user is None:
                self.add_error("username", "No active user with this username.")
            data["grantee"] = user
        else:
            team = data.get("team")
            if team is None:
                self.add_error("team", "Choose a team.")
            data["grantee"] = team.group if team else None
        return data


class SignInForm(AuthenticationForm):
    """Django's sign-in form, refusing service accounts: they are machine identities that use API tokens,
    and must not get a browser session even if someone gives them a password."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "service_account": "This is a service account for pipelines: it cannot sign in here. "
        "Use one of its API tokens (Authorization: Bearer ...) instead.",
    }

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if permissions.is_service_account(user):
            raise forms.ValidationError(self.error_messages["service_account"], code="service_account")

    def get_invalid_login_error(self):
        """The usual "enter a correct username and password", and how many more failures from this address
        django-axes allows before it locks the account here (the failure just made is already counted)."""
        error = super().get_invalid_login_error()
        if self.request is None or not settings.AXES_ENABLED:
            return error
        username = self.cleaned_data.get("username") or ""
        credentials = {"username": username}
        remaining = get_failure_limit(self.request, credentials) - AxesProxyHandler.get_failures(
            self.request, credentials
        )
        if remaining <= 0:
            return error  # locked: axes answers with its lockout page
        minutes = int(get_cool_off(self.request).total_seconds() // 60)
        attempts = "1 more failed attempt" if remaining == 1 else f"{remaining} more failed attempts"
        warning = forms.ValidationError(
            f"{attempts} from this address will lock {username!r} out of signing in here for {minutes} minutes.",
            code="lockout_warning",
        )
        return forms.ValidationError([error, warning])


def _role_choices():
    return [(role.value, role.value) for role in permissions.Role]


class ServiceAccountForm(BootstrapFormMixin, forms.Form):
    username = forms.CharField(max_length=150, help_text="e.g. ci-training. Letters, digits and @ . + - _ only.")
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="Which pipeline uses it, who to ask."
    )
    roles = forms.MultipleChoiceField(
        choices=_role_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Pipelines that register models need Model Owner.",
    )
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The account reaches what its teams are granted.",
    )


class TeamForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class TeamMemberForm(BootstrapFormMixin, forms.Form):
    username = forms.CharField(max_length=150, label="Add a member (username)")

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError("No active user with this username.")
        return user
