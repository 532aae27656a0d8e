"""v1 API for risk assessments and the risk register: the same services, selectors and permissions as the
pages. Templates are read-only here (they are maintained in the UI or seeded from files)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from governance import questionnaire, selectors, services
from governance.choices import (
    OPEN_RISK_STATUSES,
    AssessmentFramework,
    AssessmentStatus,
    EvidenceKind,
    RiskCategory,
    RiskStatus,
)
from governance.models import Assessment, AssessmentEvidence, AssessmentTemplate, Risk
from registry import permissions
from registry import selectors as registry_selectors
from registry.api.parsers import JSONParser
from registry.api.serializers import InputSerializer
from registry.choices import RiskTier
from registry.exceptions import InvalidInput, NotFound

User = get_user_model()
ERROR = OpenApiResponse(description='`{"error": {"code", "message", "fields"}}`')


def _absolute(serializer, path: str) -> str:
    request = serializer.context.get("request")
    return request.build_absolute_uri(path) if request else path


# --- Serializers ----------------------------------------------------------------------------------------------


class TemplateSummaryOutput(serializers.ModelSerializer):
    framework = serializers.ChoiceField(choices=AssessmentFramework.choices)
    question_count = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = AssessmentTemplate
        fields = ["id", "key", "version", "title", "framework", "description", "classifies", "question_count",
                  "created_at", "url"]  # fmt: skip
        read_only_fields = fields

    def get_question_count(self, obj: AssessmentTemplate) -> int:
        return sum(len(section["questions"]) for section in obj.sections)

    def get_url(self, obj: AssessmentTemplate) -> str:
        return _absolute(self, reverse("governance_api:template-detail", kwargs={"pk": obj.pk}))


class TemplateOutput(TemplateSummaryOutput):
    definition = serializers.JSONField(help_text="Sections, questions and scoring rules: docs/risk-assessments.md.")

    class Meta(TemplateSummaryOutput.Meta):
        fields = [*TemplateSummaryOutput.Meta.fields, "definition"]
        read_only_fields = fields


class EvidenceOutput(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=EvidenceKind.choices)
    added_by = serializers.CharField(source="added_by.username")
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = AssessmentEvidence
        fields = ["id", "question_id", "kind", "title", "url", "filename", "size", "sha256", "added_by", "added_at",
                  "download_url"]  # fmt: skip
        read_only_fields = fields

    def get_download_url(self, obj: AssessmentEvidence) -> str | None:
        if obj.kind != EvidenceKind.FILE:
            return None
        return _absolute(self, reverse("governance:evidence-download", kwargs={"pk": obj.pk}))


class TemplateRef(serializers.ModelSerializer):
    class Meta:
        model = AssessmentTemplate
        fields = ["id", "key", "version", "title"]
        read_only_fields = fields


class AssessmentOutput(serializers.ModelSerializer):
    model = serializers.CharField(source="model.name")
    model_version = serializers.IntegerField(source="model_version.version", allow_null=True, default=None)
    template = TemplateRef()
    status = serializers.ChoiceField(choices=AssessmentStatus.choices)
    tier = serializers.SerializerMethodField(
        help_text="The tier the answers give; null when the template does not classify."
    )
    explanation = serializers.JSONField(help_text="summary, rules (with the answers they cite), flags, references.")
    assessor = serializers.CharField(source="assessor.username")
    submitted_by = serializers.CharField(source="submitted_by.username", allow_null=True, default=None)
    reviewer = serializers.CharField(source="reviewer.username", allow_null=True, default=None)
    missing = serializers.SerializerMethodField(help_text="Required questions shown and not yet answered.")
    evidence = EvidenceOutput(many=True, read_only=True)
    url = serializers.SerializerMethodField()
    web_url = serializers.SerializerMethodField()

    class Meta:
        model = Assessment
        fields = ["id", "model", "model_version", "template", "status", "answers", "score", "max_score", "tier",
                  "explanation", "missing", "assessor", "submitted_at", "submitted_by", "reviewer", "review_comment",
                  "reviewed_at", "valid_until", "expired_at", "evidence", "created_at", "updated_at", "url",
                  "web_url"]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=RiskTier.choices, allow_null=True))
    def get_tier(self, obj: Assessment) -> str | None:
        return obj.tier or None

    def get_missing(self, obj: Assessment) -> list[str]:
        evidence = {e.question_id for e in obj.evidence.all() if e.question_id}
        return list(questionnaire.missing_answers(obj.template.definition, obj.answers, evidence))

    def get_url(self, obj: Assessment) -> str:
        return _absolute(self, reverse("governance_api:assessment-detail", kwargs={"pk": obj.pk}))

    def get_web_url(self, obj: Assessment) -> str:
        return _absolute(self, obj.get_absolute_url())


class AssessmentCreateInput(InputSerializer):
    template = serializers.CharField(help_text="The template's key, e.g. `eu-ai-act`; its latest version is used.")
    model_version = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class AnswersInput(InputSerializer):
    answers = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        help_text="Question id to answer (merged into the saved answers; null clears one). Yes/no as true/false, "
        "choices as option values, multiple choice as a list.",
    )


class DecisionInput(InputSerializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class ReturnInput(InputSerializer):
    comment = serializers.CharField(max_length=5000, help_text="What needs to change.")


class EvidenceInput(InputSerializer):
    file = serializers.FileField(required=False, help_text="A file (multipart). Stored by its SHA-256 digest.")
    url = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    title = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    question_id = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)


class RiskOutput(serializers.ModelSerializer):
    model = serializers.CharField(source="model.name")
    category = serializers.ChoiceField(choices=RiskCategory.choices)
    status = serializers.ChoiceField(choices=RiskStatus.choices)
    owner = serializers.CharField(source="owner.username")
    assessment = serializers.IntegerField(source="assessment_id", allow_null=True)
    inherent_band = serializers.CharField(allow_null=True)
    residual_band = serializers.CharField(allow_null=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Risk
        fields = ["id", "model", "title", "description", "category", "likelihood", "impact", "inherent_rating",
                  "inherent_band", "mitigation", "residual_likelihood", "residual_impact", "residual_rating",
                  "residual_band", "owner", "due_date", "status", "assessment", "question_ids", "created_at",
                  "updated_at", "url"]  # fmt: skip
        read_only_fields = fields

    def get_url(self, obj: Risk) -> str:
        return _absolute(self, reverse("governance_api:risk-detail", kwargs={"pk": obj.pk}))


class RiskInput(InputSerializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    category = serializers.ChoiceField(choices=RiskCategory.choices, required=False)
    likelihood = serializers.IntegerField(min_value=1, max_value=5)
    impact = serializers.IntegerField(min_value=1, max_value=5)
    mitigation = serializers.CharField(required=False, allow_blank=True)
    residual_likelihood = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    residual_impact = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    owner = serializers.SlugRelatedField(slug_field="username", queryset=User.objects.filter(is_active=True))
    due_date = serializers.DateField(required=False, allow_null=True)
    status = serializers.ChoiceField(choices=RiskStatus.choices, required=False)
    assessment = serializers.IntegerField(
        required=False, allow_null=True, help_text="Id of the assessment that raised it."
    )
    question_ids = serializers.ListField(child=serializers.CharField(max_length=64), required=False)


# --- Views ----------------------------------------------------------------------------------------------------


def _assessment_out(request, assessment: Assessment) -> dict:
    fresh = selectors.assessment_get(user=request.user, pk=assessment.pk)
    return AssessmentOutput(fresh, context={"request": request}).data


class _AssessmentMixin:
    def get_assessment(self) -> Assessment:
        return selectors.assessment_get(user=self.request.user, pk=self.kwargs["pk"])


def _assessment_queryset(queryset):
    return queryset.prefetch_related("evidence__added_by")


@extend_schema_view(
    get=extend_schema(
        summary="List questionnaire templates (latest versions)",
        parameters=[
            OpenApiParameter("all_versions", OpenApiTypes.BOOL, description="Every version, not only the latest.")
        ],
        responses={200: TemplateSummaryOutput(many=True)},
    )
)
class TemplateList(generics.ListAPIView):
    serializer_class = TemplateSummaryOutput

    def get_queryset(self):
        all_versions = self.request.query_params.get("all_versions", "").lower() in ("1", "true", "yes")
        return selectors.template_list(user=self.request.user, all_versions=all_versions)


@extend_schema(summary="Get a questionnaire template with its definition", responses={200: TemplateOutput, 404: ERROR})
class TemplateDetail(APIView):
    serializer_class = TemplateOutput

    def get(self, request, pk):
        return Response(
            TemplateOutput(selectors.template_get(user=request.user, pk=pk), context={"request": request}).data
        )


ASSESSMENT_FILTERS = [
    OpenApiParameter("status", OpenApiTypes.STR, enum=AssessmentStatus.values, description="Only this status."),
]


@extend_schema_view(
    get=extend_schema(
        summary="List the assessments of the models you can see", parameters=ASSESSMENT_FILTERS,
        responses={200: AssessmentOutput(many=True)},
    )
)  # fmt: skip
class AssessmentList(generics.ListAPIView):
    serializer_class = AssessmentOutput

    def get_queryset(self):
        wanted = self.request.query_params.get("status")
        statuses = [wanted] if wanted in AssessmentStatus.values else None
        return _assessment_queryset(selectors.assessment_list(user=self.request.user, statuses=statuses))


@extend_schema_view(
    get=extend_schema(
        summary="List a model's assessments",
        parameters=ASSESSMENT_FILTERS,
        responses={200: AssessmentOutput(many=True)},
    ),
    post=extend_schema(
        summary="Start an assessment of the model (owners and risk officers)",
        request=AssessmentCreateInput,
        responses={201: AssessmentOutput, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
    ),
)
class ModelAssessments(generics.ListCreateAPIView):
    serializer_class = AssessmentOutput

    def get_model(self):
        if not hasattr(self, "_model"):
            self._model = registry_selectors.model_get(user=self.request.user, name=self.kwargs["name"])
        return self._model

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Assessment.objects.none()
        wanted = self.request.query_params.get("status")
        statuses = [wanted] if wanted in AssessmentStatus.values else None
        queryset = selectors.assessment_list(user=self.request.user, model=self.get_model(), statuses=statuses)
        return _assessment_queryset(queryset)

    def create(self, request, *args, **kwargs):
        data = AssessmentCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        model = self.get_model()
        template = selectors.template_latest(key=data.validated_data["template"])
        if template is None:
            raise InvalidInput("No template with that key.", fields={"template": ["Unknown template key."]})
        number = data.validated_data.get("model_version")
        version = None
        if number:
            version = model.versions.filter(version=number).first()
            if version is None:
                raise NotFound(
                    f"'{model.name}' has no version {number}.", fields={"model_version": ["No such version."]}
                )
        assessment = services.assessment_create(
            actor=request.user, model=model, template=template, model_version=version
        )
        return Response(_assessment_out(request, assessment), status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary="Get an assessment", responses={200: AssessmentOutput, 404: ERROR}),
    patch=extend_schema(
        summary="Answer questions (merged into the saved answers; the score and tier are recomputed)",
        request=AnswersInput,
        responses={200: AssessmentOutput, 400: ERROR, 403: ERROR, 409: ERROR},
    ),
)
class AssessmentDetail(_AssessmentMixin, APIView):
    serializer_class = AssessmentOutput

    def get(self, request, pk):
        return Response(_assessment_out(request, self.get_assessment()))

    def patch(self, request, pk):
        data = AnswersInput(data=request.data)
        data.is_valid(raise_exception=True)
        assessment = services.assessment_answer(
            actor=request.user, assessment=self.get_assessment(), answers=data.validated_data["answers"]
        )
        return Response(_assessment_out(request, assessment))


@extend_schema(
    summary="Submit a complete assessment to the risk officers",
    description="Send an empty object (or nothing): the answers and evidence are already saved.",
    request={"application/json": OpenApiTypes.OBJECT},
    responses={200: AssessmentOutput, 400: ERROR, 403: ERROR, 409: ERROR},
)
class AssessmentSubmit(_AssessmentMixin, APIView):
    serializer_class = AssessmentOutput

    def post(self, request, pk):
        assessment = services.assessment_submit(actor=request.user, assessment=self.get_assessment())
        return Response(_assessment_out(request, assessment))


@extend_schema(
    summary="Approve a submitted assessment (risk officers who took no part in it; a token needs the 'vote' scope)",
    request=DecisionInput,
    responses={200: AssessmentOutput, 403: ERROR, 409: ERROR},
)
class AssessmentApprove(_AssessmentMixin, APIView):
    serializer_class = AssessmentOutput

    def post(self, request, pk):
        data = DecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        assessment = services.assessment_approve(
            actor=request.user, assessment=self.get_assessment(), comment=data.validated_data["comment"]
        )
        return Response(_assessment_out(request, assessment))


@extend_schema(
    summary="Return a submitted assessment to its assessor with a comment (risk officers)",
    request=ReturnInput,
    responses={200: AssessmentOutput, 400: ERROR, 403: ERROR, 409: ERROR},
)
class AssessmentReturn(_AssessmentMixin, APIView):
    serializer_class = AssessmentOutput

    def post(self, request, pk):
        assessment = self.get_assessment()
        data = ReturnInput(data=request.data)
        if not data.is_valid():
            # Say who may not return it before saying the comment is missing.
            permissions.require_approve_assessment(request.user, assessment)
            data.is_valid(raise_exception=True)
        assessment = services.assessment_return(
            actor=request.user, assessment=assessment, comment=data.validated_data["comment"]
        )
        return Response(_assessment_out(request, assessment))


@extend_schema(
    summary="Attach evidence: a file (multipart) or a link (JSON)",
    request={"multipart/form-data": EvidenceInput, "application/json": EvidenceInput},
    responses={201: EvidenceOutput, 400: ERROR, 403: ERROR, 409: ERROR, 413: ERROR},
)
class AssessmentEvidenceAdd(_AssessmentMixin, APIView):
    serializer_class = EvidenceOutput
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def post(self, request, pk):
        data = EvidenceInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        evidence = services.assessment_evidence_add(
            actor=request.user,
            assessment=self.get_assessment(),
            file=values.get("file"),
            url=values["url"],
            title=values["title"],
            question_id=values["question_id"],
        )
        return Response(EvidenceOutput(evidence, context={"request": request}).data, status=status.HTTP_201_CREATED)


RISK_FILTERS = [
    OpenApiParameter(
        "status", OpenApiTypes.STR, enum=["open", "all", *RiskStatus.values],
        description="`open` (default: open and in mitigation), `all`, or one status.",
    ),
    OpenApiParameter("category", OpenApiTypes.STR, enum=RiskCategory.values),
    OpenApiParameter(
        "sort", OpenApiTypes.STR, enum=list(selectors.RISK_SORTS),
        description="`rating` (highest current rating first, the default), `due` (soonest first), or reversed.",
    ),
]  # fmt: skip


def _risk_query(request, model=None):
    wanted = request.query_params.get("status", "open")
    statuses = OPEN_RISK_STATUSES if wanted == "open" else ([wanted] if wanted in RiskStatus.values else None)
    category = request.query_params.get("category")
    return selectors.risk_list(
        user=request.user,
        model=model,
        statuses=statuses,
        sort=request.query_params.get("sort", "rating"),
        category=category if category in RiskCategory.values else None,
    )


@extend_schema_view(
    get=extend_schema(
        summary="The risk portfolio: risks across the models you can see", parameters=RISK_FILTERS,
        responses={200: RiskOutput(many=True)},
    )
)  # fmt: skip
class RiskList(generics.ListAPIView):
    serializer_class = RiskOutput

    def get_queryset(self):
        return _risk_query(self.request)


def _risk_fields(request, values: dict, model) -> dict:
    if "assessment" in values:
        number = values.pop("assessment")
        values["assessment"] = None
        if number:
            values["assessment"] = selectors.assessment_list(user=request.user, model=model).filter(pk=number).first()
            if values["assessment"] is None:
                raise InvalidInput("No such assessment of this model.", fields={"assessment": ["Unknown assessment."]})
    return values


@extend_schema_view(
    get=extend_schema(
        summary="A model's risk register", parameters=RISK_FILTERS, responses={200: RiskOutput(many=True)}
    ),
    post=extend_schema(
        summary="Add a risk to the model's register (owners and risk officers)",
        request=RiskInput,
        responses={201: RiskOutput, 400: ERROR, 403: ERROR, 404: ERROR},
    ),
)
class ModelRisks(generics.ListCreateAPIView):
    serializer_class = RiskOutput

    def get_model(self):
        if not hasattr(self, "_model"):
            self._model = registry_selectors.model_get(user=self.request.user, name=self.kwargs["name"])
        return self._model

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Risk.objects.none()
        return _risk_query(self.request, self.get_model())

    def create(self, request, *args, **kwargs):
        model = self.get_model()
        permissions.require_manage_risks(request.user, model)
        data = RiskInput(data=request.data)
        data.is_valid(raise_exception=True)
        risk = services.risk_create(
            actor=request.user, model=model, **_risk_fields(request, dict(data.validated_data), model)
        )
        risk = selectors.risk_get(user=request.user, pk=risk.pk)
        return Response(RiskOutput(risk, context={"request": request}).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary="Get a risk", responses={200: RiskOutput, 404: ERROR}),
    patch=extend_schema(
        summary="Update a risk (ratings, mitigation, owner, due date, status)",
        request=RiskInput(partial=True),
        responses={200: RiskOutput, 400: ERROR, 403: ERROR},
    ),
)
class RiskDetail(APIView):
    serializer_class = RiskOutput

    def get(self, request, pk):
        return Response(RiskOutput(selectors.risk_get(user=request.user, pk=pk), context={"request": request}).data)

    def patch(self, request, pk):
        risk = selectors.risk_get(user=request.user, pk=pk)
        permissions.require_manage_risks(request.user, risk.model)
        data = RiskInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.risk_update(
            actor=request.user, risk=risk, data=_risk_fields(request, dict(data.validated_data), risk.model)
        )
        return Response(RiskOutput(selectors.risk_get(user=request.user, pk=pk), context={"request": request}).data)
