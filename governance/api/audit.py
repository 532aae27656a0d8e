"""v1 API for the audit trail: the event list (filtered, cursor-paginated by sequence number) and streaming
exports as CSV or JSON Lines. Auditors and administrators only (registry.permissions.can_read_audit_trail);
everyone else gets 403 with the reason, as on the audit page."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.pagination import CursorPagination
from rest_framework.views import APIView

from governance import exports, selectors, services
from governance.audit import HASHED_FIELDS
from governance.filters import AuditEventFilter
from governance.models import AuditEvent

ERROR = OpenApiResponse(description='`{"error": {"code", "message", "fields"}}`')


class AuditEventOutput(serializers.ModelSerializer):
    changes = serializers.JSONField(help_text='Field-level changes: `{field: {"before": ..., "after": ...}}`.')

    class Meta:
        model = AuditEvent
        fields = [*HASHED_FIELDS, "hash"]  # everything the chain covers, so an export verifies offline


class SeqCursorPagination(CursorPagination):
    ordering = "-seq"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


@extend_schema(
    summary="List audit events",
    description="Newest first. Auditors and administrators only. Each event carries `prev_hash` and `hash`; "
    "see docs/audit.md for the canonical form they are computed over.",
    responses={200: AuditEventOutput(many=True), 403: ERROR},
)
class AuditEventList(generics.ListAPIView):
    serializer_class = AuditEventOutput
    pagination_class = SeqCursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = AuditEventFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user to restrict by
            return AuditEvent.objects.none()
        return selectors.audit_events(user=self.request.user)


@extend_schema(
    summary="Export audit events (streaming CSV or JSON Lines)",
    description="Every event matching the filters, oldest first, with `prev_hash` and `hash`. The export is "
    "itself recorded (`audit.exported`). A JSON Lines export of a contiguous range verifies offline with "
    "docs/verify_audit_export.py.",
    parameters=[
        OpenApiParameter("output", str, enum=list(exports.FORMATS), default="jsonl", description="File format."),
        *[
            OpenApiParameter(name, OpenApiTypes.STR, description=str(field.label))
            for name, field in AuditEventFilter.base_filters.items()
        ],
    ],
    responses={
        (200, "application/jsonl"): OpenApiResponse(OpenApiTypes.BINARY, description="One event per line."),
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="A header row, then one event per row."),
        400: ERROR,
        403: ERROR,
    },
)
class AuditEventExport(APIView):
    def get(self, request):
        return export_response(request.user, request.query_params)


def export_response(user, params) -> StreamingHttpResponse:
    """The streaming response shared by the API and the auditor page."""
    fmt = params.get("output", "jsonl")
    filters = {key: value for key, value in params.items() if key in AuditEventFilter.base_filters}
    export = services.audit_export(actor=user, filters=filters, fmt=fmt)
    content_type, _ = exports.FORMATS[fmt]
    response = StreamingHttpResponse(exports.lines(export.events, fmt), content_type=content_type)
    name = exports.filename(fmt, export.first_seq, export.last_seq)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
