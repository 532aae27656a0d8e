"""Governance entries of the navigation bar: reviews waiting for the user, unread notifications, and the
Webhooks page for those who may manage webhooks."""

from governance.selectors import requests_awaiting_vote_count, unread_notifications_count
from registry import permissions


def governance_navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_reviews_waiting": requests_awaiting_vote_count(user=user),
        "nav_unread": unread_notifications_count(user=user),
        "nav_webhooks": permissions.can_manage_webhooks(user),
    }
