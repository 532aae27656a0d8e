"""The sign-in page's list of demo users, while Arbiter runs in development mode with the demo seeded."""

import os

from django import template
from django.conf import settings
from django.contrib.auth import get_user_model

from governance.management.commands.seed_demo import DEFAULT_PASSWORD, demo_accounts

register = template.Library()


@register.inclusion_tag("registration/_demo_accounts.html")
def demo_accounts_hint():
    """Every demo user with role, teams and committees (the same list as README's), or nothing: in production
    (DEBUG=0), or before `seed_demo` has made all of them. One query."""
    accounts = demo_accounts()
    usernames = [account["username"] for account in accounts]
    if not settings.DEVELOPMENT or get_user_model().objects.filter(username__in=usernames).count() < len(usernames):
        return {"accounts": []}
    password = None if "DEMO_PASSWORD" in os.environ else DEFAULT_PASSWORD
    return {"accounts": accounts, "password": password}
