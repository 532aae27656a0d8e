"""Filters shared by the catalog page and the API list, so both answer the same question the same way."""

from __future__ import annotations

import re

import django_filters
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet, TextField
from django.db.models.functions import Cast

from registry.choices import Framework, InProduction, ModelSort, RiskTier, Stage, TaskType, Visibility
from registry.models import ModelVersion, RegisteredModel
from registry.pagination import COUNT_CAP

SEARCH_TOKEN = re.compile(r"\w+", re.UNICODE)


def search_models(queryset: QuerySet, text: str) -> QuerySet:
    """Full-text search over name, title, description and tag values.

    PostgreSQL: the trigger-maintained `search_vector` (GIN index), every word matched as a prefix, and a
    `relevance` annotation for ordering. SQLite (development): case-insensitive substring matching.
    """
    words = SEARCH_TOKEN.findall(text or "")[:10]
    if not words:
        return queryset
    if connection.vendor == "postgresql":
        query = SearchQuery(" & ".join(f"{w}:*" for w in words), search_type="raw", config="english")
        return queryset.filter(search_vector=query).annotate(relevance=SearchRank(F("search_vector"), query))
    tags_text = Cast("tags", TextField())
    queryset = queryset.annotate(_tags_text=tags_text)
    for word in words:
        queryset = queryset.filter(
            Q(name__icontains=word)
            | Q(title__icontains=word)
            | Q(description__icontains=word)
            | Q(_tags_text__icontains=word)
        )
    return queryset


class ModelFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label="Search")
    risk_tier = django_filters.ChoiceFilter(choices=RiskTier.choices, label="Risk tier", empty_label="Any risk tier")
    in_production = django_filters.ChoiceFilter(
        choices=InProduction.choices, method="filter_in_production", label="Production", empty_label="Any model"
    )
    stage = django_filters.ChoiceFilter(
        choices=Stage.choices, method="filter_stage", label="A version in stage", empty_label="Any stage"
    )
    owner = django_filters.CharFilter(field_name="owner__username", label="Owner (username)")
    team = django_filters.CharFilter(field_name="team__slug", label="Team")
    framework = django_filters.ChoiceFilter(choices=Framework.choices, empty_label="Any framework")
    task_type = django_filters.ChoiceFilter(choices=TaskType.choices, label="Task", empty_label="Any task")
    visibility = django_filters.ChoiceFilter(choices=Visibility.choices, empty_label="Any visibility")
    sort = django_filters.ChoiceFilter(
        choices=ModelSort.choices, method="filter_sort", label="Sort by", empty_label="Default order"
    )

    class Meta:
        model = RegisteredModel
        fields = [
            "q",
            "risk_tier",
            "in_production",
            "stage",
            "owner",
            "team",
            "framework",
            "task_type",
            "visibility",
            "sort",
        ]

    def filter_search(self, queryset, name, value):
        return search_models(queryset, value)

    def filter_in_production(self, queryset, name, value):
        return queryset.filter(production_version__isnull=value != InProduction.YES)

    def filter_stage(self, queryset, name, value):
        # Any of the model's versions, not only the latest: a model whose v3 is in development still has v1 live.
        return queryset.filter(Exists(ModelVersion.objects.filter(model=OuterRef("pk"), stage=value)))

    def filter_sort(self, queryset, name, value):
        # Ordering is applied in `qs` so it also covers the default when no sort is asked for.
        return queryset

    # Ranking reads every match; beyond this many, results are listed by name so a broad search costs the
    # same on a large catalog as on a small one (the page says so and invites a narrower search).
    relevance_limit = COUNT_CAP
    ranked = False

    @property
    def qs(self):
        if not hasattr(self, "_ordered_qs"):
            self._ordered_qs = self._order(super().qs)
        return self._ordered_qs

    def _order(self, queryset):
        sort = self.form.cleaned_data.get("sort") if self.form.is_valid() else ""
        searching = bool(self.form.is_valid() and self.form.cleaned_data.get("q"))
        if sort == ModelSort.RELEVANCE or (not sort and searching):
            if "relevance" in queryset.query.annotations:
                matches = queryset.order_by().values("pk")[: self.relevance_limit + 1].count()
                self.ranked = matches <= self.relevance_limit
                ordered = queryset.order_by("-relevance", "name") if self.ranked else queryset.order_by("name")
                # The paginator needs this very count (capped the same way): hand it over, not a second query.
                ordered.capped_match_count = (matches, self.relevance_limit)
                return ordered
            return queryset.order_by("name")
        if sort:
            return queryset.order_by(sort, "name") if sort != "name" else queryset.order_by("name")
        return queryset.order_by("name")


class VersionFilter(django_filters.FilterSet):
    stage = django_filters.ChoiceFilter(choices=Stage.choices)
    run_id = django_filters.CharFilter()

    class Meta:
        model = ModelVersion
        fields = ["stage", "run_id"]
