"""Run by test_sqlite.py in a fresh process on a SQLite database (`make run`'s setup): a pipeline's MLflow and
v1 calls, printing one JSON line of what it saw."""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from registry import services  # noqa: E402
from registry.permissions import Role  # noqa: E402

call_command("migrate", verbosity=0)
User = get_user_model()
owner = User.objects.create_user("pipeline-owner", password=None)
owner.groups.add(Group.objects.get(name=Role.MODEL_OWNER))
owner = User.objects.get(pk=owner.pk)
_, secret = services.token_create(actor=owner, user=owner, name="ci", scopes=["read", "write"])
api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
mlflow = "/api/2.0/mlflow"
seen = {"vendor": connection.vendor}
created = api.post(f"{mlflow}/registered-models/create", {"name": "churn"}, content_type="application/json")
seen["create"] = created.status_code
taken = api.post(f"{mlflow}/registered-models/create", {"name": "CHURN"}, content_type="application/json")
seen["taken"] = [taken.status_code, taken.json().get("error_code")]
for _ in range(2):
    version = api.post(
        f"{mlflow}/model-versions/create", {"name": "churn", "source": "s3://runs/1"}, content_type="application/json"
    )
seen["version"] = version.json()["model_version"]["version"]
api.post(
    f"{mlflow}/registered-models/alias",
    {"name": "churn", "alias": "champion", "version": "1"},
    content_type="application/json",
)
alias = api.get(f"{mlflow}/registered-models/alias", {"name": "churn", "alias": "champion"}).json()["model_version"]
seen["alias"] = [alias["version"], isinstance(alias["creation_timestamp"], int)]
model = api.get(f"{mlflow}/registered-models/get", {"name": "churn"}).json()["registered_model"]
seen["get"] = [model["aliases"], [v["version"] for v in model["latest_versions"]]]
seen["v1"] = api.get("/api/v1/models/churn/").status_code
print(json.dumps(seen))
