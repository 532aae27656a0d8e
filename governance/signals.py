"""Sign-ins, sign-outs and failed sign-ins, recorded in the audit trail through Django's auth signals.

The one place audit events come from signals: authentication happens inside Django (and django-axes, which
listens to the same `user_login_failed` signal to count failures), not inside one of our services. Each
receiver calls a service that writes exactly one event. A failed sign-in is recorded by the system actor
with the attempted username; Django hands receivers credentials with the password already masked, and
only the username is kept.
"""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed


def _logged_in(sender, request, user, **kwargs) -> None:
    from governance import services

    services.auth_login_record(user=user, request=request)


def _logged_out(sender, request, user, **kwargs) -> None:
    from governance import services

    services.auth_logout_record(user=user, request=request)


def _login_failed(sender, credentials, request=None, **kwargs) -> None:
    from governance import services

    services.auth_login_failed_record(username=credentials.get("username", ""))


def connect() -> None:
    user_logged_in.connect(_logged_in, dispatch_uid="governance.audit.login")
    user_logged_out.connect(_logged_out, dispatch_uid="governance.audit.logout")
    user_login_failed.connect(_login_failed, dispatch_uid="governance.audit.login_failed")
