"""The catalog's entities. Models are thin: rules live in `services.py`, reads in `selectors.py`."""

from __future__ import annotations

import re
import unicodedata

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from registry.choices import (
    ArtifactKind,
    ArtifactStatus,
    Framework,
    ImportStatus,
    RiskTier,
    Stage,
    TaskType,
    TokenScope,
    Visibility,
)
from registry.rendering import render_markdown

MODEL_NAME_MAX_LENGTH = 256  # MLflow's limit
NAME_KEY_MAX_LENGTH = 4 * MODEL_NAME_MAX_LENGTH  # NFKC can expand a character
LOOK_ALIKE = re.compile(r"[-_.\s]")


def model_name_validator(value: str) -> None:
    """The names MLflow accepts (spaces included), less what cannot be routed safely or reads as another name:
    `/` and `:` (MLflow refuses them too), control characters, `.`, names starting with `..` (MLflow's path
    rule) and a trailing dot (a look-alike of the name without it)."""
    if not value or not value.strip():
        raise ValidationError("Enter a name.", code="invalid_name")
    if "/" in value or ":" in value:
        raise ValidationError("Names cannot contain '/' or ':'.", code="invalid_name")
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise ValidationError("Names cannot contain control characters.", code="invalid_name")
    if value == "." or value.startswith(".."):
        raise ValidationError("Names cannot be '.' or start with '..'.", code="invalid_name")
    if value.endswith("."):
        raise ValidationError("Names cannot end with a dot.", code="invalid_name")
    if len(model_name_key(value)) > NAME_KEY_MAX_LENGTH:
        raise ValidationError("This name is too long once normalised.", code="invalid_name")


def model_name_key(name: str) -> str:
    """The name as uniqueness sees it: NFKC-normalised, case-folded, with '-', '_', '.' and white space read as
    one character, so `Credit_Scoring` and `credit-scoring` are the same name."""
    return LOOK_ALIKE.sub("-", unicodedata.normalize("NFKC", name).casefold())


