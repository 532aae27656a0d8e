"""The sign-in page (provider button, password form), sign-out (of the provider too) and the
administrators' Sign-in page: group mapping, linked identities, break-glass accounts."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from governance.sso import provider, services
from governance.sso.forms import BreakGlassForm, GroupMappingForm, IdentityLinkForm, PasswordSignInForm
from governance.sso.models import BreakGlassAccount, GroupMapping, Identity
from registry import permissions
from registry.exceptions import DomainError


class SignInView(auth_views.LoginView):
    """Django's sign-in view with the provider's button; with PASSWORD_LOGIN off the password form is shown
    only at `?break-glass` (and accepted only from break-glass accounts)."""

    authentication_form = PasswordSignInForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["sso"] = {
            "enabled": provider.enabled(),
            "provider": settings.OIDC_PROVIDER_NAME,
            "password_form": settings.PASSWORD_LOGIN
            or "break-glass" in self.request.GET
            or self.request.method == "POST",
            "password_login": settings.PASSWORD_LOGIN,
        }
        return context


class SignOutView(auth_views.LogoutView):
    """Ends the Arbiter session, then the provider's when it offers an end_session_endpoint."""

    def post(self, request, *args, **kwargs):
        id_token = request.session.get("oidc_id_token")
        response = super().post(request, *args, **kwargs)
        provider_url = provider.provider_logout_url(request, id_token)
        return HttpResponseRedirect(provider_url) if provider_url else response


def _can_read(user) -> bool:
    return permissions.is_administrator(user) or permissions.has_role(user, permissions.Role.AUDITOR)


@require_http_methods(["GET", "POST"])
def settings_page(request):
    """Administrators manage the group mapping, linked identities and break-glass accounts; auditors read."""
    if not _can_read(request.user):
        raise PermissionDenied("Administrators manage single sign-on; auditors read it.")
    is_admin = permissions.is_administrator(request.user)
    forms = {"mapping": GroupMappingForm, "link": IdentityLinkForm, "break_glass": BreakGlassForm}
    bound = {name: form(prefix=name) for name, form in forms.items()} if is_admin else {}
    if request.method == "POST":
        if not is_admin:
            raise PermissionDenied("Only administrators manage single sign-on.")
        which = request.POST.get("form")
        if which not in forms:
            raise PermissionDenied("Unknown form.")
        form = bound[which] = forms[which](request.POST, prefix=which)
        if form.is_valid():
            try:
                message = _apply(which, request.user, form.cleaned_data)
            except DomainError as exc:
                form.apply_error(exc)
            else:
                messages.success(request, message)
                return redirect("sso:settings")
    context = {
        "forms": bound,
        "mappings": GroupMapping.objects.select_related("team", "committee"),
        "identities": Identity.objects.select_related("user"),
        "break_glass": BreakGlassAccount.objects.select_related("user"),
        "oidc": {
            "issuer": settings.OIDC_ISSUER,
            "client_id": settings.OIDC_RP_CLIENT_ID,
            "provider": settings.OIDC_PROVIDER_NAME,
            "groups_claim": settings.OIDC_GROUPS_CLAIM,
            "username_claim": settings.OIDC_USERNAME_CLAIM,
            "require_mapped_group": settings.OIDC_REQUIRE_MAPPED_GROUP,
            "password_login": settings.PASSWORD_LOGIN,
        },
    }
    return render(request, "sso/settings.html", context)


def _apply(which: str, actor, data: dict) -> str:
    if which == "mapping":
        mapping = services.group_mapping_create(
            actor=actor,
            group=data["group"],
            role=data["role"],
            team=data["team"],
            committee=data["committee"],
        )
        return f"Mapped {mapping}."
    if which == "link":
        services.identity_link(actor=actor, user=data["username"], subject=data["subject"])
        return f"Linked {data['username'].get_username()} to the provider account {data['subject']}."
    services.break_glass_grant(actor=actor, user=data["username"], reason=data["reason"])
    return f"{data['username'].get_username()} can sign in with a password when password sign-in is off."


@require_POST
def mapping_delete(request, pk):
    if not permissions.is_administrator(request.user):
        raise PermissionDenied("Only administrators manage single sign-on.")
    mapping = get_object_or_404(GroupMapping.objects.select_related("team", "committee"), pk=pk)
    services.group_mapping_delete(actor=request.user, mapping=mapping)
    messages.success(request, f"Removed the mapping {mapping}.")
    return redirect("sso:settings")


@require_POST
def break_glass_revoke(request, pk):
    if not permissions.is_administrator(request.user):
        raise PermissionDenied("Only administrators manage single sign-on.")
    account = get_object_or_404(BreakGlassAccount.objects.select_related("user"), pk=pk)
    services.break_glass_revoke(actor=request.user, account=account)
    messages.success(request, f"{account.user.get_username()} is no longer a break-glass account.")
    return redirect("sso:settings")
