"""The v1 REST API for pipelines. Views are thin: they validate input, call a selector or a service, and
render the result. Permission answers come from `registry.permissions`, through the selectors."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from governance import services as governance_services
from registry import permissions, selectors, services, uploads
from registry.api import serializers as s
from registry.api.pagination import VersionCursorPagination
from registry.api.throttling import UPLOAD_THROTTLES
from registry.choices import ArtifactKind, TokenScope
from registry.downloads import artifact_response
from registry.exceptions import InvalidInput
from registry.filters import ModelFilter, VersionFilter
from registry.models import ApiToken, Artifact, ModelVersion, RegisteredModel, Team
from registry.permissions import Action

User = get_user_model()

ERROR = OpenApiResponse(description='`{"error": {"code", "message", "fields"}}`')


class ModelScopedMixin:
    """Resolves `{name}` in the URL to a model the user may see (404 otherwise)."""

    def get_model(self, action: Action = Action.VIEW) -> RegisteredModel:
        if not hasattr(self, "_model"):
            self._model = selectors.model_get(user=self.request.user, name=self.kwargs["name"])
        permissions.require(self.request.user, action, self._model)
        return self._model


@extend_schema_view(
    get=extend_schema(summary="List models", responses={200: s.ModelOutput(many=True)}),
    post=extend_schema(
        summary="Register a model", request=s.ModelCreateInput, responses={201: s.ModelOutput, 400: ERROR, 403: ERROR}
    ),
)
class ModelListCreate(generics.ListCreateAPIView):
    serializer_class = s.ModelOutput
    filter_backends = [DjangoFilterBackend]
    filterset_class = ModelFilter

    def get_queryset(self):
        return permissions.restrict(
            RegisteredModel.objects.select_related("owner", "team", "created_by", "updated_by"),
            self.request.user,
            Action.VIEW,
        )

    def create(self, request, *args, **kwargs):
        data = s.ModelCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        model = services.model_create(actor=request.user, **data.validated_data)
        return Response(s.ModelOutput(model, context={"request": request}).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary="Get a model", responses={200: s.ModelOutput, 404: ERROR}),
    patch=extend_schema(
        summary="Update a model", request=s.ModelUpdateInput, responses={200: s.ModelOutput, 400: ERROR, 403: ERROR}
    ),
    delete=extend_schema(
        summary="Delete a model (only while none of its versions has left development)",
        responses={204: None, 403: ERROR, 409: ERROR},
    ),
)
class ModelDetail(ModelScopedMixin, APIView):
    serializer_class = s.ModelOutput

    def get(self, request, name):
        return Response(s.ModelOutput(self.get_model(), context={"request": request}).data)

    def patch(self, request, name):
        data = s.ModelUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        model = services.model_update(actor=request.user, model=self.get_model(Action.CHANGE), data=data.validated_data)
        return Response(s.ModelOutput(model, context={"request": request}).data)

    def delete(self, request, name):
        services.model_delete(actor=request.user, model=self.get_model(Action.DELETE))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    get=extend_schema(summary="List a model's versions (newest first)", responses={200: s.VersionOutput(many=True)}),
    post=extend_schema(
        summary="Register a new version (the server assigns its number)",
        request=s.VersionCreateInput,
        responses={201: s.VersionOutput, 400: ERROR, 403: ERROR, 404: ERROR},
    ),
)
class VersionListCreate(ModelScopedMixin, generics.ListCreateAPIView):
    serializer_class = s.VersionOutput
    pagination_class = VersionCursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = VersionFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ModelVersion.objects.none()
        return selectors.version_list(user=self.request.user, model=self.get_model())

    def create(self, request, *args, **kwargs):
        model = self.get_model(Action.CHANGE)
        data = s.VersionCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = services.version_register(actor=request.user, model=model, **data.validated_data)
        version = selectors.version_get(user=request.user, model=model, version=version.version)
        return Response(s.VersionOutput(version, context={"request": request}).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary="Get a version", responses={200: s.VersionOutput, 404: ERROR}),
    patch=extend_schema(
        summary="Update a version's metadata (development only) or tags",
        request=s.VersionUpdateInput,
        responses={200: s.VersionOutput, 400: ERROR, 403: ERROR, 409: ERROR},
    ),
)
class VersionDetail(ModelScopedMixin, APIView):
    serializer_class = s.VersionOutput

    def get_version(self, action: Action = Action.VIEW):
        return selectors.version_get(
            user=self.request.user, model=self.get_model(), version=self.kwargs["version"], action=action
        )

    def get(self, request, name, version):
        return Response(s.VersionOutput(self.get_version(), context={"request": request}).data)

    def patch(self, request, name, version):
        data = s.VersionUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.version_update(actor=request.user, version=self.get_version(Action.CHANGE), data=data.validated_data)
        return Response(s.VersionOutput(self.get_version(), context={"request": request}).data)


@extend_schema(
    summary="Move a version to another lifecycle stage (gated for production)",
    request=s.TransitionInput,
    responses={200: s.VersionOutput, 400: ERROR, 403: ERROR, 409: ERROR},
)
class VersionTransition(ModelScopedMixin, APIView):
    serializer_class = s.VersionOutput

    def post(self, request, name, version):
        data = s.TransitionInput(data=request.data)
        data.is_valid(raise_exception=True)
        target = selectors.version_get(user=request.user, model=self.get_model(), version=version, action=Action.CHANGE)
        governance_services.version_transition(actor=request.user, version=target, **data.validated_data)
        target = selectors.version_get(user=request.user, model=self.get_model(), version=version)
        return Response(s.VersionOutput(target, context={"request": request}).data)


@extend_schema_view(
    get=extend_schema(summary="List your API tokens", responses={200: s.TokenOutput(many=True)}),
    post=extend_schema(
        summary="Create an API token (the secret is in the response, once)",
        request=s.TokenCreateInput,
        responses={201: s.TokenCreatedOutput, 400: ERROR},
    ),
)
class TokenListCreate(generics.ListCreateAPIView):
    serializer_class = s.TokenOutput
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return selectors.token_list(user=self.request.user)

    def create(self, request, *args, **kwargs):
        # A token may not mint tokens unless it is itself an admin token: otherwise a read token could
        # create a write token and escalate.
        permissions.require_scope(request.user, TokenScope.ADMIN, "create API tokens")
        data = s.TokenCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        model_name = values.pop("model", None)
        model = selectors.model_get(user=request.user, name=model_name) if model_name else None
        token, secret = services.token_create(
            actor=request.user, user=request.user, model=model, scopes=values.pop("scopes"), **values
        )
        body = s.TokenCreatedOutput(token, context={"request": request, "secret": secret}).data
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema(summary="Revoke one of your API tokens", request=None, responses={204: None, 404: ERROR})
class TokenRevoke(APIView):
    def delete(self, request, prefix):
        permissions.require_scope(request.user, TokenScope.ADMIN, "revoke API tokens")
        token = selectors.token_list(user=request.user).filter(prefix=prefix).first()
        if token is None:
            raise Http404("No token with that prefix.")
        services.token_revoke(actor=request.user, token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Artifacts ---------------------------------------------------------------------------------------------


class VersionScopedMixin(ModelScopedMixin):
    def get_version(self, action: Action = Action.VIEW):
        return selectors.version_get(
            user=self.request.user, model=self.get_model(), version=self.kwargs["version"], action=action
        )


@extend_schema_view(
    get=extend_schema(summary="List a version's artifacts", responses={200: s.ArtifactOutput(many=True)}),
    post=extend_schema(
        summary="Upload an artifact (multipart); validation runs in the background",
        request={"multipart/form-data": s.ArtifactUploadInput},
        responses={202: s.ArtifactOutput, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR, 413: ERROR},
    ),
)
class ArtifactListCreate(VersionScopedMixin, generics.ListCreateAPIView):
    serializer_class = s.ArtifactOutput
    parser_classes = [MultiPartParser]
    pagination_class = None
    throttle_scope = "uploads"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Artifact.objects.none()
        return selectors.artifact_list(user=self.request.user, version=self.get_version())

    def get_throttles(self):
        if self.request.method == "POST":
            return [throttle() for throttle in UPLOAD_THROTTLES]
        return super().get_throttles()

    def create(self, request, *args, **kwargs):
        version = self.get_version(Action.UPLOAD)
        data = s.ArtifactUploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        artifact = services.artifact_upload(
            actor=request.user,
            version=version,
            uploaded_file=upload,
            filename=data.validated_data.get("filename") or upload.name,
            kind=data.validated_data["kind"],
            declared_sha256=data.validated_data.get("sha256"),
        )
        artifact.refresh_from_db()
        return Response(s.ArtifactOutput(artifact, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(
    summary="Upload an artifact as a raw streamed body (Content-Length required)",
    parameters=[
        OpenApiParameter("kind", str, enum=ArtifactKind.values, description="Artifact kind (default: other)."),
        OpenApiParameter("X-Checksum-Sha256", str, OpenApiParameter.HEADER, description="Expected SHA-256 (hex)."),
    ],
    request={"application/octet-stream": OpenApiTypes.BINARY},
    responses={202: s.ArtifactOutput, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR, 411: ERROR, 413: ERROR},
)
class ArtifactPut(VersionScopedMixin, APIView):
    serializer_class = s.ArtifactOutput
    parser_classes = []  # the body is read as a stream by registry.uploads, never parsed
    throttle_classes = UPLOAD_THROTTLES
    throttle_scope = "uploads"

    def put(self, request, name, version, filename):
        target = self.get_version(Action.UPLOAD)
        kind = request.query_params.get("kind") or request.headers.get("X-Artifact-Kind") or ArtifactKind.OTHER
        declared = request.headers.get("X-Checksum-Sha256") or request.query_params.get("sha256")
        upload = uploads.receive_raw_body(request._request, filename=filename)
        try:
            artifact = services.artifact_upload(
                actor=request.user,
                version=target,
                uploaded_file=upload,
                filename=filename,
                kind=kind,
                declared_sha256=declared,
            )
        finally:
            upload.close()
        artifact.refresh_from_db()
        return Response(s.ArtifactOutput(artifact, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    get=extend_schema(summary="Get an artifact (poll its status)", responses={200: s.ArtifactOutput, 404: ERROR}),
    delete=extend_schema(
        summary="Delete an artifact of a version still in development", responses={204: None, 403: ERROR, 409: ERROR}
    ),
)
class ArtifactDetail(VersionScopedMixin, APIView):
    serializer_class = s.ArtifactOutput

    def get_artifact(self):
        return selectors.artifact_get(
            user=self.request.user, version=self.get_version(), artifact_id=self.kwargs["artifact_id"]
        )

    def get(self, request, name, version, artifact_id):
        return Response(s.ArtifactOutput(self.get_artifact(), context={"request": request}).data)

    def delete(self, request, name, version, artifact_id):
        services.artifact_delete(actor=request.user, artifact=self.get_artifact())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    summary="Download an artifact (with Digest, Repr-Digest and ETag headers)",
    parameters=[
        OpenApiParameter("override", bool, description="Administrators only: download a rejected file (recorded).")
    ],
    responses={
        (200, "application/octet-stream"): OpenApiTypes.BINARY,
        302: OpenApiResponse(description="Redirect to a short-lived presigned URL (S3 storage)."),
        403: ERROR,
        404: ERROR,
        409: ERROR,
    },
)
class ArtifactDownload(VersionScopedMixin, APIView):
    def get(self, request, name, version, artifact_id):
        artifact = selectors.artifact_get(user=request.user, version=self.get_version(), artifact_id=artifact_id)
        override = request.query_params.get("override") in ("1", "true", "yes")
        return artifact_response(request, artifact, override=override)


# --- Access ----------------------------------------------------------------------------------------------


def _grant_row(grantee, codenames) -> dict:
    actions = [s.ACTION_NAMES[action] for action in Action if action.value in set(codenames)]
    if isinstance(grantee, Group):
        team = grantee.team
        return {"grantee_type": "team", "grantee": team.slug, "name": team.name, "actions": actions}
    username = grantee.get_username()
    return {"grantee_type": "user", "grantee": username, "name": username, "actions": actions}


@extend_schema_view(
    get=extend_schema(
        summary="List who holds which permissions on a model (anyone who may view it)",
        responses={200: s.GrantOutput(many=True), 404: ERROR},
    ),
    post=extend_schema(
        summary="Grant permissions on a model to a user or a team (needs manage_access; token scope admin)",
        description="Nobody can grant what they do not hold themselves. Granting what the grantee already holds "
        "changes nothing. Answers with the grantee's permissions afterwards.",
        request=s.GrantInput,
        responses={200: s.GrantOutput, 400: ERROR, 403: ERROR, 404: ERROR},
    ),
)
class ModelAccess(ModelScopedMixin, APIView):
    def get(self, request, name):
        grants = selectors.access_list(user=request.user, model=self.get_model())
        rows = [_grant_row(team, codes) for team, codes in grants["teams"]]
        rows += [_grant_row(user, codes) for user, codes in grants["users"]]
        return Response(s.GrantOutput(rows, many=True).data)

    def post(self, request, name):
        model = self.get_model(Action.MANAGE_ACCESS)
        data = s.GrantInput(data=request.data)
        data.is_valid(raise_exception=True)
        grantee = data.validated_data["grantee"]
        held = services.access_grant(
            actor=request.user, model=model, grantee=grantee, actions=data.validated_data["actions"]
        )
        return Response(s.GrantOutput(_grant_row(grantee, held)).data)


ACTIONS_PARAMETER = OpenApiParameter(
    "actions",
    OpenApiTypes.STR,
    many=True,
    description="The permissions to revoke (repeat, or separate with commas); all of them if omitted.",
    enum=list(s.ACTIONS_BY_NAME),
)


class _AccessRevoke(ModelScopedMixin, APIView):
    """Revoke a grantee's permissions on a model: all of them, or those named in `?actions=`."""

    def get_grantee(self, ident: str):
        raise NotImplementedError

    def delete(self, request, name, grantee):
        model = self.get_model(Action.MANAGE_ACCESS)
        target = self.get_grantee(grantee)
        names = [n.strip() for value in request.query_params.getlist("actions") for n in value.split(",") if n.strip()]
        unknown = sorted(set(names) - set(s.ACTIONS_BY_NAME))
        if unknown:
            raise InvalidInput(
                f"Unknown permission: {', '.join(unknown)}.",
                fields={"actions": [f"Pick from: {', '.join(s.ACTIONS_BY_NAME)}."]},
            )
        actions = [s.ACTIONS_BY_NAME[n] for n in names] or list(Action)
        services.access_revoke(actor=request.user, model=model, grantee=target, actions=actions)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    summary="Revoke a user's permissions on a model (needs manage_access; token scope admin)",
    parameters=[ACTIONS_PARAMETER],
    request=None,
    responses={204: None, 400: ERROR, 403: ERROR, 404: ERROR},
)
class ModelAccessUserRevoke(_AccessRevoke):
    def get_grantee(self, ident: str):
        user = User.objects.filter(username=ident).first()
        if user is None:
            raise Http404(f"No user '{ident}'.")
        return user


@extend_schema(
    summary="Revoke a team's permissions on a model (needs manage_access; token scope admin)",
    parameters=[ACTIONS_PARAMETER],
    request=None,
    responses={204: None, 400: ERROR, 403: ERROR, 404: ERROR},
)
class ModelAccessTeamRevoke(_AccessRevoke):
    def get_grantee(self, ident: str):
        team = Team.objects.select_related("group").filter(slug=ident).first()
        if team is None:
            raise Http404(f"No team '{ident}'.")
        return team.group
