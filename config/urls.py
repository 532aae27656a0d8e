from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import health
from governance import metrics
from governance.sso.views import SignInView, SignOutView
from registry.api.mlflow import urls as mlflow_urls

urlpatterns = [
    path("", include("registry.urls")),
    path("governance/", include("governance.urls")),
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/logout/", SignOutView.as_view(), name="logout"),
    path("sso/", include("governance.sso.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("registry.api.urls")),
    path("api/v1/", include("governance.api.urls")),
    path("api/2.0/mlflow/", include("registry.api.mlflow.urls")),
    path("api/2.0/mlflow-artifacts/", include(mlflow_urls.artifact_urlpatterns)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("metrics", metrics.metrics, name="metrics"),
]

# Unmatched URLs and unexpected errors: JSON under /api/ (MLflow's shape under /api/2.0/), the app's own pages
# elsewhere. Django's debug pages replace them only when DEBUG=1 is set explicitly (config/settings.py).
handler404 = "registry.api.errors.page_not_found"
handler500 = "registry.api.errors.server_error"
