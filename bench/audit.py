"""Audit trail throughput: concurrent appends, `audit verify` over a million events, recording overhead.

    .venv/bin/python bench/audit.py                                   # 100,000 appends, verify 1,000,000
    .venv/bin/python bench/audit.py --appends 10000 --verify-events 100000 --registrations 100   # a quick look

Uses its own PostgreSQL database (`arbiter_bench_audit` on 127.0.0.1, or BENCH_DATABASE_URL), dropped and
recreated on each run. Three measurements:

1. `--appends` events appended by `--writers` processes through `audit_record` (one transaction per event,
   serialised on the chain head by the advisory lock): events/s; the chain must verify afterwards.
2. The chain topped up to `--verify-events` (hashed here and bulk-inserted, the same canonical form), then
   `audit_verify()` timed over all of it: events/s (the command adds only the checkpoint comparison).
3. `--registrations` version registrations through `registry.services.version_register`, timing the whole
   call and the `audit_record` call inside it: p50/p95 of each.

Targets: recording adds under 2 ms p95 to a version registration; verify runs at over 50,000 events/s.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/arbiter_bench_audit"
)
os.environ.setdefault("AXES_ENABLED", "0")


def setup() -> None:
    import django

    django.setup()


def fresh_database() -> None:
    """Drop and recreate the bench database (the append-only triggers forbid emptying it any other way)."""
    import psycopg
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    db = settings.DATABASES["default"]
    connection.close()
    admin = psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname="postgres", autocommit=True
    )
    admin.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{db["NAME"]}"')
    admin.close()
    call_command("migrate", verbosity=0)


def writer(count: int, index: int, start, done) -> None:
    setup()
    from django.db import connection, transaction

    from governance.audit import audit_record

    start.wait()
    for i in range(count):
        with transaction.atomic():
            audit_record(
                actor=None,
                action="bench.appended",
                target_type="bench",
                target_id=f"{index}-{i}",
                target_label=f"writer {index} event {i}",
                changes={"i": {"before": None, "after": i}},
            )
    connection.close()
    done.put(index)


def concurrent_appends(total: int, writers: int) -> float:
    ctx = multiprocessing.get_context("spawn")
    start, done = ctx.Barrier(writers + 1), ctx.Queue()
    procs = [ctx.Process(target=writer, args=(total // writers, i, start, done)) for i in range(writers)]
    for proc in procs:
        proc.start()
    start.wait()
    began = time.perf_counter()
    for _ in procs:
        done.get()
    elapsed = time.perf_counter() - began
    for proc in procs:
        proc.join()
    return elapsed


def top_up(target: int) -> None:
    """Extend the chain to `target` events in bulk, computing each hash exactly as audit_record does."""
    import datetime as dt

    from django.db import transaction

    from governance.audit import compute_hash, event_fields
    from governance.models import AuditEvent

    head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, prev = head if head else (0, "0" * 64)
    now = dt.datetime.now(dt.UTC)
    batch = []
    while seq < target:
        seq += 1
        fields = {
            "seq": seq,
            "timestamp": now + dt.timedelta(microseconds=seq),
            "actor_type": "system",
            "actor_id": None,
            "actor_label": "system",
            "actor_token": "",
            "action": "bench.bulk",
            "target_type": "bench",
            "target_id": str(seq),
            "target_label": f"bulk event {seq}",
            "model_id": None,
            "model_name": "",
            "changes": {"n": {"before": seq - 1, "after": seq}},
            "request_id": "",
            "ip": "",
            "user_agent": "",
            "prev_hash": prev,
        }
        prev = compute_hash(event_fields(fields))
        batch.append(AuditEvent(hash=prev, **fields))
        if len(batch) == 10_000 or seq == target:
            with transaction.atomic():
                AuditEvent.objects.bulk_create(batch)
            batch = []


def registration_overhead(count: int) -> tuple[list[float], list[float]]:
    from django.contrib.auth.models import Group
    from django.db import connection

    import registry.services as services
    from registry.permissions import Role
    from tests.factories import make_user

    admin = make_user("bench-admin", roles=[Role.ADMINISTRATOR])
    model = services.model_create(actor=admin, name="bench-model", title="Bench model")
    assert Group.objects.exists()
    record_times: list[float] = []
    original = services.audit_record

    def timed(**kwargs):
        began = time.perf_counter()
        try:
            return original(**kwargs)
        finally:
            record_times.append((time.perf_counter() - began) * 1000)

    services.audit_record = timed
    totals = []
    try:
        for _ in range(count):
            began = time.perf_counter()
            services.version_register(actor=admin, model=model, source="runs:/bench")
            totals.append((time.perf_counter() - began) * 1000)
    finally:
        services.audit_record = original
    connection.close()
    return totals, record_times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--appends", type=int, default=100_000)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--verify-events", type=int, default=1_000_000)
    parser.add_argument("--registrations", type=int, default=300)
    parser.add_argument("--verify-only", action="store_true", help="Only time verify over the existing bench data.")
    parser.add_argument("--verify-workers", type=int, default=1, help="Processes for verify (ranges in parallel).")
    args = parser.parse_args()

    setup()
    from governance.audit import audit_verify

    if args.verify_only:
        began = time.perf_counter()
        result = audit_verify(workers=args.verify_workers)
        elapsed = time.perf_counter() - began
        assert result.ok, result
        print(f"verify: {result.checked:,} events in {elapsed:.1f} s = {result.checked / elapsed:,.0f} events/s")
        return

    fresh_database()
    elapsed = concurrent_appends(args.appends, args.writers)
    print(
        f"appends: {args.appends:,} events from {args.writers} processes in {elapsed:.1f} s = "
        f"{args.appends / elapsed:,.0f} events/s"
    )
    result = audit_verify()
    assert result.ok, result
    print(f"  chain after concurrent appends: {result}")

    totals, records = registration_overhead(args.registrations)
    print(
        f"version registration ({args.registrations}): p50 {statistics.median(totals):.2f} ms, "
        f"p95 {p95(totals):.2f} ms; audit_record inside it: p50 {statistics.median(records):.2f} ms, "
        f"p95 {p95(records):.2f} ms"
    )

    began = time.perf_counter()
    top_up(args.verify_events)
    print(f"top-up to {args.verify_events:,} events: {time.perf_counter() - began:.1f} s")
    began = time.perf_counter()
    result = audit_verify()
    elapsed = time.perf_counter() - began
    assert result.ok, result
    print(f"verify: {result.checked:,} events in {elapsed:.1f} s = {result.checked / elapsed:,.0f} events/s")
    if args.verify_workers > 1:
        began = time.perf_counter()
        result = audit_verify(workers=args.verify_workers)
        elapsed = time.perf_counter() - began
        assert result.ok, result
        print(f"verify, {args.verify_workers} processes: {result.checked / elapsed:,.0f} events/s")


if __name__ == "__main__":
    main()
