from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from governance import signals, webhooks
        from governance.audit import register_listener
        from governance.defaults import ensure_defaults_after_migrate
        from registry.roles import sync_roles_after_migrate

        # Governance is the last app to migrate, so every permission exists when the roles are synced.
        post_migrate.connect(sync_roles_after_migrate, sender=self)
        post_migrate.connect(ensure_defaults_after_migrate, sender=self)
        # Recorded events that are webhook events become deliveries, in the same transaction.
        register_listener(webhooks.on_audit_event)
        signals.connect()
