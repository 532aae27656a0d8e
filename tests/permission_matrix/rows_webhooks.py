"""Matrix rows for webhooks (browser and v1 API).

Who may do what (registry/permissions.py, "Webhooks" section):
- administrators, model owners (owner, teammate, outsider) and risk officers manage webhooks; everyone else
  is refused (403) - auditors included: subscriptions are personal configuration, their changes are in the
  audit trail;
- a subscription belongs to its creator: the owner persona's subscription exists (200) for the owner and
  administrators, and for other webhook managers it does not (404);
- tokens answer as their owner: `read` lists and reads, `write` changes.
"""

from governance.models import WebhookSubscription
from tests.permission_matrix import Endpoint

MANAGERS = {"administrator", "owner", "teammate", "outsider", "risk_officer"}
HOLDERS = {"owner", "administrator"}
PUBLIC_URL = "https://8.8.8.8/hook"  # an IP literal on a public address: valid without DNS, never called here


def manager(persona: str) -> bool:
    return persona in MANAGERS


def owners_webhook(ctx: dict, visibility: str, user) -> dict:
    """A subscription of the owner persona (created once per test)."""
    owner = ctx["people"]["owner"]
    subscription = WebhookSubscription.objects.filter(created_by=owner).first()
    if subscription is None:
        from governance import webhooks

        subscription = webhooks.webhook_subscription_create(
            actor=owner, name="Deploy bot", url=PUBLIC_URL, event_types=["version.stage_changed"]
        )
    return {"pk": subscription.pk}


def held(ok: int):
    """Only the subscription's owner and administrators reach it; other managers get 404, the rest 403."""

    def expect(persona: str, visibility: str) -> int:
        if persona in HOLDERS:
            return ok
        return 404 if persona in MANAGERS else 403

    return expect


NEW_WEBHOOK = {"name": "CD hook", "url": PUBLIC_URL, "event_types": ["alias.changed"]}
FORM = {**NEW_WEBHOOK, "active": "on"}

ROWS = [
    # --- browser -------------------------------------------------------------------------------------------
    Endpoint("governance:webhooks", action=manager, model_scoped=False),
    Endpoint("governance:webhooks", "post", action=manager, ok=302, model_scoped=False, data=FORM),
    Endpoint(
        "governance:webhook-detail", model_scoped=False, action=manager, url_kwargs=owners_webhook, expect=held(200)
    ),
    Endpoint(
        "governance:webhook-detail",
        "post",
        model_scoped=False,
        action=manager,
        url_kwargs=owners_webhook,
        data={**FORM, "name": "Renamed"},
        expect=held(302),
    ),
    Endpoint(
        "governance:webhook-delete",
        "post",
        model_scoped=False,
        action=manager,
        url_kwargs=owners_webhook,
        expect=held(302),
    ),
    Endpoint(
        "governance:webhook-test",
        "post",
        model_scoped=False,
        action=manager,
        url_kwargs=owners_webhook,
        expect=held(302),
    ),
    # --- API -----------------------------------------------------------------------------------------------
    Endpoint("governance_api:webhook-list", api=True, action=manager, model_scoped=False),
    Endpoint(
        "governance_api:webhook-list", "post", api=True, action=manager, ok=201, model_scoped=False, data=NEW_WEBHOOK
    ),
    Endpoint(
        "governance_api:webhook-detail",
        api=True,
        model_scoped=False,
        action=manager,
        url_kwargs=owners_webhook,
        expect=held(200),
    ),
    Endpoint(
        "governance_api:webhook-detail",
        "patch",
        api=True,
        model_scoped=False,
        action=manager,
        scope="write",
        url_kwargs=owners_webhook,
        data={"name": "Renamed"},
        expect=held(200),
    ),
    Endpoint(
        "governance_api:webhook-detail",
        "delete",
        api=True,
        model_scoped=False,
        action=manager,
        scope="write",
        url_kwargs=owners_webhook,
        expect=held(204),
    ),
    Endpoint(
        "governance_api:webhook-deliveries",
        api=True,
        model_scoped=False,
        action=manager,
        url_kwargs=owners_webhook,
        expect=held(200),
    ),
    Endpoint(
        "governance_api:webhook-test",
        "post",
        api=True,
        model_scoped=False,
        action=manager,
        scope="write",
        url_kwargs=owners_webhook,
        expect=held(202),
    ),
]
