"""v1 API: streaming exports of the model inventory, the risk register and approval records with their votes,
as CSV or JSON, restricted to the models the caller may see and recorded in the audit trail."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.views import APIView

from governance import exports, services

ERROR = OpenApiResponse(description='`{"error": {"code", "message", "fields"}}`')


@extend_schema(
    summary="Export the model inventory, the risk register or approval records (streaming CSV or JSON)",
    description="`inventory`: every model you may see, with owner, team, risk tier, production and latest "
    "version, and the state of its latest risk assessment. `risks`: the risk register of those models, every "
    "status. `approvals`: approval requests on their versions, each with its votes (CSV: one row per vote). "
    "Each export is recorded (`<kind>.exported`). CSV cells that a spreadsheet would run as a formula are "
    "prefixed with `'`.",
    parameters=[
        OpenApiParameter(
            "kind", str, OpenApiParameter.PATH, enum=list(services.EXPORT_KINDS), description="What to export."
        ),
        OpenApiParameter("output", str, enum=list(exports.RECORD_FORMATS), default="csv", description="File format."),
    ],
    responses={
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="A header row, then one row per record."),
        (200, "application/json"): OpenApiResponse(OpenApiTypes.BINARY, description="An array of records."),
        400: ERROR,
        403: ERROR,
        404: ERROR,
    },
)
class RecordsExport(APIView):
    def get(self, request, kind):
        return export_response(request.user, kind, request.query_params.get("output", "csv"))


def export_response(user, kind: str, fmt: str) -> StreamingHttpResponse:
    """The streaming response shared by the API and the pages' Export buttons."""
    export = services.records_export(actor=user, kind=kind, fmt=fmt)
    response = StreamingHttpResponse(export.lines, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["Cache-Control"] = "no-store"
    return response
