from django.contrib.auth.decorators import login_not_required
from django.urls import path

from governance.sso import provider, views

app_name = "sso"

urlpatterns = [
    path("oidc/authenticate/", login_not_required(provider.AuthenticateView.as_view()), name="oidc-authenticate"),
    path("oidc/callback/", login_not_required(provider.CallbackView.as_view()), name="oidc-callback"),
    path("sign-in/", views.settings_page, name="settings"),
    path("sign-in/mappings/<int:pk>/delete/", views.mapping_delete, name="mapping-delete"),
    path("sign-in/break-glass/<int:pk>/revoke/", views.break_glass_revoke, name="break-glass-revoke"),
]
