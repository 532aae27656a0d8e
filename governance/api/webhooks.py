"""Webhook subscriptions and their delivery logs (v1 API). Thin: the services in governance.webhooks decide,
including the URL's SSRF check, whose refusal comes back as 400 with a `webhook_url_*` code."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from governance import selectors, webhooks
from governance.choices import DeliveryStatus, WebhookEvent
from governance.models import WebhookDelivery, WebhookSubscription
from registry import permissions
from registry.api.pagination import PageNumberPagination
from registry.api.serializers import InputSerializer
from registry.exceptions import InvalidInput
from registry.models import RegisteredModel

ERROR = OpenApiResponse(description='`{"error": {"code", "message", "fields"}}`')


class WebhookInput(InputSerializer):
    name = serializers.CharField(max_length=100)
    url = serializers.CharField(max_length=500, help_text="http(s) URL on a public address (see docs/webhooks.md).")
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEvent.values), allow_empty=False)
    model = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, help_text="Only this model's events (its name)."
    )
    active = serializers.BooleanField(default=True)


class WebhookOutput(serializers.ModelSerializer):
    model = serializers.CharField(source="model.name", default=None, allow_null=True)
    owner = serializers.CharField(source="created_by.username")
    secret = serializers.SerializerMethodField(
        help_text="The signing secret: shown to the subscription's owner only, null for anyone else."
    )

    class Meta:
        model = WebhookSubscription
        fields = ["id", "name", "url", "event_types", "model", "active", "owner", "secret", "created_at", "updated_at"]

    def get_secret(self, subscription) -> str | None:
        user = self.context.get("user")
        return subscription.secret if user and permissions.can_read_webhook_secret(user, subscription) else None


class DeliveryOutput(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)

    class Meta:
        model = WebhookDelivery
        fields = [
            "delivery_id",
            "event",
            "status",
            "attempts",
            "response_code",
            "last_error",
            "log",
            "next_attempt_at",
            "created_at",
            "delivered_at",
            "payload",
        ]


class PingInput(InputSerializer):
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Echoed in the ping's payload as `note`."
    )


def _model_named(user, name: str | None) -> RegisteredModel | None:
    if not name:
        return None
    model = permissions.restrict(RegisteredModel.objects.filter(name=name), user).first()
    if model is None:
        raise InvalidInput(f"No model named '{name}' that you can see.", fields={"model": ["No such model."]})
    return model


def _data(user, validated: dict) -> dict:
    data = dict(validated)
    if "model" in data:
        data["model"] = _model_named(user, data["model"])
    if "event_types" in data:
        data["event_types"] = list(data["event_types"])
    return data


@extend_schema_view(
    get=extend_schema(summary="List your webhook subscriptions (administrators: all)"),
    post=extend_schema(
        summary="Subscribe a URL to events",
        request=WebhookInput,
        responses={201: WebhookOutput, 400: ERROR, 403: ERROR},
    ),
)
class WebhookListCreate(generics.ListCreateAPIView):
    serializer_class = WebhookOutput
    pagination_class = PageNumberPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookSubscription.objects.none()
        permissions.require_manage_webhooks(self.request.user)
        return selectors.webhooks(user=self.request.user)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "user": self.request.user}

    def create(self, request, *args, **kwargs):
        permissions.require_manage_webhooks(request.user, write=True)
        data = WebhookInput(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = webhooks.webhook_subscription_create(
            actor=request.user, **_data(request.user, data.validated_data)
        )
        return Response(
            WebhookOutput(subscription, context={"user": request.user}).data, status=status.HTTP_201_CREATED
        )


@extend_schema_view(
    get=extend_schema(summary="Get a webhook subscription", responses={200: WebhookOutput, 404: ERROR}),
    patch=extend_schema(
        summary="Change a webhook subscription",
        request=WebhookInput(partial=True),
        responses={200: WebhookOutput, 400: ERROR, 403: ERROR, 404: ERROR},
    ),
    delete=extend_schema(summary="Delete a webhook subscription and its log", responses={204: None, 404: ERROR}),
)
class WebhookDetail(APIView):
    serializer_class = WebhookOutput

    def get(self, request, pk):
        subscription = webhooks.webhook_get(user=request.user, pk=pk)
        return Response(WebhookOutput(subscription, context={"user": request.user}).data)

    def patch(self, request, pk):
        subscription = webhooks.webhook_get(user=request.user, pk=pk)
        data = WebhookInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        subscription = webhooks.webhook_subscription_update(
            actor=request.user, subscription=subscription, data=_data(request.user, data.validated_data)
        )
        return Response(WebhookOutput(subscription, context={"user": request.user}).data)

    def delete(self, request, pk):
        subscription = webhooks.webhook_get(user=request.user, pk=pk)
        webhooks.webhook_subscription_delete(actor=request.user, subscription=subscription)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(summary="A webhook's delivery log, newest first", responses={200: DeliveryOutput(many=True)})
class WebhookDeliveries(generics.ListAPIView):
    serializer_class = DeliveryOutput
    pagination_class = PageNumberPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        subscription = webhooks.webhook_get(user=self.request.user, pk=self.kwargs["pk"])
        return selectors.webhook_deliveries(subscription=subscription)


@extend_schema(
    summary="Send a `ping` to the webhook now",
    request=PingInput,
    responses={202: DeliveryOutput, 403: ERROR, 404: ERROR},
)
class WebhookTest(APIView):
    serializer_class = DeliveryOutput

    def post(self, request, pk):
        subscription = webhooks.webhook_get(user=request.user, pk=pk)
        data = PingInput(data=request.data)
        data.is_valid(raise_exception=True)
        delivery = webhooks.webhook_subscription_test(
            actor=request.user, subscription=subscription, note=data.validated_data.get("note", "")
        )
        return Response(DeliveryOutput(delivery).data, status=status.HTTP_202_ACCEPTED)
