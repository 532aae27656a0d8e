"""Forms of the sign-in page (password sign-in when it is off) and the administrators' Sign-in page."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model

from governance.models import Committee
from governance.sso.models import ROLE_CHOICES
from registry.forms import BootstrapFormMixin, SignInForm
from registry.models import Team

User = get_user_model()


class PasswordSignInForm(SignInForm):
    """Our sign-in form: with PASSWORD_LOGIN off, a refused password says that passwords are off."""

    def get_invalid_login_error(self):
        if settings.PASSWORD_LOGIN:
            return super().get_invalid_login_error()
        return forms.ValidationError(
            f"Password sign-in is off: sign in with {settings.OIDC_PROVIDER_NAME}. Only break-glass administrator "
            "accounts may use a password.",
            code="password_login_off",
        )


class _UsernameField(forms.CharField):
    def clean(self, value):
        username = super().clean(value).strip()
        user = User.objects.filter(username=username).first()
        if user is None:
            raise forms.ValidationError("No user with this username.")
        return user


class GroupMappingForm(BootstrapFormMixin, forms.Form):
    group = forms.CharField(max_length=255, label="Provider group", help_text="As it appears in the groups claim.")
    role = forms.ChoiceField(choices=[("", "—"), *ROLE_CHOICES], required=False)
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False, to_field_name="slug")
    committee = forms.ModelChoiceField(queryset=Committee.objects.all(), required=False, to_field_name="slug")


class IdentityLinkForm(BootstrapFormMixin, forms.Form):
    username = _UsernameField(max_length=150, label="Local account (username)")
    subject = forms.CharField(
        max_length=255, label="Provider subject", help_text="The sub claim; a refused sign-in shows it and records it."
    )


class BreakGlassForm(BootstrapFormMixin, forms.Form):
    username = _UsernameField(max_length=150, label="Administrator (username)")
    reason = forms.CharField(max_length=300, help_text="e.g. sign-in when the identity provider is down.")
