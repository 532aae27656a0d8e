"""Scale-out, proven: two web instances, two Celery workers and a beat against one PostgreSQL, Redis and S3 store,
under mixed load, with one worker killed in the middle of a validation and one web instance killed in the
middle of an upload.

    .venv/bin/python bench/scaleout.py                  # 60 s of load
    .venv/bin/python bench/scaleout.py --seconds 20     # a quick look

Starts a redis-server of its own, moto's S3 server, PostgreSQL database `arbiter_bench_scaleout` (recreated),
two gunicorn instances (2 workers x 4 threads each), two Celery workers consuming both queues (`-n w1`, `-n w2`)
and beat, all with DEBUG=0. Client threads register models and versions, upload valid and hostile files and read
models and their production version, spread over both web instances (a request to a dead instance is retried on
the other). A third of the way in, a 256 MiB upload is validated and the worker holding it is SIGKILLed; two
thirds in, web instance 1 is SIGKILLed while a slow upload streams into it. Afterwards it checks: every accepted
upload reached a final status and none is left pending or validating; each model's version numbers are 1..n with
no gap; the audit chain verifies (`manage.py audit verify`); every webhook delivery succeeded and reached the
receiver (duplicates identified by delivery id); no production read returned a version (none was approved).
Approvals and votes are not part of the load yet.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import pickle
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "arbiter_bench_scaleout"
WORK = Path("/tmp/arbiter-bench-scaleout")
BUCKET = "bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PORTS = {"redis": free_port(), "s3": free_port(), "web1": free_port(), "web2": free_port()}
ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DEBUG": "0",
    "SECRET_KEY": "bench-scaleout-" + "x" * 40,
    "AUDIT_HMAC_KEY": "bench-scaleout-audit-key",
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "0",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
    "AXES_ENABLED": "0",
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
    "REDIS_URL": f"redis://127.0.0.1:{PORTS['redis']}/0",
    "CACHE_URL": f"redis://127.0.0.1:{PORTS['redis']}/1",
    "STORAGE_URL": f"s3://{BUCKET}/registry",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_S3_ENDPOINT_URL": f"http://127.0.0.1:{PORTS['s3']}",
    "AWS_S3_REGION_NAME": "us-east-1",
    "THROTTLE_USER": "1000000/minute",
    "THROTTLE_UPLOADS": "1000000/hour",
    "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
    "WEBHOOK_BACKOFF_BASE": "1",
    "WEBHOOK_REQUEUE_EVERY_SECONDS": "5",
    "ARTIFACT_REQUEUE_EVERY_SECONDS": "5",
    "ARTIFACT_REQUEUE_AFTER_SECONDS": "10",
    "CELERY_VISIBILITY_TIMEOUT": "10",
    "ARTIFACT_STALE_VALIDATION_SECONDS": "20",
    "LOG_LEVEL": "WARNING",
}
os.environ.update(ENV)
os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)


class Processes:
    def __init__(self):
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str]) -> None:
        log = (WORK / f"{name}.log").open("ab")
        self.running[name] = subprocess.Popen(
            command, cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def kill(self, name: str) -> None:
        os.killpg(self.running[name].pid, signal.SIGKILL)
        self.running[name].wait()

    def stop_all(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def prepare(processes: Processes):
    import logging

    import psycopg
    from moto.server import ThreadedMotoServer

    WORK.mkdir(exist_ok=True)
    processes.start("redis", ["redis-server", "--port", str(PORTS["redis"]), "--save", "", "--dir", str(WORK)])
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=PORTS["s3"], verbose=False)
    s3.start()
    import boto3

    boto3.client("s3", endpoint_url=ENV["AWS_S3_ENDPOINT_URL"], region_name="us-east-1").create_bucket(Bucket=BUCKET)
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DB_NAME}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    return s3


def provision(receiver_url: str) -> str:
    import django

    django.setup()
    from governance import webhooks
    from governance.choices import WebhookEvent
    from registry import services
    from registry.permissions import Role
    from tests.factories import make_user

    owner = make_user("bench-owner", roles=[Role.MODEL_OWNER])
    webhooks.webhook_subscription_create(
        actor=owner,
        name="receiver",
        url=receiver_url,
        event_types=[WebhookEvent.VERSION_CREATED, WebhookEvent.ARTIFACT_VALIDATED, WebhookEvent.ARTIFACT_REJECTED],
    )
    return services.token_create(actor=owner, user=owner, name="bench", scopes=["write"])[1]


def start_services(processes: Processes) -> None:
    bin_dir = Path(sys.executable).parent
    for name in ("web1", "web2"):
        gunicorn = [str(bin_dir / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{PORTS[name]}"]
        processes.start(name, [*gunicorn, "--workers", "2", "--threads", "4", "--timeout", "300"])
    for name in ("w1", "w2"):
        celery = [str(bin_dir / "celery"), "-A", "config", "worker", "-Q", "validation,default", "-n", f"{name}@%h"]
        processes.start(name, [*celery, "--concurrency", "2", "--loglevel", "WARNING"])
    processes.start("beat", [str(bin_dir / "celery"), "-A", "config", "beat", "-s", str(WORK / "beat-schedule")])
    for name in ("web1", "web2"):
        for _ in range(300):
            try:
                connection = http.client.HTTPConnection("127.0.0.1", PORTS[name], timeout=2)
                connection.request("GET", "/health/live")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.1)


def safetensors(size: int) -> bytes:
    header = json.dumps({"w": {"dtype": "U8", "shape": [size], "data_offsets": [0, size]}}).encode()
    header += b" " * (-len(header) % 8)
    return len(header).to_bytes(8, "little") + header + os.urandom(size)


class Hostile:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


HOSTILE = pickle.dumps(Hostile())


class Load:
    """Client threads: each request goes to one of the live web instances, and to the other if it fails."""

    def __init__(self, token: str):
        self.token = token
        self.live = ["web1", "web2"]
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.failovers = 0
        self.accepted: list[int] = []
        self.production_bodies: list[int] = []

    def request(self, method: str, path: str, body: bytes | None = None, *, instance: str | None = None):
        candidates = [instance] if instance else random.sample(self.live, len(self.live))
        for name in candidates:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", PORTS[name], timeout=120)
                headers = {"Authorization": f"Bearer {self.token}"}
                if body is not None:
                    headers["Content-Length"] = str(len(body))
                    headers["Content-Type"] = "application/json" if body[:1] == b"{" else "application/octet-stream"
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                return response.status, response.read()
            except OSError:
                with self.lock:
                    self.failovers += 1
        raise OSError(f"no web instance answered {method} {path}")

    def timed(self, op: str, method: str, path: str, body: bytes | None, ok: tuple[int, ...]):
        started = time.perf_counter()
        try:
            status, content = self.request(method, path, body)
        except OSError:
            status, content = 0, b""
        with self.lock:
            if status in ok:
                self.latencies[op].append(time.perf_counter() - started)
            else:
                self.errors[op] += 1
        return status, content

    def client(self, until: float) -> None:
        models: list[str] = []
        while time.monotonic() < until:
            roll = random.random()
            if not models or roll < 0.1:
                name = f"m-{uuid.uuid4().hex[:10]}"
                body = json.dumps({"name": name, "title": name}).encode()
                if self.timed("register model", "POST", "/api/v1/models/", body, (201,))[0] == 201:
                    self.timed("register version", "POST", f"/api/v1/models/{name}/versions/", b"{}", (201,))
                    models.append(name)
                continue
            model = random.choice(models)
            if roll < 0.3:
                self.timed("register version", "POST", f"/api/v1/models/{model}/versions/", b"{}", (201,))
            elif roll < 0.5:
                hostile = roll < 0.35
                name, data = (
                    ("h.pkl", HOSTILE) if hostile else (f"{uuid.uuid4().hex[:6]}.safetensors", safetensors(65536))
                )
                path = f"/api/v1/models/{model}/versions/1/artifacts/{name}"
                status, content = self.timed(
                    "upload hostile" if hostile else "upload valid", "PUT", path, data, (202, 409)
                )
                if status == 202:
                    with self.lock:
                        self.accepted.append(json.loads(content)["id"])
            elif roll < 0.75:
                self.timed("read model", "GET", f"/api/v1/models/{model}/", None, (200,))
            else:
                status, content = self.timed(
                    "read production", "GET", f"/api/v1/models/{model}/production", None, (404,)
                )
                if status == 200:
                    self.production_bodies.append(status)


def status_of(artifact_id: int) -> str:
    from registry.models import Artifact

    return Artifact.objects.filter(pk=artifact_id).values_list("status", flat=True).get()


def kill_worker_mid_validation(load: Load, processes: Processes, report: dict) -> None:
    from config.celery import app

    status, content = load.request("POST", "/api/v1/models/", json.dumps({"name": "big", "title": "big"}).encode())
    load.request("POST", "/api/v1/models/big/versions/", b"{}")
    status, content = load.request(
        "PUT", "/api/v1/models/big/versions/1/artifacts/big.safetensors", safetensors(256 << 20)
    )
    artifact_id = json.loads(content)["id"]
    with load.lock:
        load.accepted.append(artifact_id)
    while status_of(artifact_id) != "validating":
        time.sleep(0.01)
    active = app.control.inspect(timeout=2).active() or {}
    holder = next(
        (node.split("@")[0] for node, tasks in active.items() if any(t["args"] == [artifact_id] for t in tasks)), "w1"
    )
    killed_at = time.monotonic()
    processes.kill(holder)
    report["worker killed"] = f"{holder} while validating artifact {artifact_id}"
    while status_of(artifact_id) in ("pending", "validating"):
        time.sleep(0.1)
    report["worker recovery"] = f"{time.monotonic() - killed_at:.1f} s until the artifact was {status_of(artifact_id)}"


def kill_web_mid_upload(load: Load, processes: Processes, report: dict) -> None:
    load.live = ["web2"]
    connection = http.client.HTTPConnection("127.0.0.1", PORTS["web1"], timeout=30)
    size = 64 << 20
    connection.putrequest("PUT", "/api/v1/models/big/versions/1/artifacts/slow.safetensors")
    connection.putheader("Authorization", f"Bearer {load.token}")
    connection.putheader("Content-Length", str(size))
    connection.endheaders()
    data = safetensors(size - 8 - 80)
    for offset in range(0, len(data) // 2, 1 << 20):
        connection.send(data[offset : offset + (1 << 20)])
        time.sleep(0.01)
    killed_at = time.monotonic()
    processes.kill("web1")
    load.request("GET", "/health/live", instance="web2")
    report["web killed"] = "web1 in the middle of a 64 MiB upload"
    report["web recovery"] = f"{(time.monotonic() - killed_at) * 1000:.0f} ms until web2 answered"


def check(load: Load, receiver, report: dict) -> list[str]:
    from django.db.models import Count, Max, Min

    from governance.models import WebhookDelivery
    from registry.models import Artifact, ModelVersion

    problems = []
    deadline = time.monotonic() + 180
    while Artifact.objects.filter(status__in=["pending", "validating"]).exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    final = dict(Artifact.objects.filter(pk__in=load.accepted).values_list("pk", "status"))
    unfinished = [pk for pk in load.accepted if final.get(pk) in (None, "pending", "validating")]
    if unfinished:
        problems.append(f"{len(unfinished)} accepted uploads not final: {unfinished[:10]}")
    report["uploads"] = f"{len(load.accepted)} accepted, statuses {dict(Counter(final.values()))}"
    gaps = [
        row["model__name"]
        for row in ModelVersion.objects.values("model__name").annotate(
            n=Count("pk"), lo=Min("version"), hi=Max("version")
        )
        if (row["lo"], row["hi"]) != (1, row["n"])
    ]
    if gaps:
        problems.append(f"version numbers with gaps or duplicates: {gaps[:10]}")
    while WebhookDelivery.objects.exclude(status="succeeded").exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    deliveries = set(WebhookDelivery.objects.values_list("delivery_id", flat=True))
    received = [r.headers.get("X-Arbiter-Delivery") for r in receiver.requests]
    missing = {str(d) for d in deliveries} - set(received)
    if missing or WebhookDelivery.objects.exclude(status="succeeded").exists():
        problems.append(f"{len(missing)} webhook deliveries never received")
    report["webhooks"] = (
        f"{len(deliveries)} deliveries, {len(received)} requests ({len(received) - len(set(received))} duplicates)"
    )
    if load.production_bodies:
        problems.append(f"{len(load.production_bodies)} production reads returned an unapproved version")
    verify = subprocess.run([sys.executable, "manage.py", "audit", "verify"], cwd=ROOT, capture_output=True, text=True)
    report["audit verify"] = verify.stdout.strip().splitlines()[-1] if verify.stdout.strip() else verify.stderr[-300:]
    if verify.returncode != 0:
        problems.append("audit verification failed")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=6)
    args = parser.parse_args()
    from tests.webhook_receiver import Receiver

    processes = Processes()
    receiver = Receiver().start()
    s3 = prepare(processes)
    report: dict[str, str] = {}
    try:
        token = provision(receiver.url)
        start_services(processes)
        load = Load(token)
        started = time.monotonic()
        until = started + args.seconds
        clients = [threading.Thread(target=load.client, args=(until,)) for _ in range(args.clients)]
        for thread in clients:
            thread.start()
        time.sleep(args.seconds / 3)
        worker_kill = threading.Thread(target=kill_worker_mid_validation, args=(load, processes, report))
        worker_kill.start()
        time.sleep(max(0.0, started + 2 * args.seconds / 3 - time.monotonic()))
        kill_web_mid_upload(load, processes, report)
        for thread in [*clients, worker_kill]:
            thread.join()
        elapsed = args.seconds
        problems = check(load, receiver, report)
    finally:
        processes.stop_all()
        receiver.stop()
        s3.stop()
    print(
        f"\n{args.seconds:.0f} s of load, {args.clients} client threads, 2 web x (2 workers x 4 threads), 2 workers\n"
    )
    print("| operation | requests | req/s | p50 ms | p95 ms | errors |")
    print("| --- | --: | --: | --: | --: | --: |")
    for op in sorted(set(load.latencies) | set(load.errors)):
        values = sorted(load.latencies[op])
        p50 = values[len(values) // 2] * 1000 if values else 0
        p95 = values[int(len(values) * 0.95)] * 1000 if values else 0
        print(f"| {op} | {len(values)} | {len(values) / elapsed:.1f} | {p50:.1f} | {p95:.1f} | {load.errors[op]} |")
    print(f"\nrequests retried on the other instance: {load.failovers}")
    for key, value in report.items():
        print(f"- {key}: {value}")
    print("\nchecks: " + ("all passed" if not problems else "FAILED: " + "; ".join(problems)))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
