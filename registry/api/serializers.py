"""Input serializers validate shapes; output serializers render. Business rules stay in the services."""

from __future__ import annotations

from collections.abc import Mapping

from django.contrib.auth import get_user_model
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from registry.choices import ArtifactKind, Framework, Stage, TaskType, TokenScope, Visibility
from registry.exceptions import InvalidInput
from registry.models import MODEL_NAME_MAX_LENGTH, ApiToken, Artifact, Metric, ModelVersion, RegisteredModel, Team
from registry.permissions import Action

User = get_user_model()


class RejectUnknownFields:
    """Mixed into every serializer that reads a v1 request body: a field the endpoint does not take (or only
    shows) is refused with 400 `unknown_field` instead of being ignored, so `{"stage": "staging"}` sent to
    `promote/` cannot look as if it had done something."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            accepted = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - accepted)
            if unknown:
                listed = ", ".join(sorted(accepted)) or "no fields"
                plural = "s" if len(unknown) > 1 else ""
                raise InvalidInput(
                    f"Unknown field{plural} {', '.join(unknown)}: this request takes {listed}.",
                    code="unknown_field",
                    fields={name: ["Unknown field."] for name in unknown},
                )
        return super().to_internal_value(data)


class InputSerializer(RejectUnknownFields, serializers.Serializer):
    """Base of the v1 API's input serializers."""


class MetricSerializer(serializers.ModelSerializer):
    class Meta:
        model = Metric
        fields = ["name", "value", "dataset", "split"]
        extra_kwargs = {"dataset": {"required": False}, "split": {"required": False}}


class ModelOutput(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None)
    updated_by = serializers.CharField(source="updated_by.username", read_only=True, default=None)
    url = serializers.SerializerMethodField()
    versions_url = serializers.SerializerMethodField()
    web_url = serializers.SerializerMethodField()

    class Meta:
        model = RegisteredModel
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
            "risk_tier",
            "visibility",
            "tags",
            "latest_version",
            "latest_stage",
            "created_at",
            "updated_at",
            "created_by",
            "updated_by",
            "url",
            "versions_url",
            "web_url",
        ]
        read_only_fields = fields

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_url(self, obj: RegisteredModel) -> str:
        return self._absolute(reverse("api:model-detail", kwargs={"name": obj.name}))

    def get_versions_url(self, obj: RegisteredModel) -> str:
        return self._absolute(reverse("api:version-list", kwargs={"name": obj.name}))

    def get_web_url(self, obj: RegisteredModel) -> str:
        return self._absolute(obj.get_absolute_url())


class TagsField(serializers.DictField):
    def __init__(self, **kwargs):
        super().__init__(child=serializers.CharField(allow_blank=True, max_length=5000), **kwargs)


class ModelCreateInput(InputSerializer):
    name = serializers.CharField(max_length=MODEL_NAME_MAX_LENGTH)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all(), required=False, allow_null=True)
    task_type = serializers.ChoiceField(choices=TaskType.choices, required=False)
    framework = serializers.ChoiceField(choices=Framework.choices, required=False)
    intended_use = serializers.CharField(required=False, allow_blank=True, default="")
    out_of_scope_uses = serializers.CharField(required=False, allow_blank=True, default="")
    limitations = serializers.CharField(required=False, allow_blank=True, default="")
    visibility = serializers.ChoiceField(choices=Visibility.choices, required=False)
    tags = TagsField(required=False)


class ModelUpdateInput(InputSerializer):
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all(), required=False, allow_null=True)
    task_type = serializers.ChoiceField(choices=TaskType.choices, required=False)
    framework = serializers.ChoiceField(choices=Framework.choices, required=False)
    intended_use = serializers.CharField(required=False, allow_blank=True)
    out_of_scope_uses = serializers.CharField(required=False, allow_blank=True)
    limitations = serializers.CharField(required=False, allow_blank=True)
    visibility = serializers.ChoiceField(choices=Visibility.choices, required=False)
    tags = TagsField(required=False)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            refused = sorted(set(data) & {"name", "owner", "risk_tier", "latest_version", "latest_stage"})
            if refused:
                raise serializers.ValidationError(
                    {
                        field: [
                            "Read-only here: rename with the MLflow rename call, risk tier comes from assessments."
                            if field in {"name", "risk_tier"}
                            else "Read-only."
                        ]
                        for field in refused
                    }
                )
        return super().to_internal_value(data)


