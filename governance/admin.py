"""Governance in the Django admin. The audit trail is read-only here, as everywhere."""

from django.contrib import admin

from governance.models import AuditEvent
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
