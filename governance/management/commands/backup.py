"""`manage.py backup create --to DIR` and `manage.py backup restore --from DIR [--force] [--sample N]`
(governance/backup.py, docs/operations.md)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from governance.backup import BackupError, backup_create, backup_restore


class Command(BaseCommand):
    help = "Back up the database, the artifact storage and the audit checkpoints, or restore such a backup."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Write a backup into a new directory.")
        create.add_argument("--to", required=True, type=Path, help="A new or empty directory.")
        restore = actions.add_parser("restore", help="Restore a backup into an empty database and storage.")
        restore.add_argument("--from", dest="source", required=True, type=Path, help="A backup directory.")
        restore.add_argument("--force", action="store_true", help="Restore over a database or storage with data.")
        restore.add_argument("--sample", type=int, help="Re-hash only N files, chosen at random (sizes: all).")

    def handle(self, *args, **options):
        def progress(line: str) -> None:
            self.stderr.write(line)

        try:
            if options["action"] == "create":
                manifest = backup_create(target=options["to"], progress=progress)
                self.stdout.write(f"OK: {options['to']} (audit head #{manifest['audit_head_seq']})")
                return
            report = backup_restore(
                source=options["source"], force=options["force"], sample=options["sample"], progress=progress
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"OK: {report.files} files restored, {report.rehashed} re-hashed; audit {report.audit}")
