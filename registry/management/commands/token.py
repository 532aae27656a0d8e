"""`manage.py token create|revoke`: API tokens for operators provisioning pipelines.

    manage.py token create ci-pipeline --scope read --scope write --name "nightly training" [--expires-days 30]
        [--model credit-scoring] [--actor alice]
    manage.py token revoke arb_1a2b3c4d [--actor alice]

`create` prints the secret alone on standard output, once (so `TOKEN=$(manage.py token create ...)` works);
the details go to standard error. Both call the services, so the audit trail records them, as the system
unless `--actor` names an administrator.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from registry import services
from registry.choices import TokenScope
from registry.management.commands._operator import add_actor_argument, resolve_user, service_errors
from registry.models import ApiToken, RegisteredModel


class Command(BaseCommand):
    help = "Create or revoke API tokens."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{create,revoke}")
        create = actions.add_parser("create", help="Create a token and print its secret once.")
        create.add_argument("username", help="The token's owner (usually a service account).")
        create.add_argument(
            "--scope",
            dest="scopes",
            action="append",
            required=True,
            choices=TokenScope.values,
            help="Repeat for several scopes.",
        )
        create.add_argument("--name", required=True, help="What uses the token, e.g. 'nightly training'.")
        create.add_argument(
            "--expires-days",
            type=int,
            default=None,
            help="Lifetime in days (default from settings); 0 means never, for service accounts only.",
        )
        create.add_argument("--model", help="Restrict the token to this model.")
        add_actor_argument(create)
        revoke = actions.add_parser("revoke", help="Revoke a token by its prefix.")
        revoke.add_argument("prefix", help="The token's prefix, e.g. arb_1a2b3c4d.")
        add_actor_argument(revoke)

    def handle(self, *args, **options):
        actor = resolve_user(options["actor"], what="actor")
        if options["action"] == "create":
            self._create(actor, options)
        else:
            self._revoke(actor, options)

    def _create(self, actor, options) -> None:
        user = resolve_user(options["username"])
        model = None
        if options["model"]:
            model = RegisteredModel.objects.filter(name=options["model"]).first()
            if model is None:
                raise CommandError(f"No model named '{options['model']}'.")
        with service_errors():
            token, secret = services.token_create(
                actor=actor,
                user=user,
                name=options["name"],
                scopes=options["scopes"],
                expires_days=options["expires_days"],
                model=model,
            )
        expires = f"{token.expires_at:%Y-%m-%d}" if token.expires_at else "never"
        restriction = f", model {model.name}" if model else ""
        self.stderr.write(
            f"Created token {token.prefix} ({token.name}) for {user.get_username()}: scopes "
            f"{', '.join(token.scopes)}{restriction}, expires {expires}. The secret below is shown once."
        )
        self.stdout.write(secret)

    def _revoke(self, actor, options) -> None:
        token = ApiToken.objects.select_related("user").filter(prefix=options["prefix"]).first()
        if token is None:
            raise CommandError(f"No token with prefix '{options['prefix']}'.")
        if token.revoked_at is not None:
            raise CommandError(f"Token {token.prefix} was already revoked on {token.revoked_at:%Y-%m-%d %H:%M} UTC.")
        with service_errors():
            services.token_revoke(actor=actor, token=token)
        self.stdout.write(f"Revoked token {token.prefix} ({token.name}) of {token.user.get_username()}.")
