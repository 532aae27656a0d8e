"""The MLflow Model Registry endpoints. Each view reads MLflow's parameters (query string for GET, a JSON
body otherwise, DELETE included), calls the same selector or service as its v1 twin, and answers HTTP 200
with a JSON object. Errors are rendered by `errors.exception_handler` in MLflow's shape."""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse
from rest_framework.authentication import SessionAuthentication
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from governance import services as governance_services
from registry import selectors, services
from registry.api.mlflow import errors, search
from registry.api.mlflow import serializers as render
from registry.api.mlflow.authentication import BasicTokenAuthentication
from registry.api.mlflow.errors import MlflowError
from registry.api.parsers import NUL_MESSAGE, contains_nul
from registry.authentication import BearerTokenAuthentication
from registry.downloads import artifact_response
from registry.exceptions import DomainError
from registry.models import ModelVersion, RegisteredModel
from registry.permissions import Action

MAX_MODEL_RESULTS = 1000
MAX_VERSION_RESULTS = 10000  # the client's default page for search_model_versions
DEFAULT_VERSION_ORDER = ["last_updated_timestamp DESC", "name ASC", "version_number DESC"]  # MLflow's server's


class Params:
    """MLflow request parameters: the query string for GET (repeated keys for lists), a JSON body otherwise."""

    def __init__(self, request):
        if request.method == "GET":
            self._query, self._body = request.query_params, None
            return
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise MlflowError("The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise MlflowError("The request body must be a JSON object.")
        if contains_nul(body):
            raise MlflowError(NUL_MESSAGE)
        self._query, self._body = None, body

    def get(self, name: str, default: Any = None) -> Any:
        if self._body is not None:
            return self._body.get(name, default)
        return self._query.get(name, default)

    def text(self, name: str, *, required: bool = False, default: str = "") -> str:
        value = self.get(name)
        if value is None or value == "":
            if required:
                raise MlflowError(f"Missing value for required parameter '{name}'.")
            return default
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise MlflowError(f"Parameter '{name}' must be a string.")
        return str(value)

    def items(self, name: str) -> list:
        if self._body is not None:
            value = self._body.get(name) or []
            if not isinstance(value, list):
                raise MlflowError(f"Parameter '{name}' must be a list.")
            return value
        return self._query.getlist(name)

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "1"):
            return True
        if str(value).lower() in ("false", "0"):
            return False
        raise MlflowError(f"Parameter '{name}' must be true or false.")

    def number(self, name: str, *, default: int, maximum: int) -> int:
        value = self.get(name)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise MlflowError(errors.not_integer(name, value)) from None
        if number < 1:
            raise MlflowError(f"Invalid value for {name}. It must be a positive integer, but got {number}")
        if number > maximum:
            raise MlflowError(
                f"Invalid value for request parameter {name}. It must be at most {maximum}, but got value {number}"
            )
        return number

    def tags(self) -> dict[str, str]:
        tags = {}
        for item in self.items("tags"):
            if not isinstance(item, dict) or not isinstance(item.get("key"), str):
                raise MlflowError("Tags must be a list of {'key': ..., 'value': ...} objects.")
            tags[item["key"]] = item.get("value", "")
        return tags


class MlflowView(APIView):
    """Token (Bearer or Basic) or session authentication and the v1 API's throttles; MLflow's error shape."""

    authentication_classes = [BearerTokenAuthentication, BasicTokenAuthentication, SessionAuthentication]
    renderer_classes = [JSONRenderer]
    parser_classes = []  # bodies are parsed by Params whatever their Content-Type, as MLflow's server does
    schema = None  # MLflow's protocol, described in docs/mlflow.md, not part of Arbiter's OpenAPI schema

    def get_exception_handler(self):
        return errors.exception_handler

    def model(self, params: Params, action: Action = Action.VIEW) -> RegisteredModel:
        name = params.text("name", required=True)
        with _not_found(errors.model_not_found(name)):
            return selectors.model_get(user=self.request.user, name=name, action=action)

    def version(self, params: Params, action: Action = Action.VIEW) -> ModelVersion:
        name = params.text("name", required=True)
        number = params.text("version", required=True)
        if not number.isdigit():
            raise MlflowError(errors.not_integer("version", number))
        with _not_found(errors.version_not_found(name, number)):
            model = selectors.model_get(user=self.request.user, name=name)
            return selectors.version_get(user=self.request.user, model=model, version=number, action=action)

    def model_detail(self, params: Params) -> RegisteredModel:
        name = params.text("name", required=True)
        with _not_found(errors.model_not_found(name)):
            return selectors.model_detail(user=self.request.user, name=name)

    def render_model(self, model: RegisteredModel) -> dict:
        return {
            "registered_model": render.registered_model(selectors.model_search(user=self.request.user).get(pk=model.pk))
        }

    def render_version(self, version: ModelVersion) -> dict:
        fresh = selectors.version_search(user=self.request.user).get(pk=version.pk)
        return {"model_version": render.model_version(fresh)}


