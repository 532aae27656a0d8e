"""`manage.py artifacts requeue|verify|rescan`: operate the artifact pipeline by hand."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from registry import services
from registry.choices import ArtifactStatus
from registry.models import Artifact


class Command(BaseCommand):
    help = "Re-enqueue stale artifacts, verify stored blobs against their digests, or re-scan artifacts."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        requeue = sub.add_parser("requeue", help="enqueue artifacts pending or stuck validating")
        requeue.add_argument("--older-than", type=int, default=None, help="seconds (default: the settings)")
        verify = sub.add_parser("verify", help="re-hash stored blobs; mark changed or missing ones corrupted")
        verify.add_argument("--model", help="only this model's artifacts")
        rescan = sub.add_parser("rescan", help="validate artifacts again (e.g. after a scanner upgrade)")
        rescan.add_argument("--model", help="only this model's artifacts")
        rescan.add_argument("--status", choices=ArtifactStatus.values, help="only artifacts in this status")

    def handle(self, *args, action, **options):
        if action == "requeue":
            older = options["older_than"]
            ids = services.artifacts_requeue_stale(pending_for=older, validating_for=older)
            self.stdout.write(f"Enqueued {len(ids)} artifact(s): {', '.join(map(str, ids)) or '-'}")
            return
        artifacts = Artifact.objects.select_related("version__model").order_by("pk")
        if options.get("model"):
            artifacts = artifacts.filter(version__model__name=options["model"])
            if not artifacts.exists():
                raise CommandError(f"No artifacts for model '{options['model']}'.")
        if action == "verify":
            corrupted = 0
            for artifact in artifacts.iterator():
                result = services.artifact_verify(artifact=artifact)
                if result.status == ArtifactStatus.CORRUPTED:
                    corrupted += 1
                    self.stdout.write(self.style.ERROR(f"CORRUPTED {artifact}: {result.findings[-1]['message']}"))
            self.stdout.write(f"Verified {artifacts.count()} artifact(s); {corrupted} corrupted.")
            if corrupted:
                raise CommandError(f"{corrupted} artifact(s) corrupted")
            return
        if options.get("status"):
            artifacts = artifacts.filter(status=options["status"])
        count = 0
        for artifact in artifacts.iterator():
            services.artifact_rescan(artifact=artifact)
            count += 1
        self.stdout.write(f"Re-scan requested for {count} artifact(s).")
