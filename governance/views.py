"""Governance pages."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render

from governance import selectors
from registry import selectors as registry_selectors


def audit_log(request):
    events = selectors.audit_events(user=request.user)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "governance/audit_log.html", {"page": page})


def model_history(request, name):
    model = registry_selectors.model_get(user=request.user, name=name)
    page = Paginator(selectors.model_history(user=request.user, model=model), 50).get_page(request.GET.get("page"))
    return render(request, "governance/model_history.html", {"model": model, "page": page, "tab": "history"})