@contextmanager
def _not_found(message: str):
    """A model or version the caller may not see (or that does not exist) in MLflow's words."""
    try:
        yield
    except Http404:
        raise MlflowError(message, errors.RESOURCE_DOES_NOT_EXIST) from None


@contextmanager
def _refused(subject: str):
    """Arbiter refusing a call MLflow's server would carry out (the lifecycle, the approval gate, frozen or
    released versions, permissions): MLflow's error shape, the object and move in MLflow's terms, then the reason."""
    try:
        yield
    except PermissionDenied as exc:
        raise MlflowError(f"{subject}: {exc}", errors.PERMISSION_DENIED) from exc
    except DomainError as exc:
        raise MlflowError(f"{subject}: {errors.domain_message(exc)}", errors.domain_code(exc)) from exc


def _ignore_missing(call) -> None:
    """MLflow's server treats deleting an absent tag or alias as done; the permission check still applies."""
    try:
        call()
    except DomainError as exc:
        if exc.code not in errors.DOES_NOT_EXIST_CODES:
            raise


# --- Registered models ---------------------------------------------------------------------------------------


class RegisteredModelCreate(MlflowView):
    def post(self, request):
        params = Params(request)
        name = params.text("name", required=True)
        model = services.model_create(
            actor=request.user,
            name=name,
            title=name[: RegisteredModel._meta.get_field("title").max_length],
            description=params.text("description"),
            tags=params.tags(),
        )
        # A model just created has no versions and no aliases, and its owner (the actor) may see it: render it as
        # `model_search` would return it without reading it back.
        model.latest_per_stage, model.listed_aliases = [], []
        return Response({"registered_model": render.registered_model(model)})


class RegisteredModelGet(MlflowView):
    def get(self, request):
        return Response({"registered_model": render.registered_model(self.model_detail(Params(request)))})


class RegisteredModelRename(MlflowView):
    def post(self, request):
        params = Params(request)
        model = self.model(params, Action.CHANGE)
        model = services.model_rename(actor=request.user, model=model, new_name=params.text("new_name", required=True))
        return Response(self.render_model(model))


class RegisteredModelUpdate(MlflowView):
    def patch(self, request):
        params = Params(request)
        model = self.model(params, Action.CHANGE)
        if params.get("description") is not None:
            model = services.model_update(
                actor=request.user, model=model, data={"description": params.text("description")}
            )
        return Response(self.render_model(model))


class RegisteredModelDelete(MlflowView):
    def delete(self, request):
        params = Params(request)
        model = self.model(params, Action.DELETE)
        with _refused(f"Registered Model (name={model.name}) cannot be deleted"):
            services.model_delete(actor=request.user, model=model)
        return Response({})


class RegisteredModelSearch(MlflowView):
    def get(self, request):
        params = Params(request)
        queryset = search.filter_queryset(
            selectors.model_search(user=request.user), params.text("filter"), search.MODEL_ATTRIBUTES
        )
        queryset = search.order_queryset(queryset, params.items("order_by"), search.MODEL_ORDER, ["name"])
        rows, token = search.page(
            queryset,
            max_results=params.number("max_results", default=100, maximum=MAX_MODEL_RESULTS),
            page_token=params.text("page_token"),
            render=render.registered_model,
        )
        body: dict[str, Any] = {"registered_models": rows}
        if token:
            body["next_page_token"] = token
        return Response(body)


