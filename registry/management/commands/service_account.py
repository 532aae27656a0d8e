"""`manage.py service_account create`: a machine identity for a pipeline (no password, tokens only).

    manage.py service_account create ci-pipeline --role "Model Owner" --team alpha --description "Nightly training"
    manage.py token create ci-pipeline --scope write --name "nightly training"

Calls the service, so the audit trail records it, as the system unless `--actor` names an administrator.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from registry import services
from registry.management.commands._operator import add_actor_argument, resolve_user, service_errors
from registry.models import Team
from registry.permissions import Role


class Command(BaseCommand):
    help = "Create service accounts for pipelines."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{create}")
        create = actions.add_parser("create", help="Create a service account.")
        create.add_argument("username")
        create.add_argument(
            "--role", dest="roles", action="append", default=[], choices=[r.value for r in Role], help="Repeatable."
        )
        create.add_argument("--team", dest="teams", action="append", default=[], help="A team slug. Repeatable.")
        create.add_argument("--description", default="", help="What the account is for.")
        add_actor_argument(create)

    def handle(self, *args, **options):
        actor = resolve_user(options["actor"], what="actor")
        teams = []
        for slug in options["teams"]:
            team = Team.objects.filter(slug=slug).first()
            if team is None:
                raise CommandError(f"No team '{slug}'.")
            teams.append(team)
        with service_errors():
            account = services.service_account_create(
                actor=actor,
                username=options["username"],
                description=options["description"],
                roles=options["roles"],
                teams=teams,
            )
        roles = ", ".join(sorted(options["roles"])) or "no role"
        self.stdout.write(
            f"Created service account {account.user.get_username()} ({roles}). "
            f"Next: manage.py token create {account.user.get_username()} --scope read --name NAME"
        )
