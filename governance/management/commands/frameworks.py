"""`manage.py frameworks load`: load the seeded questionnaire templates from governance/frameworks/.

Idempotent: unchanged files change nothing; a changed file updates an unused template or, once assessments
use it, becomes its next version. `manage.py frameworks list` shows what is stored.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from governance import selectors, services
from registry.exceptions import DomainError


class Command(BaseCommand):
    help = "Load (or list) the questionnaire templates seeded from governance/frameworks/*.yaml."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load", help="Load the seed files (idempotent).")
        load.add_argument("--dir", type=Path, default=None, help="Another folder of template files.")
        sub.add_parser("list", help="List the stored templates and their versions.")

    def handle(self, *args, action, **options):
        if action == "list":
            for template in selectors.template_list(user=_System(), all_versions=True):
                self.stdout.write(
                    f"{template.key:<16} v{template.version:<3} {template.title}  "
                    f"({template.used_by} assessment(s); {template.source or 'edited in Arbiter'})"
                )
            return
        try:
            results = services.frameworks_load(actor=None, directory=options["dir"])
        except DomainError as exc:
            raise CommandError(f"{exc.message}\n" + "\n".join(exc.fields.get("definition", []))) from exc
        for key, outcome, template in results:
            self.stdout.write(f"{key}: {outcome} (v{template.version})")


class _System:
    """The command runs as the system, which may read every template."""

    is_authenticated = True