class RegisteredModelLatestVersions(MlflowView):
    def _answer(self, request):
        params = Params(request)
        model = self.model_detail(params)
        stages = []
        for stage in params.items("stages"):
            if str(stage).lower() not in render.MLFLOW_TO_STAGE:
                raise MlflowError(errors.invalid_stage(stage))
            stages.append(render.MLFLOW_TO_STAGE[str(stage).lower()])
        latest = [v for v in model.latest_per_stage if not stages or v.stage in stages]
        return Response({"model_versions": [render.model_version(v) for v in sorted(latest, key=lambda v: v.version)]})

    def get(self, request):
        return self._answer(request)

    def post(self, request):
        return self._answer(request)


class RegisteredModelSetTag(MlflowView):
    def post(self, request):
        params = Params(request)
        model = self.model(params, Action.CHANGE)
        services.model_tag_set(
            actor=request.user, model=model, key=params.text("key", required=True), value=params.text("value")
        )
        return Response({})


class RegisteredModelDeleteTag(MlflowView):
    def delete(self, request):
        params = Params(request)
        model = self.model(params, Action.CHANGE)
        key = params.text("key", required=True)
        _ignore_missing(lambda: services.model_tag_delete(actor=request.user, model=model, key=key))
        return Response({})


class RegisteredModelAlias(MlflowView):
    def get(self, request):
        params = Params(request)
        name, alias = params.text("name", required=True), params.text("alias", required=True)
        try:
            version = selectors.version_by_alias(user=request.user, model_name=name, alias=alias)
        except Http404:
            self.model(params)  # MLflow tells a missing model from a missing alias
            raise MlflowError(errors.alias_not_found(alias)) from None
        return Response({"model_version": render.model_version(version)})

    def post(self, request):
        params = Params(request)
        alias = params.text("alias", required=True)
        version = self.version(params, Action.CHANGE)
        subject = (
            f"Registered Model (name={version.model.name}) alias '{alias}' cannot point at version {version.version}"
        )
        with _refused(subject):
            governance_services.alias_set(actor=request.user, model=version.model, name=alias, version=version)
        return Response({})

    def delete(self, request):
        params = Params(request)
        model = self.model(params, Action.CHANGE)
        alias = params.text("alias", required=True)
        _ignore_missing(lambda: services.alias_delete(actor=request.user, model=model, name=alias))
        return Response({})


# --- Model versions ------------------------------------------------------------------------------------------


class ModelVersionCreate(MlflowView):
    def post(self, request):
        params = Params(request)
        model = self.model(params, Action.CHANGE)
        version = services.version_register(
            actor=request.user,
            model=model,
            source=params.text("source"),
            run_id=params.text("run_id"),
            run_link=params.text("run_link"),
            description=params.text("description"),
            tags=params.tags(),
        )
        # A version just registered has no files and no aliases: render it as `version_search` would return it
        # without reading it back.
        version.listed_files, version.listed_aliases = [], []
        return Response({"model_version": render.model_version(version)})


class ModelVersionGet(MlflowView):
    def get(self, request):
        return Response(self.render_version(self.version(Params(request))))


class ModelVersionUpdate(MlflowView):
    def patch(self, request):
        params = Params(request)
        version = self.version(params, Action.CHANGE)
        if params.get("description") is not None:
            with _refused(f"Model Version (name={version.model.name}, version={version.version}) cannot be updated"):
                version = services.version_update(
                    actor=request.user, version=version, data={"description": params.text("description")}
                )
        return Response(self.render_version(version))


class ModelVersionDelete(MlflowView):
    def delete(self, request):
        version = self.version(Params(request), Action.DELETE)
        with _refused(f"Model Version (name={version.model.name}, version={version.version}) cannot be deleted"):
            services.version_delete(actor=request.user, version=version)
        return Response({})


class ModelVersionSearch(MlflowView):
    def get(self, request):
        params = Params(request)
        queryset = search.filter_queryset(
            selectors.version_search(user=request.user), params.text("filter"), search.VERSION_ATTRIBUTES
        )
        order_by = params.items("order_by") or DEFAULT_VERSION_ORDER
        queryset = search.order_queryset(queryset, order_by, search.VERSION_ORDER, ["model__name", "-version"])
        rows, token = search.page(
            queryset,
            max_results=params.number("max_results", default=MAX_VERSION_RESULTS, maximum=MAX_VERSION_RESULTS),
            page_token=params.text("page_token"),
            render=render.model_version,
        )
        body: dict[str, Any] = {"model_versions": rows}
        if token:
            body["next_page_token"] = token
        return Response(body)


