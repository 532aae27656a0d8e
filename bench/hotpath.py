"""In-process latency and SQL count of the MLflow-protocol hot paths (no network, no gunicorn).

    .venv/bin/python bench/hotpath.py                 # N=500 requests per scenario
    .venv/bin/python bench/hotpath.py -n 100 --profile alias   # a cProfile of one scenario (--sort, --top)

Drives the real views through Django's test client on PostgreSQL (`arbiter_perf_bench` on 127.0.0.1, or
BENCH_DATABASE_URL; migrated, then rows added per run) with DEBUG off and the throttle counters in Redis
(BENCH_CACHE_URL, default redis://127.0.0.1:6379/13), as production runs them. The caller is a Model Owner in
a team, authenticated with a Bearer API token made by `registry.services.token_create` (scopes read+write),
so every request pays token authentication, the throttle and the permission filters. THROTTLE_USER is set
high so the throttle never refuses. Scenarios: MLflow alias get, MLflow registered-model get, MLflow
registered-models create, MLflow model-versions create, MLflow search answering a full page (1,111 of 2,000
models match `name LIKE '...-1%'`, max_results=100, as the MLflow UI and pipelines list models), v1 model
create. Prints mean / p95 wall-clock ms, this process's CPU ms (without PostgreSQL's and Redis's; steadier on a
busy machine) and SQL queries per request.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import os
import pstats
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/arbiter_perf_bench"
)
os.environ["CACHE_URL"] = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/13")
os.environ["DEBUG"] = "0"
os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 60)
os.environ["ALLOWED_HOSTS"] = "testserver"
os.environ["SECURE_SSL_REDIRECT"] = "0"
os.environ["THROTTLE_USER"] = "1000000/minute"
os.environ.setdefault("AXES_ENABLED", "0")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from registry import services  # noqa: E402
from registry.models import ModelAlias, ModelVersion, RegisteredModel  # noqa: E402
from registry.permissions import Role  # noqa: E402

User = get_user_model()
# What MlflowClient.search_registered_models appends to every filter.
PROMPT_CLAUSE = "tag.`mlflow.prompt.is_prompt` != 'true'"


def setup() -> tuple[str, str, str]:
    """A fresh owner (in a fresh team) with a token, and one model with a version and an alias."""
    call_command("migrate", verbosity=0, interactive=False)
    run = uuid.uuid4().hex[:8]
    admin = User.objects.create_user(f"bench-admin-{run}", password=None)
    admin.groups.add(Group.objects.get(name=Role.ADMINISTRATOR))
    admin = User.objects.get(pk=admin.pk)
    team = services.team_create(actor=admin, name=f"Bench {run}")
    owner = User.objects.create_user(f"bench-owner-{run}", password=None)
    owner.groups.add(Group.objects.get(name=Role.MODEL_OWNER))
    team.group.user_set.add(owner)
    owner = User.objects.get(pk=owner.pk)
    model = services.model_create(actor=owner, name=f"bench-{run}", title="Bench", team=team)
    version = services.version_register(
        actor=owner, model=model, metrics=[{"name": "accuracy", "value": 0.9, "dataset": "holdout", "split": "test"}]
    )
    owner = User.objects.get(pk=owner.pk)
    services.alias_apply(actor=owner, model=model, name="champion", version=version)
    _, secret = services.token_create(actor=owner, user=owner, name="bench", scopes=["read", "write"])
    catalog(run, owner)
    return run, model.name, secret


def catalog(run: str, owner) -> None:
    """For the full-page search: 2,000 internal models `page-{run}-0` ... `-1999`, the first 200 with five
    versions (v1 staging, v2-v5 development; v3 aliased `champion`), written in bulk (the search reads them, how
    they were made does not matter to it)."""
    models = RegisteredModel.objects.bulk_create(
        RegisteredModel(name=f"page-{run}-{i}", title=f"Page {i}", owner=owner, created_by=owner, updated_by=owner)
        for i in range(2000)
    )
    versions = ModelVersion.objects.bulk_create(
        ModelVersion(model=model, version=n, stage="staging" if n == 1 else "development", created_by=owner)
        for model in models[:200]
        for n in range(1, 6)
    )
    ModelAlias.objects.bulk_create(
        ModelAlias(model_id=version.model_id, name="champion", version=version)
        for version in versions
        if version.version == 3
    )


def scenarios(run: str, model_name: str) -> dict:
    counter = itertools.count()
    return {
        "alias": lambda c: c.get("/api/2.0/mlflow/registered-models/alias", {"name": model_name, "alias": "champion"}),
        "get": lambda c: c.get("/api/2.0/mlflow/registered-models/get", {"name": model_name}),
        "create": lambda c: c.post(
            "/api/2.0/mlflow/registered-models/create",
            {"name": f"mlf-{run}-{next(counter)}", "description": "bench"},
            content_type="application/json",
        ),
        "version-create": lambda c: c.post(
            "/api/2.0/mlflow/model-versions/create",
            {"name": model_name, "source": f"s3://bench/{next(counter)}", "run_id": "r1"},
            content_type="application/json",
        ),
        "search-page": lambda c: c.get(
            "/api/2.0/mlflow/registered-models/search",
            {"filter": f"name LIKE 'page-{run}-1%' AND {PROMPT_CLAUSE}", "max_results": 100},
        ),
        "v1-create": lambda c: c.post(
            "/api/v1/models/",
            {"name": f"v1-{run}-{next(counter)}", "title": "Bench"},
            content_type="application/json",
        ),
    }


def measure(name: str, call, client: Client, n: int) -> tuple[float, float, float, float]:
    for _ in range(5):  # warm up: imports, connection, caches
        response = call(client)
        assert response.status_code in (200, 201), (name, response.status_code, response.content[:300])
    with CaptureQueriesContext(connection) as ctx:
        response = call(client)
    queries = len(ctx.captured_queries)
    times = []
    cpu_start = time.process_time()
    for _ in range(n):
        start = time.perf_counter()
        response = call(client)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code in (200, 201), (name, response.status_code, response.content[:300])
    cpu = (time.process_time() - cpu_start) * 1000 / n
    return statistics.fmean(times), statistics.quantiles(times, n=20)[18], cpu, queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500, help="requests per scenario (default 500)")
    parser.add_argument(
        "--only", nargs="*", help="scenario names to run (alias get create version-create search-page v1-create)"
    )
    parser.add_argument("--profile", help="profile this scenario with cProfile instead of timing all")
    parser.add_argument("--sort", default="cumulative", help="cProfile sort key (default cumulative)")
    parser.add_argument("--top", type=int, default=40, help="cProfile rows to print (default 40)")
    args = parser.parse_args()
    run, model_name, secret = setup()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    calls = scenarios(run, model_name)
    if args.profile:
        call = calls[args.profile]
        for _ in range(5):
            call(client)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.n):
            call(client)
        profiler.disable()
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
        return
    print(f"{'scenario':<12} {'mean ms':>8} {'p95 ms':>8} {'CPU ms':>8} {'queries':>8}   (N={args.n})")
    for name, call in calls.items():
        if args.only and name not in args.only:
            continue
        mean, p95, cpu, queries = measure(name, call, client, args.n)
        print(f"{name:<12} {mean:8.2f} {p95:8.2f} {cpu:8.2f} {queries:8d}")


if __name__ == "__main__":
    main()
