"""Governance in the Django admin. The audit trail is read-only here, as everywhere."""

from django.contrib import admin

from governance.models import Assessment, AssessmentTemplate, AuditEvent, Risk
from registry import permissions


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["seq", "timestamp", "actor_label", "action", "target_type", "target_label", "model_name"]
    list_filter = ["action", "actor_type", "target_type"]
    search_fields = ["actor_label", "target_label", "model_name", "action", "request_id"]
    ordering = ["-seq"]

    def has_view_permission(self, request, obj=None):
        return permissions.can_read_audit_trail(request.user)

    def has_module_permission(self, request):
        return permissions.can_read_audit_trail(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Risk assessments: read-only here; they change through their pages, the API and the services ---------


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AssessmentTemplate)
class AssessmentTemplateAdmin(_ReadOnlyAdmin):
    list_display = ["key", "version", "title", "framework", "classifies", "source", "created_at"]
    list_filter = ["framework", "classifies"]
    search_fields = ["key", "title"]


@admin.register(Assessment)
class AssessmentAdmin(_ReadOnlyAdmin):
    list_display = ["pk", "model", "template", "status", "tier", "assessor", "reviewer", "valid_until"]
    list_filter = ["status", "tier"]
    search_fields = ["model__name"]
    list_select_related = ["model", "template", "assessor", "reviewer"]

    def get_queryset(self, request):
        return permissions.restrict(super().get_queryset(request), request.user, permissions.Action.VIEW)


@admin.register(Risk)
class RiskAdmin(_ReadOnlyAdmin):
    list_display = ["title", "model", "category", "inherent_rating", "residual_rating", "owner", "due_date", "status"]
    list_filter = ["status", "category"]
    search_fields = ["title", "model__name"]
    list_select_related = ["model", "owner"]

    def get_queryset(self, request):
        return permissions.restrict(super().get_queryset(request), request.user, permissions.Action.VIEW)
