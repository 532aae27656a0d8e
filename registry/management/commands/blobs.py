"""`manage.py blobs usage` (bytes stored and referenced per model, team and stage) and `manage.py blobs gc
[--dry-run] [--grace-hours H]` (delete stored files that no artifact references, each deletion audited)."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand

from registry import services


class Command(BaseCommand):
    help = "Storage used per model, team and stage; delete stored files that no artifact references."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("usage", help="Bytes stored (each blob once) and referenced, per model, team and stage.")
        gc = actions.add_parser("gc", help="Delete unreferenced blobs and abandoned uploads past the grace period.")
        gc.add_argument("--dry-run", action="store_true", help="List what would be freed; delete nothing.")
        gc.add_argument("--grace-hours", type=int, default=None, help="Default: BLOBS_GC_GRACE_HOURS (24).")

    def handle(self, *args, **options):
        if options["action"] == "usage":
            for kind, groups in services.storage_usage().items():
                for name, usage in sorted(groups.items()):
                    self.stdout.write(f"{kind}\t{name}\tstored={usage['stored']}\treferenced={usage['referenced']}")
            return
        hours = options["grace_hours"] if options["grace_hours"] is not None else settings.BLOBS_GC_GRACE_HOURS
        candidates = services.blobs_unreferenced(older_than=timedelta(hours=hours))
        freed = 0
        for key, size in candidates:
            if options["dry_run"]:
                self.stdout.write(f"would delete {key} ({size} bytes)")
                freed += size
            elif (deleted := services.blob_collect(actor=None, key=key)) is not None:
                self.stdout.write(f"deleted {key} ({deleted} bytes)")
                freed += deleted
        verb = "would free" if options["dry_run"] else "freed"
        self.stdout.write(f"{verb} {freed} bytes in {len(candidates)} files")
