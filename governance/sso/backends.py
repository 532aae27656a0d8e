"""Password sign-in, switched off by PASSWORD_LOGIN=0 for everyone but break-glass accounts."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.backends import ModelBackend

from governance.sso import services
from governance.sso.models import BreakGlassAccount


class PasswordBackend(ModelBackend):
    """Django's username and password backend (our sign-in page and the admin's). With PASSWORD_LOGIN off,
    only a break-glass account's password is accepted, and each such sign-in is flagged in the audit trail."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None or settings.PASSWORD_LOGIN:
            return user
        if not BreakGlassAccount.objects.filter(user=user).exists():
            return None
        services.break_glass_sign_in_record(user=user)
        return user
