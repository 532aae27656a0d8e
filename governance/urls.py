from django.urls import path

import registry.converters  # noqa: F401  (registers the <model:...> converter)
from governance import views

app_name = "governance"

urlpatterns = [
    path("audit/", views.audit_log, name="audit-log"),
    path("models/<model:name>/history/", views.model_history, name="model-history"),
]
