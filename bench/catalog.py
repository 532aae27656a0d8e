"""Catalog latency at scale: seed N models (3 versions each) and time the catalog page and the API list.

    .venv/bin/python bench/catalog.py                      # 10,000 then 100,000 models on PostgreSQL
    .venv/bin/python bench/catalog.py --sizes 2000 --requests 50   # a quick look

Uses its own database (`arbiter_bench` on 127.0.0.1, or BENCH_DATABASE_URL), seeded in bulk through the ORM,
and measures through Django's test client in this process (no network), as a signed-in user who sees
internal models plus some restricted ones through grants. Prints p50/p95 per scenario and the 100k/10k
cost ratio. Targets: p95 < 100 ms at 100,000 models; cost at 100,000 at most 1.5x the cost at 10,000.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/arbiter_bench")
os.environ.setdefault("AXES_ENABLED", "0")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group, Permission  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from registry.choices import Framework, RiskTier, Stage, TaskType, Visibility  # noqa: E402
from registry.models import (  # noqa: E402
    ModelVersion,
    RegisteredModel,
    RegisteredModelUserObjectPermission,
    Team,
    model_name_key,
)

User = get_user_model()
WORDS = ["credit", "fraud", "churn", "pricing", "triage", "forecast", "ranking", "sentiment", "vision", "speech"]
DOMAINS = ["retail", "payments", "insurance", "clinical", "marketing", "logistics", "support", "risk"]
SCENARIOS = {
    "first page": {},
    "search 'credit'": {"q": "credit"},
    "filter risk=high": {"risk_tier": "high"},
}


def fresh_database() -> None:
    """Drop and recreate the bench database (the audit trail's trigger forbids emptying it any other way)."""
    import psycopg

    db = settings.DATABASES["default"]
    connection.close()
    admin = psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname="postgres", autocommit=True
    )
    admin.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{db["NAME"]}"')
    admin.close()
    call_command("migrate", verbosity=0)


def seed(total: int) -> None:
    """Bring the catalog up to `total` models, in bulk (the search-vector trigger still fires per row)."""
    have = RegisteredModel.objects.count()
    owner, _ = User.objects.get_or_create(username="bench-owner")
    team = Team.objects.filter(slug="bench").first()
    if team is None:
        team = Team.objects.create(name="Bench", slug="bench", group=Group.objects.create(name="team:bench"))
    reader, made = User.objects.get_or_create(username="bench-reader")
    if made:
        reader.set_password("bench")
        reader.save()
    view = Permission.objects.get(codename="view_registeredmodel", content_type__app_label="registry")
    rng = random.Random(have)
    now = timezone.now()
    batch = 5000
    started = time.perf_counter()
    for start in range(have, total, batch):
        models = []
        for i in range(start, min(start + batch, total)):
            word, domain = WORDS[i % len(WORDS)], rng.choice(DOMAINS)
            models.append(
                RegisteredModel(
                    name=f"{domain}-{word}-{i:06d}",
                    name_key=model_name_key(f"{domain}-{word}-{i:06d}"),
                    title=f"{domain.title()} {word} model {i}",
                    description=f"A {word} model for {domain}. Trained on {rng.choice(DOMAINS)} data.",
                    owner=owner,
                    team=team,
                    task_type=rng.choice(TaskType.values),
                    framework=rng.choice(Framework.values),
                    risk_tier=rng.choice(RiskTier.values),
                    visibility=Visibility.RESTRICTED if i % 10 == 0 else Visibility.INTERNAL,
                    tags={"domain": domain},
                    version_counter=3,
                    latest_version=3,
                    latest_stage=rng.choice(Stage.values),
                    created_at=now,
                    updated_at=now,
                )
            )
        created = RegisteredModel.objects.bulk_create(models)
        ModelVersion.objects.bulk_create(
            ModelVersion(model=m, version=v, stage=Stage.ARCHIVED if v < 3 else m.latest_stage, created_at=now)
            for m in created
            for v in (1, 2, 3)
        )
        RegisteredModelUserObjectPermission.objects.bulk_create(
            RegisteredModelUserObjectPermission(user=reader, permission=view, content_object=m)
            for m in created
            if m.visibility == Visibility.RESTRICTED and rng.random() < 0.3
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    if total > have:
        print(f"seeded {total - have:,} models in {time.perf_counter() - started:.0f} s (now {total:,})")


def measure(client: Client, path: str, params: dict, requests: int) -> tuple[float, float, int]:
    for _ in range(5):
        client.get(path, params)
    timings = []
    status = 0
    for _ in range(requests):
        t0 = time.perf_counter()
        response = client.get(path, params)
        timings.append((time.perf_counter() - t0) * 1000)
        status = response.status_code
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1], status


def run(size: int, requests: int) -> dict[tuple[str, str], tuple[float, float]]:
    seed(size)
    client = Client()
    client.force_login(User.objects.get(username="bench-reader"))
    results = {}
    for surface, path in (("catalog page", "/"), ("API list", "/api/v1/models/")):
        for name, params in SCENARIOS.items():
            p50, p95, status = measure(client, path, params, requests)
            assert status == 200, f"{path} {params} answered {status}"
            results[(surface, name)] = (p50, p95)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/catalog.py measures PostgreSQL: set BENCH_DATABASE_URL to a PostgreSQL URL")
    fresh_database()
    table = {size: run(size, args.requests) for size in sorted(args.sizes)}
    sizes = sorted(table)
    header = f"{'surface':<14} {'scenario':<18}" + "".join(f" {f'p50/p95 @ {s:,}':>22}" for s in sizes)
    if len(sizes) > 1:
        header += f" {'p95 ratio':>10}"
    print()
    print(header)
    for key in table[sizes[0]]:
        row = f"{key[0]:<14} {key[1]:<18}"
        for size in sizes:
            p50, p95 = table[size][key]
            row += f" {f'{p50:6.1f} / {p95:6.1f} ms':>22}"
        if len(sizes) > 1:
            row += f" {table[sizes[-1]][key][1] / table[sizes[0]][key][1]:>9.2f}x"
        print(row)


if __name__ == "__main__":
    main()
