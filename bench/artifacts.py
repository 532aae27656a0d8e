"""Artifact upload and validation throughput, end to end, with memory use of the web and worker processes.

    .venv/bin/python bench/artifacts.py                  # 1 GiB and 4 GiB safetensors + a 256 MiB checkpoint
    .venv/bin/python bench/artifacts.py --sizes 256      # a quick look (sizes in MiB)

Starts Arbiter under gunicorn (2 workers) and a Celery worker (solo pool) on PostgreSQL
(`arbiter_bench_artifacts`, recreated) and Redis (db 14), uploads generated files through the API with a
streamed PUT, and waits for the worker's verdict. For each file it reports upload MB/s, validation MB/s
(hash + format and safety checks, measured by the worker) next to plain `hashlib.sha256` over the same
stored file in the same run, and the peak RSS growth of the web and worker processes (sampled from /proc
every 20 ms). Targets: safetensors validation >= 80% of hashlib; RSS growth < 100 MiB whatever the size.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "arbiter_bench_artifacts"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
REDIS_URL = "redis://127.0.0.1:6379/14"
WORK = Path("/tmp/arbiter-bench-artifacts")
MEDIA = WORK / "media"
MiB = 1024 * 1024

os.environ.update(
    DJANGO_SETTINGS_MODULE="config.settings",
    DATABASE_URL=DATABASE_URL,
    MEDIA_ROOT=str(MEDIA),
    AXES_ENABLED="0",
)


def server_env(port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "REDIS_URL": REDIS_URL,
        "CELERY_QUEUE": "bench-artifacts",
        "THROTTLE_UPLOADS": "100000/hour",
        "LOG_LEVEL": "WARNING",
    }


def fresh_database() -> None:
    import psycopg

    admin = psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{DB_NAME}"')
    admin.close()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)


def provision() -> str:
    """A model owner with a write token, and a model with one development version. Returns the token."""
    import django

    django.setup()
    from registry import services
    from registry.permissions import Role
    from tests.factories import make_user

    owner = make_user("bench-owner", roles=[Role.MODEL_OWNER])
    model = services.model_create(actor=owner, name="bench", title="Benchmark model")
    services.version_register(actor=owner, model=model)
    return services.token_create(actor=owner, user=owner, name="bench", scopes=["write"])[1]


def rss_tree(pid: int) -> int:
    """Resident memory of a process and its children, in bytes."""
    total, pids = 0, [pid]
    while pids:
        current = pids.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            with open(f"/proc/{current}/task/{current}/children") as children:
                pids.extend(int(child) for child in children.read().split())
        except FileNotFoundError:
            continue
    return total


class PeakSampler:
    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self.baseline = rss_tree(pid)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_tree(self.pid))
            time.sleep(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def wait_http(port: int) -> None:
    for _ in range(200):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/accounts/login/")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def upload(port: int, token: str, path: Path, name: str, kind: str) -> tuple[dict, float]:
    size = path.stat().st_size
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600, blocksize=4 * MiB)
    started = time.perf_counter()
    with path.open("rb") as body:
        connection.request(
            "PUT",
            f"/api/v1/models/bench/versions/1/artifacts/{name}?kind={kind}",
            body=body,
            headers={"Authorization": f"Bearer {token}", "Content-Length": str(size)},
            encode_chunked=False,
        )
        response = connection.getresponse()
        payload = json.loads(response.read())
    elapsed = time.perf_counter() - started
    if response.status != 202:
        raise RuntimeError(f"upload answered {response.status}: {payload}")
    return payload, elapsed


def wait_verdict(artifact_id: int):
    """Poll the database for the worker's verdict; returns (status, seconds the worker spent validating)."""
    from governance.models import AuditEvent
    from registry.models import Artifact

    while True:
        artifact = Artifact.objects.get(pk=artifact_id)
        if artifact.status not in ("pending", "validating"):
            break
        time.sleep(0.02)
    uploaded = AuditEvent.objects.get(action="artifact.uploaded", target_id=str(artifact_id)).timestamp
    return artifact.status, (artifact.validated_at - uploaded).total_seconds(), artifact


def hashlib_seconds(path: Path) -> float:
    digest, buffer = hashlib.sha256(), bytearray(8 * MiB)
    view = memoryview(buffer)
    started = time.perf_counter()
    with path.open("rb", buffering=0) as handle:
        while read := handle.readinto(buffer):
            digest.update(view[:read])
    return time.perf_counter() - started


def make_checkpoint(path: Path, size: int) -> None:
    from bench.validators import make_torch_zip  # the validators benchmark's generator: a torch.save zip

    make_torch_zip(path, size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096], help="safetensors sizes in MiB")
    parser.add_argument("--checkpoint", type=int, default=256, help="pickle checkpoint size in MiB (0: skip)")
    args = parser.parse_args()

    shutil.rmtree(WORK, ignore_errors=True)
    MEDIA.mkdir(parents=True)
    fresh_database()
    token = provision()
    from tests.artifact_files import write_safetensors

    port = 8765
    env = server_env(port)
    gunicorn = ROOT / ".venv" / "bin" / "gunicorn"
    celery = ROOT / ".venv" / "bin" / "celery"
    web = subprocess.Popen(
        [str(gunicorn), "config.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}", "--timeout", "600"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = subprocess.Popen(
        [str(celery), "-A", "config", "worker", "--pool=solo", "-Q", "bench-artifacts", "--loglevel=WARNING"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rows = []
    try:
        wait_http(port)
        time.sleep(2)
        files = [(f"model-{size}MiB.safetensors", "weights", size) for size in args.sizes]
        if args.checkpoint:
            files.append((f"checkpoint-{args.checkpoint}MiB.pt", "weights", args.checkpoint))
        for name, kind, size_mib in files:
            path = WORK / name
            if name.endswith(".pt"):
                make_checkpoint(path, size_mib * MiB)
            else:
                write_safetensors(path, size_mib * MiB)
            size = path.stat().st_size
            with PeakSampler(web.pid) as web_rss, PeakSampler(worker.pid) as worker_rss:
                payload, upload_seconds = upload(port, token, path, name, kind)
                status, validate_seconds, artifact = wait_verdict(payload["id"])
            stored = MEDIA / artifact.storage_key
            baseline = hashlib_seconds(stored)
            path.unlink()
            rows.append(
                {
                    "file": name,
                    "size": size,
                    "status": status,
                    "upload": size / upload_seconds / 1e6,
                    "validate": size / validate_seconds / 1e6,
                    "hashlib": size / baseline / 1e6,
                    "web_growth": (web_rss.peak - web_rss.baseline) / MiB,
                    "worker_growth": (worker_rss.peak - worker_rss.baseline) / MiB,
                }
            )
    finally:
        for process in (web, worker):
            process.send_signal(signal.SIGTERM)
        for process in (web, worker):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(WORK, ignore_errors=True)

    print()
    print(
        f"{'file':<30} {'status':<12} {'upload MB/s':>12} {'validate MB/s':>14} {'hashlib MB/s':>13} "
        f"{'ratio':>6} {'web RSS +MiB':>13} {'worker RSS +MiB':>16}"
    )
    for row in rows:
        print(
            f"{row['file']:<30} {row['status']:<12} {row['upload']:>12.0f} {row['validate']:>14.0f} "
            f"{row['hashlib']:>13.0f} {row['validate'] / row['hashlib']:>6.0%} {row['web_growth']:>13.1f} "
            f"{row['worker_growth']:>16.1f}"
        )


if __name__ == "__main__":
    main()
