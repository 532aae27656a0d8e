"""What the access commands share: who acts (`--actor`, or the system), and service errors as CommandError."""

from __future__ import annotations

from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import CommandError

from registry.exceptions import DomainError

User = get_user_model()


def add_actor_argument(parser) -> None:
    parser.add_argument(
        "--actor",
        metavar="USERNAME",
        help="The administrator the audit trail names as having done this (default: the system).",
    )


def resolve_user(username: str | None, *, what: str = "user"):
    if username is None:
        return None
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"No {what} named '{username}'.")
    return user


@contextmanager
def service_errors():
    """Turn a service's refusal into a one-line command error (exit status 1), field errors included."""
    try:
        yield
    except DomainError as exc:
        details = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.fields.items())
        raise CommandError(f"{exc.message}{f' ({details})' if details else ''}") from exc
    except PermissionDenied as exc:
        raise CommandError(str(exc) or "Not allowed.") from exc
