"""Filters over the audit trail, shared by the auditor page, its exports and the API, so all three answer
the same question the same way."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from governance.audit_actions import AuditAction
from governance.models import AuditEvent


class AuditEventFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label="Search")
    actor = django_filters.CharFilter(field_name="actor_label", label="Actor (username, or system)")
    action = django_filters.CharFilter(
        method="filter_action", label=f"Action (e.g. {AuditAction.VERSION_CREATED}, or version.)"
    )
    model = django_filters.CharFilter(field_name="model_name", label="Model name")
    target_type = django_filters.CharFilter(field_name="target_type", label="Target type")
    target_id = django_filters.CharFilter(field_name="target_id", label="Target id")
    since = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte", label="From (date and time)")
    until = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="lt", label="Until (date and time)")
    seq_from = django_filters.NumberFilter(field_name="seq", lookup_expr="gte", label="From event #")
    seq_to = django_filters.NumberFilter(field_name="seq", lookup_expr="lte", label="To event #")

    class Meta:
        model = AuditEvent
        fields: list[str] = []

    def filter_action(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """An exact action, or every action of a kind when the value ends with a dot (`version.`)."""
        return queryset.filter(action__startswith=value) if value.endswith(".") else queryset.filter(action=value)

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        for word in value.split()[:5]:
            queryset = queryset.filter(
                Q(action__icontains=word)
                | Q(actor_label__icontains=word)
                | Q(target_label__icontains=word)
                | Q(model_name__icontains=word)
                | Q(request_id=word)
            )
        return queryset
