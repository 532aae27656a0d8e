"""`manage.py audit verify [--from N]` and `manage.py audit checkpoint`.

`verify` recomputes the hash chain (from the genesis, or from sequence number N) and compares it with every
checkpoint stored under `audit-checkpoints/`; it prints OK and the head, or the first broken sequence number
and why, and then exits non-zero. The outcome is stored for the auditor view, as the periodic task's is.
`checkpoint` writes the current chain head to the storage (signed with AUDIT_HMAC_KEY).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from governance import checkpoints


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain and checkpoints, or write a checkpoint of its head."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="Recompute the chain; exit 1 and name the first broken event.")
        verify.add_argument("--from", dest="from_seq", type=int, default=1, help="Start at this sequence number.")
        verify.add_argument(
            "--workers", type=int, default=1, help="Verify consecutive ranges in this many processes (PostgreSQL)."
        )
        sub.add_parser("checkpoint", help="Write the chain head to audit-checkpoints/ in the artifact storage.")

    def handle(self, *args, action, **options):
        if action == "checkpoint":
            try:
                checkpoint = checkpoints.checkpoint_write()
            except checkpoints.CheckpointError as exc:
                raise CommandError(str(exc)) from exc
            if checkpoint is None:
                self.stdout.write("No new events since the last checkpoint: nothing written.")
            else:
                self.stdout.write(f"Checkpoint {checkpoint.key}: #{checkpoint.seq} {checkpoint.hash}")
            return
        from_seq = options["from_seq"]
        if from_seq < 1:
            raise CommandError("--from must be 1 or more")
        run = checkpoints.verification_run(from_seq=from_seq, workers=max(1, options["workers"]))
        if not run.ok:
            raise CommandError(f"BROKEN at #{run.broken_seq}: {run.reason}", returncode=1)
        self.stdout.write(
            f"OK: {run.checked} events verified from #{from_seq} to #{run.last_seq}; "
            f"{run.checkpoints} checkpoint{'s' if run.checkpoints != 1 else ''} match."
        )
