"""`manage.py sso_group_map`: add the rows of OIDC_GROUP_MAP missing from the group mapping (idempotent)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from governance.sso import services
from registry.exceptions import DomainError


class Command(BaseCommand):
    help = "Load OIDC_GROUP_MAP (JSON) into the single sign-on group mapping; existing rows are kept."

    def handle(self, *args, **options):
        if not settings.OIDC_GROUP_MAP:
            raise CommandError("OIDC_GROUP_MAP is empty.")
        try:
            created = services.group_map_load(actor=None, group_map=settings.OIDC_GROUP_MAP)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        for mapping in created:
            self.stdout.write(f"added {mapping}")
        self.stdout.write(f"{len(created)} mapping(s) added")
