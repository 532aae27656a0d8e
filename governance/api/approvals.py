"""v1 API for the governance workflow: committees, policies, approval requests and votes, promotion,
rollback, break-glass, aliases and the production version (the CD hot path)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Max, Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import generics, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from governance import gate, selectors, services
from governance.choices import CommitteeRole, VoteDecision
from governance.models import ApprovalPolicy, ApprovalRequest, Committee
from registry import permissions
from registry import selectors as registry_selectors
from registry import services as registry_services
from registry.api.serializers import InputSerializer, RejectUnknownFields, VersionOutput
from registry.api.views import ModelScopedMixin
from registry.choices import Stage
from registry.models import Artifact, Metric, ModelAlias
from registry.permissions import Action

User = get_user_model()
ERROR = OpenApiResponse(description='`{"error": {"code", "message", "fields"}}`')


# --- Serializers -------------------------------------------------------------------------------------------


class MemberSerializer(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    role = serializers.ChoiceField(choices=CommitteeRole.values)


class CommitteeSerializer(RejectUnknownFields, serializers.ModelSerializer):
    members = MemberSerializer(source="memberships", many=True, read_only=True)
    rule = serializers.CharField(source="rule_text", read_only=True)

    class Meta:
        model = Committee
        fields = [
            "name",
            "slug",
            "purpose",
            "quorum_rule",
            "min_approvals",
            "approval_fraction",
            "veto_on_reject",
            "rule",
            "members",
        ]
        read_only_fields = ["slug", "rule", "members"]


class MemberInput(InputSerializer):
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=CommitteeRole.values, default=CommitteeRole.MEMBER)


class PolicySerializer(RejectUnknownFields, serializers.ModelSerializer):
    committees = serializers.SlugRelatedField(slug_field="slug", many=True, queryset=Committee.objects.all())

    class Meta:
        model = ApprovalPolicy
        fields = [
            "id",
            "target_stage",
            "risk_tier",
            "allowed",
            "committees",
            "require_metadata",
            "require_assessment",
            "require_files",
            "note",
        ]
        read_only_fields = ["id", "target_stage", "risk_tier"]


class TallySerializer(serializers.Serializer):
    committee = serializers.CharField()
    outcome = serializers.CharField()
    approvals = serializers.IntegerField()
    rejections = serializers.IntegerField()
    needed = serializers.IntegerField()
    eligible = serializers.IntegerField()


class VoteOutput(serializers.Serializer):
    committee = serializers.CharField(source="committee.slug")
    voter = serializers.CharField(source="voter.username")
    round = serializers.IntegerField()
    decision = serializers.CharField()
    comment = serializers.CharField()
    accepted_flagged = serializers.BooleanField()
    cast_at = serializers.DateTimeField()


class ProblemOutput(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    link = serializers.CharField()


class ApprovalRequestOutput(serializers.ModelSerializer):
    model = serializers.CharField(source="version.model.name")
    version = serializers.IntegerField(source="version.version")
    committees = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    submitted_by = serializers.CharField(source="submitted_by.username")
    tallies = serializers.SerializerMethodField()
    votes = VoteOutput(many=True, read_only=True)
    problems = serializers.SerializerMethodField(
        help_text="Why the request cannot currently lead to a promotion (empty in lists): failed preconditions, "
        "and `facts_changed` when governed metadata changed since submission."
    )

    class Meta:
        model = ApprovalRequest
        fields = [
            "id",
            "model",
            "version",
            "target_stage",
            "status",
            "round",
            "justification",
            "committees",
            "submitted_by",
            "submitted_at",
            "decided_at",
            "decision_reason",
            "valid_until",
            "artifact_digests",
            "facts",
            "facts_digest",
            "accepted_flagged",
            "promoted_at",
            "tallies",
            "votes",
            "problems",
        ]
        read_only_fields = fields

    @extend_schema_field(TallySerializer(many=True))
    def get_tallies(self, obj):
        if self.context.get("list"):
            return []
        return [
            {
                "committee": c.slug,
                "outcome": t.outcome,
                "approvals": t.approvals,
                "rejections": t.rejections,
                "needed": t.needed,
                "eligible": t.eligible,
            }
            for c, t in services.request_tallies(obj)
        ]

    @extend_schema_field(ProblemOutput(many=True))
    def get_problems(self, obj):
        if self.context.get("list"):
            return []
        return [problem.as_dict() for problem in gate.request_problems(obj)]


class ApprovalRequestInput(InputSerializer):
    model = serializers.CharField()
    version = serializers.IntegerField()
    target_stage = serializers.ChoiceField(choices=[Stage.STAGING.value, Stage.PRODUCTION.value])
    justification = serializers.CharField(max_length=5000)


class VoteInput(InputSerializer):
    committee = serializers.SlugRelatedField(slug_field="slug", queryset=Committee.objects.all())
    decision = serializers.ChoiceField(choices=VoteDecision.values)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    accept_flagged = serializers.BooleanField(required=False, default=False)


class JustificationInput(InputSerializer):
    justification = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class PromoteInput(JustificationInput):
    archive_existing = serializers.BooleanField(required=False, default=True)


class BreakGlassInput(InputSerializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    justification = serializers.CharField(max_length=5000)


class AliasInput(InputSerializer):
    version = serializers.IntegerField(min_value=1)


class AliasOutput(serializers.Serializer):
    model = serializers.CharField()
    alias = serializers.CharField()
    version = VersionOutput()
    updated_at = serializers.DateTimeField(allow_null=True)


# --- Committees and policies -----------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(summary="List committees", responses={200: CommitteeSerializer(many=True)}),
    post=extend_schema(
        summary="Create a committee (administrators, risk officers)",
        request=CommitteeSerializer,
        responses={201: CommitteeSerializer, 400: ERROR, 403: ERROR},
    ),
)
class CommitteeListCreate(generics.ListCreateAPIView):
    serializer_class = CommitteeSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.committees()

    def create(self, request, *args, **kwargs):
        data = CommitteeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        committee = services.committee_create(actor=request.user, **data.validated_data)
        return Response(CommitteeSerializer(committee).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary="Get a committee", responses={200: CommitteeSerializer, 404: ERROR}),
    patch=extend_schema(
        summary="Update a committee",
        request=CommitteeSerializer,
        responses={200: CommitteeSerializer, 400: ERROR, 403: ERROR},
    ),
)
class CommitteeDetail(APIView):
    serializer_class = CommitteeSerializer

    def get(self, request, slug):
        return Response(CommitteeSerializer(get_object_or_404(selectors.committees(), slug=slug)).data)

    def patch(self, request, slug):
        committee = get_object_or_404(Committee, slug=slug)
        data = CommitteeSerializer(committee, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.committee_update(actor=request.user, committee=committee, data=data.validated_data)
        return Response(CommitteeSerializer(get_object_or_404(selectors.committees(), slug=slug)).data)


@extend_schema_view(
    post=extend_schema(
        summary="Add a member or change their role",
        request=MemberInput,
        responses={200: CommitteeSerializer, 400: ERROR, 403: ERROR},
    ),
    delete=extend_schema(
        summary="Remove a member", request=MemberInput, responses={200: CommitteeSerializer, 400: ERROR, 403: ERROR}
    ),
)
class CommitteeMembers(APIView):
    serializer_class = CommitteeSerializer

    def _member(self, request):
        data = MemberInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = User.objects.filter(username=data.validated_data["username"], is_active=True).first()
        if user is None:
            raise serializers.ValidationError({"username": ["No active user with this username."]})
        return user, data.validated_data["role"]

    def post(self, request, slug):
        committee = get_object_or_404(Committee, slug=slug)
        user, role = self._member(request)
        services.committee_member_set(actor=request.user, committee=committee, user=user, role=role)
        return Response(CommitteeSerializer(get_object_or_404(selectors.committees(), slug=slug)).data)

    def delete(self, request, slug):
        committee = get_object_or_404(Committee, slug=slug)
        user, _ = self._member(request)
        services.committee_member_remove(actor=request.user, committee=committee, user=user)
        return Response(CommitteeSerializer(get_object_or_404(selectors.committees(), slug=slug)).data)


@extend_schema(summary="List approval policies", responses={200: PolicySerializer(many=True)})
class PolicyList(generics.ListAPIView):
    serializer_class = PolicySerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.policies()


@extend_schema(
    summary="Update an approval policy row",
    request=PolicySerializer,
    responses={200: PolicySerializer, 400: ERROR, 403: ERROR, 404: ERROR},
)
class PolicyDetail(APIView):
    serializer_class = PolicySerializer

    def patch(self, request, policy_id):
        policy = get_object_or_404(ApprovalPolicy, pk=policy_id)
        data = PolicySerializer(policy, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        policy = services.policy_update(actor=request.user, policy=policy, data=data.validated_data)
        return Response(PolicySerializer(policy).data)


# --- Approval requests and votes ---------------------------------------------------------------------------


class RequestPagination(CursorPagination):
    ordering = "-submitted_at"
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100


@extend_schema_view(
    get=extend_schema(
        summary="List approval requests you may see",
        parameters=[
            OpenApiParameter("mine", bool, description="Only requests you submitted."),
            OpenApiParameter("to_review", bool, description="Only open requests routed to your committees."),
            OpenApiParameter("status", str, description="Filter by status."),
        ],
        responses={200: ApprovalRequestOutput(many=True)},
    ),
    post=extend_schema(
        summary="Submit a version for approval",
        request=ApprovalRequestInput,
        responses={201: ApprovalRequestOutput, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
    ),
)
class ApprovalRequestListCreate(generics.ListCreateAPIView):
    serializer_class = ApprovalRequestOutput
    pagination_class = RequestPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApprovalRequest.objects.none()
        params = self.request.query_params
        if params.get("to_review") in ("1", "true"):
            rows = selectors.requests_to_review(user=self.request.user)
        elif params.get("mine") in ("1", "true"):
            rows = selectors.requests_submitted(user=self.request.user)
        else:
            rows = permissions.restrict(
                ApprovalRequest.objects.select_related("version__model", "submitted_by").prefetch_related("committees"),
                self.request.user,
                Action.VIEW,
            )
        if params.get("status"):
            rows = rows.filter(status=params["status"])
        return rows.prefetch_related("votes__voter", "votes__committee")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "list": True}

    def create(self, request, *args, **kwargs):
        data = ApprovalRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        model = registry_selectors.model_get(user=request.user, name=data.validated_data["model"])
        version = registry_selectors.version_get(user=request.user, model=model, version=data.validated_data["version"])
        approval = services.approval_request_submit(
            actor=request.user,
            version=version,
            target_stage=data.validated_data["target_stage"],
            justification=data.validated_data["justification"],
        )
        return Response(ApprovalRequestOutput(approval).data, status=status.HTTP_201_CREATED)


@extend_schema(
    summary="Get an approval request with its tallies and votes", responses={200: ApprovalRequestOutput, 404: ERROR}
)
class ApprovalRequestDetail(APIView):
    serializer_class = ApprovalRequestOutput

    def get(self, request, request_id):
        return Response(ApprovalRequestOutput(selectors.request_get(user=request.user, request_id=request_id)).data)


@extend_schema(
    summary="Vote on a request (people only: a session, or a personal token with the 'vote' scope)",
    request=VoteInput,
    responses={201: ApprovalRequestOutput, 400: ERROR, 403: ERROR, 409: ERROR},
)
class VoteCreate(APIView):
    serializer_class = ApprovalRequestOutput

    def post(self, request, request_id):
        approval = selectors.request_get(user=request.user, request_id=request_id)
        data = VoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.vote_cast(actor=request.user, request=approval, **data.validated_data)
        approval = selectors.request_get(user=request.user, request_id=request_id)
        return Response(ApprovalRequestOutput(approval).data, status=status.HTTP_201_CREATED)


class ReasonInput(InputSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


@extend_schema(
    summary="Withdraw a request", request=ReasonInput, responses={200: ApprovalRequestOutput, 403: ERROR, 409: ERROR}
)
class RequestWithdraw(APIView):
    serializer_class = ApprovalRequestOutput

    def post(self, request, request_id):
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        approval = services.approval_request_withdraw(
            actor=request.user,
            request=selectors.request_get(user=request.user, request_id=request_id),
            reason=data.validated_data["reason"],
        )
        return Response(ApprovalRequestOutput(approval).data)


@extend_schema(
    summary="Resubmit a request returned for changes (a new round)",
    request=JustificationInput,
    responses={200: ApprovalRequestOutput, 403: ERROR, 409: ERROR},
)
class RequestResubmit(APIView):
    serializer_class = ApprovalRequestOutput

    def post(self, request, request_id):
        data = JustificationInput(data=request.data)
        data.is_valid(raise_exception=True)
        approval = services.approval_request_resubmit(
            actor=request.user,
            request=selectors.request_get(user=request.user, request_id=request_id),
            justification=data.validated_data["justification"],
        )
        return Response(ApprovalRequestOutput(approval).data)


# --- Promotion, rollback, break-glass ------------------------------------------------------------------------


@extend_schema(
    summary="Promote an approved version to production (cites the approval; through staging when needed)",
    request=PromoteInput,
    responses={200: VersionOutput, 403: ERROR, 409: ERROR},
)
class VersionPromote(ModelScopedMixin, APIView):
    serializer_class = VersionOutput

    def post(self, request, name, version):
        data = PromoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        target = registry_selectors.version_get(
            user=request.user, model=self.get_model(), version=version, action=Action.CHANGE
        )
        services.version_transition(
            actor=request.user,
            version=target,
            stage=Stage.PRODUCTION,
            justification=data.validated_data["justification"],
            archive_existing_versions=data.validated_data["archive_existing"],
            through_staging=True,
        )
        target = registry_selectors.version_get(user=request.user, model=self.get_model(), version=version)
        return Response(VersionOutput(target, context={"request": request}).data)


@extend_schema(
    summary="Put the previous production version back (no new approval while it is valid)",
    request=JustificationInput,
    responses={200: VersionOutput, 403: ERROR, 409: ERROR},
)
class ModelRollback(ModelScopedMixin, APIView):
    serializer_class = VersionOutput

    def post(self, request, name):
        data = JustificationInput(data=request.data)
        data.is_valid(raise_exception=True)
        restored = services.model_rollback(
            actor=request.user, model=self.get_model(Action.CHANGE), justification=data.validated_data["justification"]
        )
        target = registry_selectors.version_get(user=request.user, model=self.get_model(), version=restored.version)
        return Response(VersionOutput(target, context={"request": request}).data)


@extend_schema(
    summary="Break-glass: an administrator forces a stage change (justified, flagged)",
    request=BreakGlassInput,
    responses={200: VersionOutput, 400: ERROR, 403: ERROR},
)
class VersionBreakGlass(ModelScopedMixin, APIView):
    serializer_class = VersionOutput

    def post(self, request, name, version):
        data = BreakGlassInput(data=request.data)
        data.is_valid(raise_exception=True)
        target = registry_selectors.version_get(user=request.user, model=self.get_model(), version=version)
        services.version_break_glass(actor=request.user, version=target, **data.validated_data)
        target = registry_selectors.version_get(user=request.user, model=self.get_model(), version=version)
        return Response(VersionOutput(target, context={"request": request}).data)


# --- Aliases and the production version: the CD hot path ------------------------------------------------------


def _version_with_files(model, **lookup):
    """One version with its metrics and artifacts (three queries), or 404."""
    found = (
        model.versions.select_related("created_by", "model")
        .prefetch_related(
            Prefetch("metrics", queryset=Metric.objects.order_by("name", "dataset", "split")),
            Prefetch(
                "artifacts",
                queryset=Artifact.objects.select_related("uploaded_by", "version__model").order_by("filename"),
            ),
        )
        .filter(**lookup)
        .annotate(alias_updated_at=Max("aliases__updated_at"))
        .first()
    )
    if found is None:
        raise Http404("No such version.")
    return found


@extend_schema_view(
    get=extend_schema(
        summary="Resolve an alias: the version with its artifacts and digests", responses={200: AliasOutput, 404: ERROR}
    ),
    put=extend_schema(
        summary="Point an alias at a version (the production alias is gated)",
        request=AliasInput,
        responses={200: AliasOutput, 400: ERROR, 403: ERROR, 404: ERROR},
    ),
    delete=extend_schema(summary="Remove an alias", request=None, responses={204: None, 403: ERROR, 404: ERROR}),
)
class AliasDetail(ModelScopedMixin, APIView):
    serializer_class = AliasOutput

    def _render(self, request, model, alias: str):
        """The aliased version with its files, found through the alias in the same query."""
        try:
            version = _version_with_files(model, aliases__name=alias)
        except Http404:
            raise Http404(f"'{model.name}' has no alias '{alias}'.") from None
        body = {
            "model": model.name,
            "alias": alias,
            "version": VersionOutput(version, context={"request": request}).data,
            "updated_at": version.alias_updated_at,
        }
        return Response(body)

    def get(self, request, name, alias):
        return self._render(request, self.get_model(), alias)

    def put(self, request, name, alias):
        model = self.get_model(Action.CHANGE)
        data = AliasInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = registry_selectors.version_get(user=request.user, model=model, version=data.validated_data["version"])
        services.alias_set(actor=request.user, model=model, name=alias, version=version)
        return self._render(request, model, alias)

    def delete(self, request, name, alias):
        registry_services.alias_delete(actor=request.user, model=self.get_model(Action.CHANGE), name=alias)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(summary="List a model's aliases", responses={200: AliasOutput(many=True)})
class AliasList(ModelScopedMixin, APIView):
    serializer_class = AliasOutput

    def get(self, request, name):
        model = self.get_model()
        rows = []
        for alias in ModelAlias.objects.filter(model=model).order_by("name"):
            version = _version_with_files(model, pk=alias.version_id)
            rows.append(
                {
                    "model": model.name,
                    "alias": alias.name,
                    "updated_at": alias.updated_at,
                    "version": VersionOutput(version, context={"request": request}).data,
                }
            )
        return Response(rows)


@extend_schema(
    summary="The current production version, with its artifacts and digests", responses={200: VersionOutput, 404: ERROR}
)
class ProductionVersion(ModelScopedMixin, APIView):
    serializer_class = VersionOutput

    def get(self, request, name):
        model = self.get_model()
        if model.production_version is None:
            raise Http404(f"'{model.name}' has no version in production.")
        version = _version_with_files(model, version=model.production_version)
        return Response(VersionOutput(version, context={"request": request}).data)