class Team(models.Model):
    """A group of people that owns models. Backed by a Django group so permissions can be granted to it."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="team")

    audit_type = "team"

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MarkdownDescribed(models.Model):
    """An entity whose `description` is Markdown. Its sanitised HTML is rendered once, when the description is
    saved, and kept in `description_html`: pages show the stored HTML and never render on a view. Writes that
    bypass `save()` (bulk inserts) leave it empty until `manage.py markdown_render`."""

    description_html = models.TextField(blank=True, editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "description" in update_fields:
            self.description_html = str(render_markdown(self.description))
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "description_html"}
        super().save(*args, **kwargs)

    @property
    def description_rendered(self) -> SafeString:
        return mark_safe(self.description_html)  # noqa: S308  (cleaned by nh3 when it was rendered)


class RegisteredModel(MarkdownDescribed):
    """A model the organisation builds: its documentation, ownership, risk tier and numbered versions.

    `version_counter` only ever grows, so a deleted version's number is never reused. `latest_version` and
    `latest_stage` are kept by the services so the catalog can filter and show them without a join.
    """

    name = models.CharField(max_length=MODEL_NAME_MAX_LENGTH, unique=True, validators=[model_name_validator])
    # `model_name_key(name)`, set by the services: one model per key, so look-alike names cannot coexist.
    name_key = models.CharField(max_length=NAME_KEY_MAX_LENGTH, unique=True, editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Markdown.")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_models")
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="models")
    task_type = models.CharField(max_length=30, choices=TaskType.choices, default=TaskType.OTHER)
    framework = models.CharField(max_length=30, choices=Framework.choices, default=Framework.OTHER)
    intended_use = models.TextField(blank=True)
    out_of_scope_uses = models.TextField(blank=True)
    limitations = models.TextField(blank=True)
    risk_tier = models.CharField(max_length=20, choices=RiskTier.choices, default=RiskTier.UNASSESSED)
    visibility = models.CharField(max_length=20, choices=Visibility.choices, default=Visibility.INTERNAL)
    tags = models.JSONField(default=dict, blank=True)

    version_counter = models.PositiveIntegerField(default=0, editable=False)
    latest_version = models.PositiveIntegerField(null=True, blank=True, editable=False)
    latest_stage = models.CharField(max_length=20, choices=Stage.choices, blank=True, editable=False)
    # The version serving in production (the one most recently promoted), kept by the services.
    production_version = models.PositiveIntegerField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    # Filled by a PostgreSQL trigger (migration 0002) from name, title, description and tag values.
    search_vector = SearchVectorField(null=True, editable=False)

    audit_type = "model"

    class Meta:
        ordering = ["name"]
        permissions = [
            ("upload_artifact", "Can upload artifacts to the model's versions"),
            ("submit_for_approval", "Can submit the model's versions for approval"),
            ("manage_access", "Can grant and revoke access to the model"),
        ]
        indexes = [
            models.Index(fields=["risk_tier", "name"], name="model_risk_name_idx"),
            models.Index(fields=["latest_stage", "name"], name="model_stage_name_idx"),
            models.Index(fields=["framework", "name"], name="model_framework_name_idx"),
            models.Index(fields=["task_type", "name"], name="model_task_name_idx"),
            models.Index(fields=["visibility"], name="model_visibility_idx"),
            models.Index(fields=["-updated_at"], name="model_updated_idx"),
            models.Index(fields=["-created_at"], name="model_created_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("registry:model-detail", kwargs={"name": self.name})

    @property
    def audit_model(self) -> RegisteredModel:
        return self


class ModelVersion(MarkdownDescribed):
    """One numbered version of a model: what produced it, how it scores, and where it is in its lifecycle.

    Numbers are assigned by `services.version_register` under a lock on the model row; the unique constraint
    is the backstop. Metadata is frozen once the version leaves development, except the free-text
    `description` (commentary, editable at any stage and audited).
    """

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField(editable=False)
    description = models.TextField(blank=True)
    source = models.CharField(max_length=1000, blank=True, help_text="URI of the training run or code commit.")
    run_id = models.CharField(max_length=100, blank=True)
    run_link = models.CharField(max_length=1000, blank=True)
    hyperparameters = models.JSONField(default=dict, blank=True)
    training_data = models.JSONField(default=list, blank=True, help_text="URIs of the datasets used for training.")
    framework = models.CharField(max_length=30, choices=Framework.choices, blank=True)
    framework_version = models.CharField(max_length=50, blank=True)
    library_versions = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.DEVELOPMENT)
    stage_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Importing the files under `source` when it lies in an allowed store (registry.imports), moved forward
    # only by conditional updates like an artifact's status.
    import_status = models.CharField(max_length=20, choices=ImportStatus.choices, blank=True, editable=False)
    import_message = models.TextField(blank=True, editable=False)
    import_attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    import_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    registered_model_path = "model"
    audit_type = "version"

    class Meta:
        ordering = ["model", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["model", "version"], name="version_unique_per_model"),
            models.CheckConstraint(condition=Q(version__gte=1), name="version_positive"),
        ]
        indexes = [models.Index(fields=["stage"], name="version_stage_idx")]

    def __str__(self) -> str:
        return f"{self.model.name} v{self.version}"

    def get_absolute_url(self) -> str:
        return reverse("registry:version-detail", kwargs={"name": self.model.name, "version": self.version})

    @property
    def metadata_frozen(self) -> bool:
        return self.stage != Stage.DEVELOPMENT

    @property
    def audit_model(self) -> RegisteredModel:
        return self.model


class Metric(models.Model):
    """An evaluation result of a version: a named value, on a dataset and split (e.g. accuracy on test)."""

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="metrics")
    name = models.CharField(max_length=100)
    value = models.FloatField()
    dataset = models.CharField(max_length=200, blank=True)
    split = models.CharField(max_length=50, blank=True)

    registered_model_path = "version__model"

    class Meta:
        ordering = ["name", "dataset", "split"]
        constraints = [
            models.UniqueConstraint(fields=["version", "name", "dataset", "split"], name="metric_unique_per_version")
        ]

    def __str__(self) -> str:
        where = "/".join(p for p in (self.dataset, self.split) if p)
        return f"{self.name}={self.value:g}" + (f" ({where})" if where else "")


class Artifact(models.Model):
    """A file of a model version: weights, configs, docs. Stored once, by content, and checked by a worker.

    The upload lands under `uploads/<uuid>`; the validation task hashes and scans it, then moves it to
    `blobs/sha256/<aa>/<digest>` (identical files share one blob; a blob is never overwritten). The database
    row is the source of truth for the artifact's state, moved forward only by conditional updates.
    """

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="artifacts")
    kind = models.CharField(max_length=30, choices=ArtifactKind.choices, default=ArtifactKind.OTHER)
    filename = models.CharField(max_length=255)
    size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    declared_sha256 = models.CharField(max_length=64, blank=True)
    format = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=20, choices=ArtifactStatus.choices, default=ArtifactStatus.PENDING)
    findings = models.JSONField(default=list, blank=True)
    scanners = models.JSONField(default=dict, blank=True)
    storage_key = models.CharField(max_length=500)
    attempts = models.PositiveSmallIntegerField(default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", editable=False
    )
    uploaded_at = models.DateTimeField(default=timezone.now, editable=False)
    status_changed_at = models.DateTimeField(default=timezone.now, editable=False)
    validated_at = models.DateTimeField(null=True, blank=True, editable=False)
    verified_at = models.DateTimeField(null=True, blank=True, editable=False)

    registered_model_path = "version__model"
    audit_type = "artifact"

    class Meta:
        ordering = ["version", "filename"]
        constraints = [
            models.UniqueConstraint(fields=["version", "filename"], name="artifact_filename_unique_per_version")
        ]
        indexes = [models.Index(fields=["status", "status_changed_at"], name="artifact_status_idx")]

    def __str__(self) -> str:
        return f"{self.version} {self.filename}"

    @property
    def audit_model(self) -> RegisteredModel:
        return self.version.model

    @property
    def in_progress(self) -> bool:
        return self.status in (ArtifactStatus.PENDING, ArtifactStatus.VALIDATING)


ALIAS_PATTERN = r"^(?!v\d+$)(?!latest$)[A-Za-z0-9_-]{1,64}$"
alias_name_validator = RegexValidator(
    ALIAS_PATTERN,
    "Use 1-64 letters, digits, dashes or underscores; 'latest' and 'v<number>' are reserved.",
    code="invalid_alias",
)


class ModelAlias(models.Model):
    """A named pointer to one version of a model (`champion`, `challenger`, `production`). Unique per model.
    Pipelines resolve aliases to deploy; moving `production` passes the same gate as the production stage."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="aliases")
    name = models.CharField(max_length=64, validators=[alias_name_validator])
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="aliases")
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", editable=False
    )

    registered_model_path = "model"
    audit_type = "alias"

    class Meta:
        ordering = ["model", "name"]
        constraints = [models.UniqueConstraint(fields=["model", "name"], name="alias_unique_per_model")]

    def __str__(self) -> str:
        return f"{self.model.name}@{self.name}"

    @property
    def audit_model(self) -> RegisteredModel:
        return self.model


class ServiceAccount(models.Model):
    """Marks a user as a machine identity for pipelines: it has no password and cannot sign in to the UI."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="service_account")
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    audit_type = "service_account"

    def __str__(self) -> str:
        return self.user.get_username()


class ApiToken(models.Model):
    """A bearer token for the API. Only the SHA-256 of the secret is stored; the secret is shown once.

    A token never grants more than its owner holds: its scopes and optional model restriction only narrow.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)
    model = models.ForeignKey(
        RegisteredModel,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="If set, the token can only reach this model.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    audit_type = "token"

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    def has_scope(self, scope: str) -> bool:
        granted = set(self.scopes)
        if TokenScope.ADMIN in granted:
            granted |= {TokenScope.WRITE, TokenScope.READ}
        if TokenScope.WRITE in granted or TokenScope.VOTE in granted:
            granted.add(TokenScope.READ)  # voting needs to read what is voted on
        return scope in granted


class RegisteredModelUserObjectPermission(UserObjectPermissionBase):
    """Per-model grants to a user (django-guardian direct foreign key table: joins instead of generic keys)."""

    content_object = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE)


class RegisteredModelGroupObjectPermission(GroupObjectPermissionBase):
    """Per-model grants to a team's group."""

    content_object = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE)