class ModelVersionTransitionStage(MlflowView):
    def post(self, request):
        params = Params(request)
        requested = params.text("stage", required=True)
        stage = render.MLFLOW_TO_STAGE.get(requested.lower())
        if stage is None:
            raise MlflowError(errors.invalid_stage(requested))
        archive_existing = params.flag("archive_existing_versions")
        version = self.version(params, Action.CHANGE)
        subject = (
            f"Model Version (name={version.model.name}, version={version.version}) cannot move from "
            f"{render.STAGE_TO_MLFLOW[version.stage]} to {render.STAGE_TO_MLFLOW[stage]}"
        )
        with _refused(subject):
            governance_services.version_transition(
                actor=request.user, version=version, stage=stage, archive_existing_versions=archive_existing
            )
        return Response(self.render_version(version))


class ModelVersionDownloadUri(MlflowView):
    def get(self, request):
        """The version's `source` while Arbiter holds none of its files (as MLflow's server answers), else
        Arbiter's own download location, which serves the files Arbiter validated."""
        version = self.version(Params(request))
        if version.source and not version.artifacts.exists():
            return Response({"artifact_uri": version.source})
        path = reverse("mlflow_artifacts:artifact-download", kwargs={"path": artifact_root(version)})
        return Response({"artifact_uri": request.build_absolute_uri(path)})


class ModelVersionSetTag(MlflowView):
    def post(self, request):
        params = Params(request)
        version = self.version(params, Action.CHANGE)
        services.version_tag_set(
            actor=request.user, version=version, key=params.text("key", required=True), value=params.text("value")
        )
        return Response({})


class ModelVersionDeleteTag(MlflowView):
    def delete(self, request):
        params = Params(request)
        version = self.version(params, Action.CHANGE)
        key = params.text("key", required=True)
        _ignore_missing(lambda: services.version_tag_delete(actor=request.user, version=version, key=key))
        return Response({})


# --- Artifacts: the part of MLflow's artifact protocol a `models:/` download uses -----------------------------

ARTIFACT_ROOT = "arbiter"


def artifact_root(version: ModelVersion) -> str:
    """Where the client finds a version's files: `arbiter/<model>/<version>` under mlflow-artifacts."""
    return f"{ARTIFACT_ROOT}/{version.model.name}/{version.version}"


class ArtifactView(MlflowView):
    def locate(self, path: str) -> tuple[ModelVersion, str]:
        """The version an `arbiter/<model>/<version>[/<file>]` path names (404 otherwise) and the file part."""
        parts = (path or "").strip("/").split("/", 3)
        if len(parts) < 3 or parts[0] != ARTIFACT_ROOT or not parts[2].isdigit():
            raise MlflowError(f"No artifacts at {path!r}.", errors.RESOURCE_DOES_NOT_EXIST)
        # The client sends the artifact URI's path as it reads it, still percent-encoded (`UpdateRMTest%202`).
        model = selectors.model_get(user=self.request.user, name=unquote(parts[1]))
        version = selectors.version_get(user=self.request.user, model=model, version=parts[2])
        return version, parts[3] if len(parts) == 4 else ""


class ArtifactList(ArtifactView):
    """List a version's files (flat: Arbiter stores no directories)."""

    def get(self, request):
        version, filename = self.locate(request.query_params.get("path", ""))
        artifacts = selectors.artifact_list(user=request.user, version=version)
        if filename:
            artifacts = artifacts.filter(filename=filename)
        files = [{"path": a.filename, "is_dir": False, "file_size": a.size} for a in artifacts if a.size is not None]
        return Response({"files": files})


class ArtifactDownload(ArtifactView):
    """Stream one file, exactly as the v1 download does: recorded, digest-checked, refused unless valid."""

    def get(self, request, path):
        version, filename = self.locate(path)
        artifact = selectors.artifact_list(user=request.user, version=version).filter(filename=filename).first()
        if artifact is None:
            raise MlflowError(
                f"v{version.version} of '{version.model.name}' has no file {filename!r}.",
                errors.RESOURCE_DOES_NOT_EXIST,
            )
        return artifact_response(request, artifact)
