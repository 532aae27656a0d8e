"""Matrix rows for the MLflow-compatible API (`/api/2.0/mlflow/`). Its URLs carry no model: the model under
test travels as the `name` parameter (query string for GET, JSON body otherwise), so the rows' data names it.
Refusals answer in MLflow's shape with the statuses the matrix expects (401, 403, 404)."""

from governance import services as governance_services
from registry.permissions import Action
from tests.permission_matrix import CREATES_MODELS, Endpoint
from tests.permission_matrix.rows_artifacts import existing_artifact


def model(**extra):
    return lambda ctx, visibility: {"name": ctx["models"][visibility].name, **extra}


def version(**extra):
    return model(version="1", **extra)


def with_alias(ctx: dict, visibility: str, user) -> dict:
    """Version 1 is the model's `champion`, so resolving the alias answers."""
    target = ctx["models"][visibility]
    if not target.aliases.filter(name="champion").exists():
        governance_services.alias_set(
            actor=target.owner, model=target, name="champion", version=target.versions.get(version=1)
        )
    return {}


def artifact_path(ctx: dict, visibility: str, user) -> dict:
    """A validated file on version 1, addressed the way get-download-uri's answer addresses it."""
    existing_artifact(ctx, visibility, user)
    return {"path": f"arbiter/{ctx['models'][visibility].name}/1/a.safetensors"}


def rows(prefix: str = "mlflow:") -> list[Endpoint]:
    def row(name, method="get", action=Action.VIEW, **options):
        return Endpoint(name if ":" in name else f"{prefix}{name}", method, action, api=True, **options)

    return [
        row(
            "registered-model-create",
            "post",
            lambda persona: persona in CREATES_MODELS,
            model_scoped=False,
            data={"name": "from-mlflow", "tags": [{"key": "k", "value": "v"}]},
        ),
        row("registered-model-get", data=model()),
        row("registered-model-rename", "post", Action.CHANGE, data=lambda c, v: {**model()(c, v), "new_name": "moved"}),
        row("registered-model-update", "patch", Action.CHANGE, data=model(description="Updated.")),
        row("registered-model-delete", "delete", Action.DELETE, data=model()),
        row("registered-model-search", action=None, model_scoped=False, data={"filter": "name LIKE '%'"}),
        row("registered-model-latest-versions", data=model()),
        row("registered-model-latest-versions", "post", read_only=True, data=model(stages=["None"])),
        row("registered-model-set-tag", "post", Action.CHANGE, data=model(key="k", value="v")),
        row("registered-model-delete-tag", "delete", Action.CHANGE, data=model(key="k")),
        row("registered-model-alias", data=model(alias="champion"), url_kwargs=with_alias),
        row("registered-model-alias", "post", Action.CHANGE, data=version(alias="champion")),
        row("registered-model-alias", "delete", Action.CHANGE, data=model(alias="champion"), url_kwargs=with_alias),
        row("model-version-create", "post", Action.CHANGE, data=model(source="runs:/abc/model", run_id="abc")),
        row("model-version-get", data=version()),
        row("model-version-update", "patch", Action.CHANGE, data=version(description="Updated.")),
        row("model-version-delete", "delete", Action.DELETE, data=version()),
        row("model-version-search", action=None, model_scoped=False, data={"filter": "name LIKE '%'"}),
        row("model-version-transition", "post", Action.CHANGE, data=version(stage="Staging")),
        row("model-version-download-uri", data=version()),
        row("model-version-set-tag", "post", Action.CHANGE, data=version(key="k", value="v")),
        row("model-version-delete-tag", "delete", Action.CHANGE, data=version(key="k")),
        row(
            "mlflow_artifacts:artifact-list",
            data=lambda ctx, visibility: {"path": f"arbiter/{ctx['models'][visibility].name}/1"},
        ),
        row("mlflow_artifacts:artifact-download", url_kwargs=artifact_path),
    ]


ROWS = rows()