class ArtifactOutput(serializers.ModelSerializer):
    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True, default=None)
    sha256 = serializers.SerializerMethodField(help_text="Hex SHA-256, computed by the worker (null until then).")
    url = serializers.SerializerMethodField(help_text="This artifact's API URL: poll it for the status.")
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Artifact
        fields = [
            "id",
            "filename",
            "kind",
            "size",
            "status",
            "sha256",
            "declared_sha256",
            "format",
            "findings",
            "scanners",
            "uploaded_by",
            "uploaded_at",
            "validated_at",
            "verified_at",
            "url",
            "download_url",
        ]
        read_only_fields = fields

    def _route_kwargs(self, obj: Artifact) -> dict:
        return {"name": obj.version.model.name, "version": obj.version.version, "artifact_id": obj.pk}

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_sha256(self, obj: Artifact) -> str | None:
        return obj.sha256 or None

    def get_url(self, obj: Artifact) -> str:
        return self._absolute(reverse("api:artifact-detail", kwargs=self._route_kwargs(obj)))

    def get_download_url(self, obj: Artifact) -> str:
        return self._absolute(reverse("api:artifact-download", kwargs=self._route_kwargs(obj)))


class ArtifactUploadInput(InputSerializer):
    file = serializers.FileField(help_text="The file, as multipart/form-data. Streamed to disk, never held in memory.")
    kind = serializers.ChoiceField(choices=ArtifactKind.choices, default=ArtifactKind.OTHER)
    sha256 = serializers.CharField(
        required=False, allow_blank=True, help_text="Optional SHA-256 you expect; a mismatch rejects the file."
    )
    filename = serializers.CharField(required=False, help_text="Defaults to the uploaded file's name.")


class VersionOutput(serializers.ModelSerializer):
    model = serializers.CharField(source="model.name", read_only=True)
    metrics = MetricSerializer(many=True, read_only=True)
    artifacts = ArtifactOutput(many=True, read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None)
    metadata_frozen = serializers.BooleanField(read_only=True)
    url = serializers.SerializerMethodField()
    web_url = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = [
            "model",
            "version",
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
            "metrics",
            "artifacts",
            "stage",
            "stage_changed_at",
            "metadata_frozen",
            "created_by",
            "created_at",
            "updated_at",
            "url",
            "web_url",
        ]
        read_only_fields = fields

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_url(self, obj: ModelVersion) -> str:
        return self._absolute(reverse("api:version-detail", kwargs={"name": obj.model.name, "version": obj.version}))

    def get_web_url(self, obj: ModelVersion) -> str:
        return self._absolute(obj.get_absolute_url())


class VersionCreateInput(InputSerializer):
    description = serializers.CharField(required=False, allow_blank=True, default="")
    source = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")
    run_id = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    run_link = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")
    hyperparameters = serializers.DictField(required=False, default=dict)
    training_data = serializers.ListField(child=serializers.CharField(max_length=1000), required=False, default=list)
    framework = serializers.ChoiceField(choices=Framework.choices, required=False, allow_blank=True, default="")
    framework_version = serializers.CharField(required=False, allow_blank=True, max_length=50, default="")
    library_versions = serializers.DictField(child=serializers.CharField(), required=False, default=dict)
    tags = TagsField(required=False, default=dict)
    metrics = MetricSerializer(many=True, required=False, default=list)


