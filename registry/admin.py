"""The Django admin, for administrators. Reads go through `permissions.restrict`, writes through services,
so the admin cannot do what the API and the UI refuse (no stage changes, no edits to frozen versions)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import PermissionDenied

from registry import permissions, services
from registry.exceptions import DomainError
from registry.forms import SignInForm
from registry.models import ApiToken, Metric, ModelVersion, RegisteredModel, ServiceAccount, Team
from registry.permissions import Action


class RestrictedAdminMixin:
    """Object answers from the permission module instead of Django's model-level flags."""

    action_for_change = Action.CHANGE

    def get_queryset(self, request):
        return permissions.restrict(super().get_queryset(request), request.user, Action.VIEW)

    def has_view_permission(self, request, obj=None):
        if obj is None:
            return request.user.is_staff
        return permissions.can(request.user, Action.VIEW, obj)

    def has_change_permission(self, request, obj=None):
        return obj is not None and permissions.can(request.user, self.action_for_change, obj)

    def has_delete_permission(self, request, obj=None):
        return obj is not None and permissions.can(request.user, Action.DELETE, obj)


@admin.register(RegisteredModel)
class RegisteredModelAdmin(RestrictedAdminMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "title",
        "owner",
        "team",
        "risk_tier",
        "visibility",
        "latest_version",
        "latest_stage",
        "updated_at",
    ]
    list_filter = ["risk_tier", "visibility", "latest_stage", "framework", "task_type", "team"]
    search_fields = ["name", "title", "description"]
    list_select_related = ["owner", "team"]
    readonly_fields = [
        "name",
        "owner",
        "risk_tier",
        "latest_version",
        "latest_stage",
        "version_counter",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
    ]
    fields = [
        "name",
        "title",
        "description",
        "owner",
        "team",
        "task_type",
        "framework",
        "intended_use",
        "out_of_scope_uses",
        "limitations",
        "visibility",
        "tags",
        *readonly_fields[2:],
    ]

    def has_add_permission(self, request):
        return False  # registered through the catalog or the API, which grant the owner set

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in services.MODEL_EDITABLE_FIELDS}
        try:
            services.model_update(actor=request.user, model=obj, data=data)
        except (DomainError, PermissionDenied) as exc:
            messages.error(request, getattr(exc, "message", str(exc)))

    def delete_model(self, request, obj):
        services.model_delete(actor=request.user, model=obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            services.model_delete(actor=request.user, model=obj)


class MetricInline(admin.TabularInline):
    model = Metric
    extra = 0
    can_delete = False
    fields = ["name", "value", "dataset", "split"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ModelVersion)
class ModelVersionAdmin(RestrictedAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "stage", "created_by", "created_at"]
    list_filter = ["stage", "framework"]
    search_fields = ["model__name", "source", "run_id"]
    list_select_related = ["model", "created_by"]
    inlines = [MetricInline]
    readonly_fields = ["model", "version", "stage", "stage_changed_at", "created_by", "created_at", "updated_at"]
    fields = [
        "model",
        "version",
        "stage",
        "description",
        "source",
        "run_id",
        "run_link",
        "hyperparameters",
        "training_data",
        "framework",
        "framework_version",
        "library_versions",
        "tags",
        "stage_changed_at",
        "created_by",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            services.version_update(actor=request.user, version=obj, data=data)
        except (DomainError, PermissionDenied) as exc:
            messages.error(request, getattr(exc, "message", str(exc)))

    def save_related(self, request, form, formsets, change):
        pass

    def delete_model(self, request, obj):
        services.version_delete(actor=request.user, version=obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            services.version_delete(actor=request.user, version=obj)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    """Read-only here: teams and their members are managed on the Teams page, through the audited services."""

    list_display = ["name", "slug", "description"]
    search_fields = ["name", "slug"]
    readonly_fields = ["name", "slug", "description", "group"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "user", "scopes", "model", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["prefix", "name", "user__username"]
    list_select_related = ["user", "model"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # secrets are shown once, from the token page or `manage.py token create`

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: a deleted token would leave its audit events pointing at nothing

    @admin.action(description="Revoke selected tokens", permissions=["view"])
    def revoke(self, request, queryset):
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True):
            services.token_revoke(actor=request.user, token=token)
            revoked += 1
        messages.success(request, f"Revoked {revoked} token(s).")


@admin.register(ServiceAccount)
class ServiceAccountAdmin(admin.ModelAdmin):
    list_display = ["user", "description", "created_by", "created_at"]
    search_fields = ["user__username", "description"]
    readonly_fields = ["user", "created_by", "created_at"]

    def has_add_permission(self, request):
        return False  # created on the Service accounts page or with `manage.py service_account create`

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SignInAdminForm(AdminAuthenticationForm, SignInForm):
    """The admin's sign-in form refuses service accounts too."""

    error_messages = {**SignInForm.error_messages, **AdminAuthenticationForm.error_messages}


admin.site.login_form = SignInAdminForm
