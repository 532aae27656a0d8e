"""Single sign-on in the Django admin: group mappings are added and removed through the audited services
(administrators only); linked identities and break-glass accounts are shown read-only (the Sign-in page
manages them)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied

from governance.sso import services
from governance.sso.models import BreakGlassAccount, GroupMapping, Identity
from registry import permissions
from registry.exceptions import DomainError


class _AdministratorsOnly:
    def has_view_permission(self, request, obj=None):
        return permissions.is_administrator(request.user)

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(GroupMapping)
class GroupMappingAdmin(_AdministratorsOnly, admin.ModelAdmin):
    list_display = ["group", "role", "team", "committee", "created_at"]
    list_select_related = ["team", "committee"]
    search_fields = ["group"]
    fields = ["group", "role", "team", "committee"]

    def has_add_permission(self, request):
        return permissions.is_administrator(request.user)

    def has_delete_permission(self, request, obj=None):
        return permissions.is_administrator(request.user)

    def save_model(self, request, obj, form, change):
        try:
            created = services.group_mapping_create(
                actor=request.user, group=obj.group, role=obj.role, team=obj.team, committee=obj.committee
            )
        except (DomainError, PermissionDenied) as exc:
            messages.error(request, getattr(exc, "message", str(exc)))
        else:
            obj.pk = created.pk

    def delete_model(self, request, obj):
        services.group_mapping_delete(actor=request.user, mapping=obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            services.group_mapping_delete(actor=request.user, mapping=obj)


@admin.register(Identity)
class IdentityAdmin(_AdministratorsOnly, admin.ModelAdmin):
    list_display = ["user", "subject", "issuer", "last_sign_in_at", "deactivated_by_mapping"]
    list_select_related = ["user"]
    search_fields = ["user__username", "subject"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BreakGlassAccount)
class BreakGlassAccountAdmin(_AdministratorsOnly, admin.ModelAdmin):
    list_display = ["user", "reason", "created_at"]
    list_select_related = ["user"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
