"""Pagination that costs the same at 10,000 or 1,000,000 models.

An exact COUNT(*) reads every visible row, so its cost grows with the catalog. `CappedPaginator` counts
at most `COUNT_CAP` + 1 rows in one query and reports `count_is_exact = False` past the cap ("1,000+
models"): at that point people refine their search rather than page to the end.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.utils.functional import cached_property

COUNT_CAP = 1_000


class CappedPaginator(Paginator):
    count_cap = COUNT_CAP

    @cached_property
    def _counted(self) -> int:
        queryset = self.object_list
        if not hasattr(queryset, "values"):
            return len(queryset)
        known = getattr(queryset, "capped_match_count", None)  # (count, cap) from registry.filters' relevance test
        if known is not None and known[1] >= self.count_cap:  # counted at least as far as this cap needs
            return known[0]
        # No ORDER BY and only the key: the subquery stops after cap + 1 matching rows.
        return queryset.order_by().values("pk")[: self.count_cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.count_cap)

    @property
    def count_is_exact(self) -> bool:
        return self._counted <= self.count_cap
