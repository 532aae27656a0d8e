"""Pagination for the v1 API: numbered pages (counted up to a cap) for the catalog, cursors for versions."""

from collections import OrderedDict

from rest_framework import pagination
from rest_framework.response import Response

from registry.pagination import CappedPaginator


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    django_paginator_class = CappedPaginator

    def get_paginated_response(self, data):
        return Response(
            OrderedDict(
                [
                    ("count", self.page.paginator.count),
                    ("count_is_exact", self.page.paginator.count_is_exact),
                    ("next", self.get_next_link()),
                    ("previous", self.get_previous_link()),
                    ("results", data),
                ]
            )
        )

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["properties"]["count_is_exact"] = {
            "type": "boolean",
            "description": f"False when more than {CappedPaginator.count_cap:,} rows match: count is then the cap.",
        }
        response["required"] = [*response.get("required", []), "count_is_exact"]
        return response


class VersionCursorPagination(pagination.CursorPagination):
    ordering = "-version"
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