class VersionUpdateInput(InputSerializer):
    description = serializers.CharField(required=False, allow_blank=True)
    source = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    run_id = serializers.CharField(required=False, allow_blank=True, max_length=100)
    run_link = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    hyperparameters = serializers.DictField(required=False)
    training_data = serializers.ListField(child=serializers.CharField(max_length=1000), required=False)
    framework = serializers.ChoiceField(choices=Framework.choices, required=False, allow_blank=True)
    framework_version = serializers.CharField(required=False, allow_blank=True, max_length=50)
    library_versions = serializers.DictField(child=serializers.CharField(), required=False)
    tags = TagsField(required=False)
    metrics = MetricSerializer(many=True, required=False)

    def to_internal_value(self, data):
        if isinstance(data, dict) and "stage" in data:
            raise serializers.ValidationError(
                {"stage": ["Stages change through POST .../transition/, which applies the approval gate."]}
            )
        return super().to_internal_value(data)


class TransitionInput(InputSerializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    justification = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    archive_existing_versions = serializers.BooleanField(
        required=False,
        help_text="Archive the other versions in the target stage (as MLflow's option). When omitted, a promotion "
        "to production archives the version it replaces and a move to staging archives none.",
    )


class TokenOutput(serializers.ModelSerializer):
    model = serializers.CharField(source="model.name", read_only=True, default=None)
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "prefix",
            "name",
            "scopes",
            "model",
            "created_at",
            "expires_at",
            "last_used_at",
            "last_used_ip",
            "revoked_at",
            "active",
        ]
        read_only_fields = fields


class TokenCreateInput(InputSerializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.MultipleChoiceField(choices=TokenScope.choices)
    expires_days = serializers.IntegerField(required=False, min_value=0, max_value=3650, allow_null=True)
    model = serializers.CharField(required=False, allow_null=True, allow_blank=True)


class TokenCreatedOutput(TokenOutput):
    token = serializers.SerializerMethodField(help_text="The secret. Shown once; store it now.")

    class Meta(TokenOutput.Meta):
        fields = [*TokenOutput.Meta.fields, "token"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_token(self, obj) -> str:
        return self.context["secret"]


# Per-model permissions by the names the API uses: view, change, delete, upload_artifact, submit_for_approval,
# manage_access.
ACTION_NAMES = {action: action.value.removesuffix("_registeredmodel") for action in Action}
ACTIONS_BY_NAME = {name: action for action, name in ACTION_NAMES.items()}


class GrantOutput(serializers.Serializer):
    grantee_type = serializers.ChoiceField(
        choices=["user", "team", "group"],
        help_text="`group`: a group that is not a team, e.g. a review committee granted `view` when an approval "
        "request was routed to it (listed, managed by the governance workflow rather than this endpoint).",
    )
    grantee = serializers.CharField(help_text="The username, the team's slug, or the group's name.")
    name = serializers.CharField(help_text="The username, or the team's or committee's display name.")
    actions = serializers.ListField(child=serializers.ChoiceField(choices=list(ACTIONS_BY_NAME)))


class GrantInput(InputSerializer):
    user = serializers.CharField(required=False, help_text="Grant to this user (username)...")
    team = serializers.CharField(required=False, help_text="...or to this team (slug). Exactly one of the two.")
    actions = serializers.ListField(
        child=serializers.ChoiceField(choices=list(ACTIONS_BY_NAME)),
        allow_empty=False,
        help_text="What the grantee may do; you can only grant what you hold yourself.",
    )

    def validate(self, data):
        if bool(data.get("user")) == bool(data.get("team")):
            raise serializers.ValidationError({"user": ["Give either a user or a team."]})
        if data.get("user"):
            user = User.objects.filter(username=data["user"], is_active=True).first()
            if user is None:
                raise serializers.ValidationError({"user": ["No active user with this username."]})
            data["grantee"] = user
        else:
            team = Team.objects.select_related("group").filter(slug=data["team"]).first()
            if team is None:
                raise serializers.ValidationError({"team": ["No team with this slug."]})
            data["grantee"] = team.group
        data["actions"] = [ACTIONS_BY_NAME[name] for name in data["actions"]]
        return data
