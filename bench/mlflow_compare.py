"""Arbiter vs MLflow's own server: the same MLflow-protocol REST workload against both, in one run.

    .venv/bin/python bench/mlflow_compare.py                 # full run, writes docs/benchmarks.md
    .venv/bin/python bench/mlflow_compare.py --quick         # smoke run (small counts), prints only
    .venv/bin/python bench/mlflow_compare.py --quick --servers arbiter --workers 2 --threads 4   # tune Arbiter

What it does:
- installs MLflow's server (`mlflow==MLFLOW_VERSION`, not an Arbiter dependency) into a throw-away venv under
  /tmp (reused if present; `--skip-mlflow-install` trusts it as is), starts `mlflow server` on 127.0.0.1 with
  a SQLite backend in a temporary directory and its default settings, and waits until it answers and its
  process tree is idle (its job runner keeps both cores busy for ~10 s after start);
- gives Arbiter its own PostgreSQL database (`arbiter_bench_mlflow`, dropped and recreated), migrates it,
  creates a service account with the Model Owner role and a read+write API token through `manage.py`, and
  starts the production setup: gunicorn (`config.wsgi`, DEBUG=0, `--workers 2 --threads 4` by default: one
  process per core, threads to overlap database waits; it beat `--workers 3` and `--workers 4` sync workers
  on req/s, CPU per request and memory in `--quick` runs) plus a Celery worker with beat (`make worker`'s
  command) on a private Redis queue, so the memory figure is the whole server (web + worker). Nothing in
  this workload enqueues a task; the worker is there because a real deployment runs one;
- runs the workload over `/api/2.0/mlflow/`, alternating which server goes first at each step, each step once
  with a new connection per request (`Connection: close`) and once with keep-alive (one persistent connection
  per client thread). Creation steps split their objects between the two modes, so the data set stays at
  the sizes below:
    1. create 2,000 registered models (sequential, like a pipeline);
    2. create 5 versions for each of 200 models (sequential);
    3. resolve an alias 5,000 times at concurrency 8 (`GET registered-models/alias`, the CD hot path);
    4. get a registered model 5,000 times at concurrency 8;
    5. a selective search (`name LIKE 'model-123%'`, 11 matches, plus the prompt-exclusion clause the MLflow
       client always adds) at 2,000 models, then (step 6 first) at 20,000 after creating 18,000 more through
       the API;
    6. a search answering a full page (`name LIKE 'model-1%'`, 1,111 of the 2,000 models match, plus the same
       clause, `max_results=100`), as the MLflow UI and pipelines list models, with one client and at
       concurrency 8;
- measures req/s, p50/p95/p99, the server's CPU per request (utime+stime of its process tree from /proc;
  for Arbiter also the PostgreSQL backends serving its database, shown separately) and, after the run, the
  server's total RSS (process tree: web + worker) and PSS;
- prints the table and writes the section `## Arbiter vs MLflow (bench/mlflow_compare.py)` into
  docs/benchmarks.md (other sections are kept), with the machine, versions, command and targets.

Targets (issue 8, fresh connections): alias resolution and get >= 2x MLflow's req/s; creation >= MLflow while
also writing audit events; search at 20,000 models <= 1.2x the time at 2,000; Arbiter's RSS < 1/4 of MLflow's;
(issue 15) the full-page search >= 1.5x MLflow's req/s.

Every process it starts is stopped on exit, on errors and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import itertools
import json
import os
import platform
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MLFLOW_VERSION = "3.17.2"
SECTION = "## Arbiter vs MLflow (bench/mlflow_compare.py)"
API = "/api/2.0/mlflow"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
# What MlflowClient.search_registered_models appends to every filter (it hides prompts from model searches).
PROMPT_CLAUSE = "tag.`mlflow.prompt.is_prompt` != 'true'"
SEARCH_FILTER = f"name LIKE 'model-123%' AND {PROMPT_CLAUSE}"
FULL_PAGE_FILTER = f"name LIKE 'model-1%' AND {PROMPT_CLAUSE}"
MODES = ("fresh", "keep-alive")
STOP = threading.Event()  # set on Ctrl-C: client threads finish their request and leave

FULL = {"models": 2000, "versioned": 200, "versions": 5, "reads": 5000, "searches": 300, "big": 20000}
QUICK = {"models": 200, "versioned": 20, "versions": 5, "reads": 500, "searches": 50, "big": 2000}


# --- Processes ---------------------------------------------------------------------------------------------


class Processes:
    """Every process this script starts, each in its own session, stopped (whole group) on exit."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen] = []

    def start(self, argv: list[str], *, log: Path, **kwargs) -> subprocess.Popen:
        out = open(log, "ab")  # noqa: SIM115 - the child keeps it
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **kwargs)
        out.close()
        self.started.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, timeout: float = 15) -> None:
        descendants = [pid for pid in tree([proc.pid]) if pid != proc.pid]
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout)
        # Leftovers of the group (workers the parent did not reap) are ended too, by the group id we created.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        for pid in descendants:  # children that started their own session (MLflow's job runner may)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)

    def stop_all(self) -> None:
        while self.started:
            self.stop(self.started.pop())


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


# --- /proc accounting --------------------------------------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def tree(roots: Iterable[int]) -> list[int]:
    """The given pids and all their descendants, alive now."""
    children = _children_map()
    seen, stack = [], [r for r in roots if Path(f"/proc/{r}").exists()]
    while stack:
        pid = stack.pop()
        seen.append(pid)
        stack.extend(children.get(pid, []))
    return seen


def cpu_by_pid(pids: Iterable[int], *, reaped: bool = True) -> dict[int, int]:
    """utime+stime per live process, in clock ticks; with `reaped`, plus that of its children it has reaped."""
    ticks = {}
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks[pid] = sum(int(x) for x in fields[11 : 15 if reaped else 13])  # utime stime cutime cstime
    return ticks


def cpu_ticks(pids: Iterable[int]) -> int:
    return sum(cpu_by_pid(pids).values())


class TreeCpu:
    """CPU a process tree used between start() and stop(). A child that exits is counted through its parent's
    cutime/cstime once reaped; processes that appear meanwhile count from zero."""

    def __init__(self, roots: Callable[[], list[int]]) -> None:
        self.roots = roots

    def start(self) -> None:
        self.before = cpu_by_pid(tree(self.roots()))

    def stop(self) -> float:
        after = cpu_by_pid(set(tree(self.roots())) | set(self.before))
        return sum(t - self.before.get(pid, 0) for pid, t in after.items()) * 1000 / CLK_TCK


class BackendCpu:
    """CPU of processes outside our tree (PostgreSQL backends), sampled every half second so that a backend
    which exits during the step still counts up to its last sample."""

    def __init__(self, pids: Callable[[], list[int]]) -> None:
        self.pids = pids

    def start(self) -> None:
        self.before = cpu_by_pid(self.pids(), reaped=False)
        self.seen = dict(self.before)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        while not self.done.wait(0.5):
            self.seen.update(cpu_by_pid(self.pids(), reaped=False))

    def stop(self) -> float:
        self.done.set()
        self.thread.join()
        self.seen.update(cpu_by_pid(self.pids(), reaped=False))
        return sum(t - self.before.get(pid, 0) for pid, t in self.seen.items()) * 1000 / CLK_TCK


def memory_kb(pids: Iterable[int]) -> tuple[int, int]:
    """(RSS, PSS) summed over these processes, in KiB. RSS counts pages shared after fork once per process."""
    rss = pss = 0
    for pid in pids:
        try:
            rss += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KB
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            continue
    return rss, pss


# --- HTTP load ---------------------------------------------------------------------------------------------

Request = tuple[str, str, bytes | None]  # method, path with query, JSON body


@dataclass
class Server:
    name: str
    port: int
    headers: dict[str, str]
    roots: Callable[[], list[int]]  # root pids of its process tree
    extra_pids: Callable[[], list[int]] = lambda: []  # processes outside the tree serving it (PostgreSQL)
    version: str = ""


@dataclass
class Result:
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: int
    cpu_ms: float  # server process tree
    extra_cpu_ms: float  # PostgreSQL backends (Arbiter)
    client_cpu_ms: float
    sample_error: str = ""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, max(0, round(q / 100 * len(data)) - 1))] if data else 0.0


def get(path: str, **params) -> Request:
    return ("GET", f"{API}/{path}?{urllib.parse.urlencode(params)}", None)


def post(path: str, body: dict) -> Request:
    return ("POST", f"{API}/{path}", json.dumps(body).encode())


def load(server: Server, requests: list[Request], *, concurrency: int, keepalive: bool) -> Result:
    """Send `requests` with `concurrency` client threads; fresh connection per request unless `keepalive`."""
    index = itertools.count()
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    base = {"Content-Type": "application/json", "Accept": "application/json", **server.headers}
    if not keepalive:
        base["Connection"] = "close"

    def worker() -> None:
        conn = None
        mine: list[float] = []
        while True:
            i = next(index)
            if i >= len(requests) or STOP.is_set():
                break
            method, path, body = requests[i]
            for attempt in (1, 2):
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
                t0 = time.perf_counter()
                try:
                    conn.request(method, path, body=body, headers=base)
                    response = conn.getresponse()
                    data = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    conn = None
                    reused = isinstance(exc, http.client.RemoteDisconnected | BrokenPipeError | ConnectionResetError)
                    if keepalive and attempt == 1 and reused and not STOP.is_set():
                        continue  # a kept-alive connection the server closed while idle: reconnect once, untimed
                    with lock:
                        errors.append(f"{method} {path}: {exc!r}")
                    break
                mine.append((time.perf_counter() - t0) * 1000)
                if response.status != 200:
                    with lock:
                        errors.append(f"{method} {path}: {response.status} {data[:300]!r}")
                if not keepalive or response.will_close:
                    conn.close()
                    conn = None
                break
        if conn is not None:
            conn.close()
        with lock:
            latencies.extend(mine)

    server_cpu, backend_cpu = TreeCpu(server.roots), BackendCpu(server.extra_pids)
    server_cpu.start()
    backend_cpu.start()
    client0 = time.process_time()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    client_ms = (time.process_time() - client0) * 1000
    cpu_ms, extra_ms = server_cpu.stop(), backend_cpu.stop()
    return Result(
        requests=len(requests),
        seconds=seconds,
        latencies_ms=latencies,
        errors=len(errors),
        cpu_ms=cpu_ms,
        extra_cpu_ms=extra_ms,
        client_cpu_ms=client_ms,
        sample_error=errors[0] if errors else "",
    )


def call(server: Server, request: Request) -> tuple[int, dict]:
    method, path, body = request
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json", **server.headers})
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(data or b"{}")
    except ValueError:
        return response.status, {"raw": data[:300].decode(errors="replace")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_answering(port: int, proc: subprocess.Popen, path: str, what: str, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited with {proc.returncode}; its log ({log}) ends with:\n{tail(log)}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.5)
    sys.exit(f"{what} did not answer on port {port} within {timeout:.0f} s; log {log}:\n{tail(log)}")


def wait_idle(roots: Callable[[], list[int]], what: str, *, below: float = 0.05, quiet_for: int = 3, limit=180):
    """Poll the tree's CPU once a second until it used < `below` of a core for `quiet_for` seconds in a row."""
    started, quiet = time.monotonic(), 0
    last = cpu_ticks(tree(roots()))
    while quiet < quiet_for:
        time.sleep(1)
        now = cpu_ticks(tree(roots()))
        quiet = quiet + 1 if (now - last) / CLK_TCK < below else 0
        last = now
        if time.monotonic() - started > limit:
            print(f"  {what} still busy after {limit} s; measuring anyway")
            return
    print(f"  {what} idle after {time.monotonic() - started:.0f} s")


def tail(log: Path, lines: int = 25) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --- MLflow ------------------------------------------------------------------------------------------------


def mlflow_install(venv: Path, version: str, skip: bool) -> str:
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import mlflow, sys; sys.stdout.write(mlflow.__version__)"]
    if skip:
        if not python.exists():
            sys.exit(f"--skip-mlflow-install, but there is no venv at {venv}")
        return subprocess.run(probe, check=True, capture_output=True, text=True).stdout
    if python.exists():
        have = subprocess.run(probe, capture_output=True, text=True)
        if have.returncode == 0 and have.stdout == version:
            print(f"  reusing {venv} (mlflow {version})")
            return version
    else:
        print(f"  creating {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    print(f"  pip install mlflow=={version} (a few minutes the first time)")
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, f"mlflow=={version}"], check=True)
    return subprocess.run(probe, check=True, capture_output=True, text=True).stdout


def mlflow_start(procs: Processes, venv: Path, workdir: Path, port: int) -> tuple[subprocess.Popen, list[str]]:
    """`mlflow server` with its defaults, a SQLite backend and the artifact root in a temporary directory."""
    home = workdir / "mlflow"
    home.mkdir()
    argv = [
        str(venv / "bin" / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{home / 'mlflow.db'}",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    log = workdir / "mlflow.log"
    proc = procs.start(argv, log=log, cwd=home, env=env)
    wait_answering(port, proc, "/health", "mlflow server", log)
    return proc, argv


# --- Arbiter -----------------------------------------------------------------------------------------------


def arbiter_python(root: Path) -> str:
    own = root / ".venv" / "bin" / "python"
    return str(own if own.exists() else Path(sys.executable))


def arbiter_env(args, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))}
    env.update(
        DATABASE_URL=args.database_url,
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        # Plain HTTP on 127.0.0.1: a TLS proxy would sit in front in production.
        SECURE_SSL_REDIRECT="0",
        REDIS_URL=args.redis_url,
        CELERY_QUEUE=f"bench-mlflow-{os.getpid()}",
        # The API's per-token rate limit (1,200/minute by default) would cap the benchmark; it stays on, just high.
        THROTTLE_USER="100000000/minute",
        LOG_LEVEL="WARNING",
        STATIC_ROOT=str(workdir / "static"),
        MEDIA_ROOT=str(workdir / "media"),
        PYTHONDONTWRITEBYTECODE="1",
        # The checkout under test comes first, ahead of any editable install of another checkout in the venv.
        PYTHONPATH=str(args.arbiter_root),
    )
    env.pop("CACHE_URL", None)
    return env


def pg_connect(database_url: str, dbname: str | None = None):
    import psycopg

    url = urllib.parse.urlparse(database_url)
    return psycopg.connect(
        host=url.hostname or "127.0.0.1",
        port=url.port or 5432,
        user=urllib.parse.unquote(url.username or "postgres"),
        password=urllib.parse.unquote(url.password) if url.password else None,
        dbname=dbname or url.path.lstrip("/"),
        autocommit=True,
    )


def arbiter_prepare(args, env: dict[str, str], workdir: Path) -> str:
    """A fresh database, migrated, with a service account and its token. Returns the token's secret."""
    dbname = urllib.parse.urlparse(args.database_url).path.lstrip("/")
    admin = pg_connect(args.database_url, "postgres")
    admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{dbname}"')
    admin.close()
    py, root = arbiter_python(args.arbiter_root), args.arbiter_root

    def manage(*argv: str) -> str:
        done = subprocess.run([py, "manage.py", *argv], cwd=root, env=env, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"manage.py {' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    print(f"  migrating {dbname}")
    manage("migrate", "--noinput", "-v", "0")
    manage("service_account", "create", "bench-pipeline", "--role", "Model Owner", "--description", "Benchmark")
    secret = manage(
        "token",
        "create",
        "bench-pipeline",
        "--scope",
        "read",
        "--scope",
        "write",
        "--name",
        "bench",
        "--expires-days",
        "1",
    ).strip()
    with pg_connect(args.database_url) as conn:
        conn.execute("VACUUM ANALYZE")
    return secret


def arbiter_start(args, procs: Processes, env: dict[str, str], workdir: Path, port: int):
    root = args.arbiter_root
    bindir = Path(arbiter_python(root)).parent
    gunicorn = [
        str(bindir / "gunicorn"),
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.workers),
        "--chdir",
        str(root),
    ]
    if args.threads > 1:
        gunicorn += ["--threads", str(args.threads)]
    log = workdir / "gunicorn.log"
    web = procs.start(gunicorn, log=log, cwd=root, env=env)
    worker = None
    celery = [str(bindir / "celery"), "-A", "config", "worker", "--beat", "--loglevel=WARNING", "--concurrency=2"]
    celery += ["--schedule", str(workdir / "celerybeat-schedule"), "-Q", env["CELERY_QUEUE"]]
    if not args.no_worker:
        worker = procs.start(celery, log=workdir / "celery.log", cwd=root, env=env)
    wait_answering(port, web, "/login/", "gunicorn", log)
    if worker is not None and worker.poll() is not None:
        sys.exit(f"celery worker exited:\n{tail(workdir / 'celery.log')}")
    return web, worker, gunicorn, (None if args.no_worker else celery)


def pg_backends(database_url: str) -> Callable[[], list[int]]:
    """Pids of the PostgreSQL backends connected to the bench database (other than our own monitor)."""
    conn = pg_connect(database_url)
    lock = threading.Lock()

    def pids() -> list[int]:
        with lock:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        return [r[0] for r in rows]

    pids.conn = conn  # type: ignore[attr-defined]
    return pids


# --- Workload ----------------------------------------------------------------------------------------------


@dataclass
class Plan:
    n: dict[str, int]
    concurrency: int
    results: dict[tuple[str, str, str], Result] = field(default_factory=dict)  # (step, mode, server)
    steps: list[str] = field(default_factory=list)
    skip_large_search: bool = False


def halves(items: list) -> dict[str, list]:
    mid = len(items) // 2
    return {"fresh": items[:mid], "keep-alive": items[mid:]}


def run_step(plan: Plan, step: str, servers: list[Server], order: int, make, concurrency: int) -> None:
    """`make(mode)` gives the requests; each mode runs on every server, the first server alternating."""
    plan.steps.append(step)
    ordered = servers if order % 2 == 0 else list(reversed(servers))
    for mode in MODES:
        for server in ordered:
            result = load(server, make(mode), concurrency=concurrency, keepalive=mode == "keep-alive")
            plan.results[(step, mode, server.name)] = result
            print(
                f"  {step:<32} {mode:<10} {server.name:<8} {result.rps:8.0f} req/s  p50 {result.pct(50):6.1f}"
                f"  p95 {result.pct(95):6.1f}  p99 {result.pct(99):6.1f} ms  cpu {result.cpu_ms / result.requests:5.2f}"
                f" ms/req (client {result.client_cpu_ms / result.requests:4.2f})  errors {result.errors}"
                + (f"  e.g. {result.sample_error}" if result.errors else "")
            )


def setup(servers: list[Server], requests: list[Request], what: str, concurrency: int = 8) -> None:
    for server in servers:
        t0 = time.perf_counter()
        result = load(server, requests, concurrency=concurrency, keepalive=True)
        print(f"  setup: {what} on {server.name}: {time.perf_counter() - t0:.0f} s, errors {result.errors}")
        if result.errors:
            sys.exit(f"setup failed on {server.name}: {result.sample_error}")


def matching(models: int) -> int:
    """How many of model-0 ... model-{models - 1} match FULL_PAGE_FILTER."""
    return sum(1 for i in range(models) if str(i).startswith("1"))


def workload(plan: Plan, servers: list[Server]) -> None:
    n, c = plan.n, plan.concurrency
    models = [f"model-{i}" for i in range(n["models"])]
    versioned = models[: n["versioned"]]

    # 1. Registered models, sequential, half of them per connection mode.
    by_mode = halves(models)
    run_step(
        plan,
        f"create {n['models']:,} models",
        servers,
        0,
        lambda m: [post("registered-models/create", {"name": x}) for x in by_mode[m]],
        1,
    )

    # 2. Versions, sequential: 5 for each versioned model, the models split between the modes.
    by_mode_v = halves(versioned)

    def versions(mode: str) -> list[Request]:
        return [
            post("model-versions/create", {"name": x, "source": f"s3://bench-artifacts/{x}/{v}", "run_id": ""})
            for x in by_mode_v[mode]
            for v in range(1, n["versions"] + 1)
        ]

    run_step(plan, f"create {n['versioned'] * n['versions']:,} versions", servers, 1, versions, 1)

    # 3. Alias resolution at concurrency 8 (setup: a `champion` alias on each versioned model, untimed).
    setup(
        servers,
        [post("registered-models/alias", {"name": x, "alias": "champion", "version": "3"}) for x in versioned],
        "aliases",
    )
    for server in servers:
        status, body = call(server, get("registered-models/alias", name=versioned[0], alias="champion"))
        version = body.get("model_version", {}).get("version")
        if status != 200 or str(version) != "3":
            sys.exit(f"{server.name}: alias resolution answered {status} {body}")
    reads = n["reads"]
    run_step(
        plan,
        f"resolve alias x{reads:,} (c={c})",
        servers,
        2,
        lambda m: [
            get("registered-models/alias", name=versioned[i % len(versioned)], alias="champion") for i in range(reads)
        ],
        c,
    )

    # 4. Get a registered model at concurrency 8.
    run_step(
        plan,
        f"get model x{reads:,} (c={c})",
        servers,
        3,
        lambda m: [get("registered-models/get", name=models[(i * 7) % len(models)]) for i in range(reads)],
        c,
    )

    # 5. Selective search, at the base size and after bulk-creating the rest, timed alone, sequential.
    search = get("registered-models/search", filter=SEARCH_FILTER, max_results=100)
    for server in servers:
        status, body = call(server, search)
        found = sorted(m["name"] for m in body.get("registered_models", []))
        if status != 200 or not found or not all(x.startswith("model-123") for x in found):
            sys.exit(f"{server.name}: search answered {status} {body}")
        print(f"  search on {server.name} finds {len(found)}: {', '.join(found[:4])}...")
    run_step(plan, f"search @ {n['models']:,} models", servers, 4, lambda m: [search] * n["searches"], 1)

    # 6. A search answering a full page, as the MLflow UI and pipelines list models: 1,111 of 2,000 match.
    full_page = get("registered-models/search", filter=FULL_PAGE_FILTER, max_results=100)
    for server in servers:
        status, body = call(server, full_page)
        found = body.get("registered_models", [])
        if status != 200 or len(found) != min(100, matching(n["models"])) or "next_page_token" not in body:
            sys.exit(f"{server.name}: full-page search answered {status} with {len(found)} models")
    for concurrency in (1, c):
        run_step(
            plan,
            f"full-page search c={concurrency} ({matching(n['models']):,} match)",
            servers,
            5 + concurrency,
            lambda m: [full_page] * n["searches"],
            concurrency,
        )
    if plan.skip_large_search:
        return
    extras = [post("registered-models/create", {"name": f"extra-{i:05d}"}) for i in range(n["big"] - n["models"])]
    setup(servers, extras, f"{len(extras):,} more models (c=8)")
    run_step(plan, f"search @ {n['big']:,} models", servers, 5, lambda m: [search] * n["searches"], 1)


# --- Report ------------------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = Path("/proc/meminfo").read_text().split()[1]
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": f"{int(mem) / 1024 / 1024:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def table(plan: Plan, names: list[str]) -> list[str]:
    both = len(names) == 2
    head = "| step | connections | server | req/s | p50 ms | p95 ms | p99 ms | server CPU ms/req | errors |"
    rule = "|---|---|---|--:|--:|--:|--:|--:|--:|"
    if both:
        head += " Arbiter/MLflow req/s |"
        rule += "--:|"
    lines = [head, rule]
    for step in plan.steps:
        for mode in MODES:
            for name in names:
                r = plan.results[(step, mode, name)]
                cpu = f"{r.cpu_ms / r.requests:.2f}"
                if r.extra_cpu_ms:
                    cpu += f" (+{r.extra_cpu_ms / r.requests:.2f} PostgreSQL)"
                row = (
                    f"| {step} | {mode} | {name} | {r.rps:,.0f} | {r.pct(50):.1f} | {r.pct(95):.1f} | {r.pct(99):.1f}"
                    f" | {cpu} | {r.errors} |"
                )
                if both:
                    ratio = r.rps / plan.results[(step, mode, "MLflow")].rps if name == "Arbiter" else None
                    row += f" {ratio:.2f}x |" if ratio else " |"
                lines.append(row)
    return lines


def targets(plan: Plan, memory: dict[str, tuple[int, int]]) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) for each of the issue's targets that this run can judge."""
    res, out = plan.results, []

    def ratio(step_prefix: str) -> float | None:
        step = next((s for s in plan.steps if s.startswith(step_prefix)), None)
        if step is None or (step, "fresh", "MLflow") not in res or (step, "fresh", "Arbiter") not in res:
            return None
        return res[(step, "fresh", "Arbiter")].rps / res[(step, "fresh", "MLflow")].rps

    for prefix, label, need in (
        ("resolve alias", "alias resolution >= 2x MLflow req/s (fresh connections)", 2.0),
        ("get model", "get model >= 2x MLflow req/s (fresh connections)", 2.0),
        ("create", "model creation >= MLflow req/s (fresh connections)", 1.0),
        ("full-page search c=1 ", "full-page search >= 1.5x MLflow req/s (one client, fresh connections)", 1.5),
        (
            f"full-page search c={plan.concurrency} ",
            f"full-page search >= 1.5x MLflow req/s (concurrency {plan.concurrency}, fresh connections)",
            1.5,
        ),
    ):
        value = ratio(prefix)
        if value is not None:
            out.append((label, f"{value:.2f}x", value >= need))
    value = ratio(f"create {plan.n['versioned'] * plan.n['versions']:,} versions")
    if value is not None:
        out.append(("version creation >= MLflow req/s (fresh connections)", f"{value:.2f}x", value >= 1.0))
    small, large = (f"search @ {plan.n[size]:,} models" for size in ("models", "big"))
    for name in ("Arbiter", "MLflow"):
        if (small, "fresh", name) in res and (large, "fresh", name) in res:
            a, b = res[(small, "fresh", name)].pct(50), res[(large, "fresh", name)].pct(50)
            label = f"{name}: search p50 at {plan.n['big']:,} models <= 1.2x at {plan.n['models']:,}"
            out.append((label, f"{b:.1f} / {a:.1f} ms = {b / a:.2f}x", (b / a <= 1.2) if name == "Arbiter" else None))
    if "Arbiter" in memory and "MLflow" in memory:
        a, m = memory["Arbiter"][0], memory["MLflow"][0]
        out.append(
            ("Arbiter RSS < 1/4 of MLflow's", f"{a / 1024:,.0f} MiB / {m / 1024:,.0f} MiB = {a / m:.2f}", a < m / 4)
        )
    return out


def markdown(plan, names, memory, pg_memory, info, targets_met, note) -> str:
    lines = [SECTION, ""]
    if note:
        lines += [f"**{note}**", ""]
    lines += [
        f"Run started {info['when']} with `{info['command']}` (sizes: {plan.n['models']:,} models,"
        f" {plan.n['versioned']:,} x {plan.n['versions']} versions, {plan.n['reads']:,} reads per mode,"
        f" {plan.n['searches']} searches per mode, {plan.n['big']:,} models for the large search).",
        "",
        f"- Machine: {info['cpu']}, {info['memory']}, {info['os']}; load average at start {info['load']}"
        " (shared: other work was running on the same cores).",
        f"- MLflow {info.get('mlflow', '-')}: `{info.get('mlflow_cmd', '-')}` (default settings, SQLite, own venv,"
        " Python " + info.get("mlflow_python", "?") + ").",
        f"- Arbiter {info.get('arbiter', '-')}: `{info.get('gunicorn_cmd', '-')}`"
        + (f" and `{info['celery_cmd']}`" if info.get("celery_cmd") else "")
        + f"; DEBUG=0, PostgreSQL {info.get('postgres', '?')}, Redis for the cache/throttle and broker;"
        " every write also records its audit event.",
        "- Client: this script, Python http.client threads on the same machine. *fresh* = a new TCP connection per"
        " request (`Connection: close`); *keep-alive* = one persistent connection per client thread. Creation"
        " and search are sequential (one client), reads run at concurrency"
        f" {plan.concurrency}. Creation steps give half of their objects to each connection mode.",
        "- Server CPU: utime+stime of the server's process tree per request; for Arbiter the PostgreSQL"
        " backends serving it are shown in brackets (MLflow's SQLite runs inside its own processes).",
        "",
    ]
    lines += table(plan, names)
    lines += [
        "",
        "Memory after the run (whole process tree; RSS counts pages shared between forked workers once per"
        " process, PSS splits them):",
        "",
    ]
    for name, (rss, pss) in memory.items():
        lines.append(f"- {name}: RSS {rss / 1024:,.0f} MiB, PSS {pss / 1024:,.0f} MiB")
    if pg_memory:
        lines.append(
            f"- PostgreSQL backends serving Arbiter (not in the figure above): PSS {pg_memory[1] / 1024:,.0f} MiB"
        )
    if targets_met:
        lines += ["", "Targets (issue 8):", "", "| target | measured | met |", "|---|---|---|"]
        for label, value, met in targets_met:
            lines.append(f"| {label} | {value} | {'yes' if met else ('no' if met is False else '(reference)')} |")
    lines += [
        "",
        "Keep-alive figures are shown for completeness: MLflow's default uvicorn setup adds ~40 ms to each reused"
        " connection (Nagle's algorithm meeting delayed ACKs), so the keep-alive ratio is not a claim about"
        " Arbiter. Arbiter's API rate limit was raised for the run (THROTTLE_USER); it still counted every request.",
        "",
    ]
    return "\n".join(lines)


def write_docs(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n\nFigures measured by the scripts in `bench/`.\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text.rstrip("\n") + "\n")


# --- Main --------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Small counts for a smoke run (does not write docs).")
    parser.add_argument(
        "--arbiter-root", type=Path, default=ROOT, help="The Arbiter checkout to serve (default: this one)."
    )
    parser.add_argument("--mlflow-version", default=MLFLOW_VERSION)
    parser.add_argument("--mlflow-venv", type=Path, default=Path("/tmp/mlflow-bench-venv"))
    parser.add_argument("--skip-mlflow-install", action="store_true", help="Use the venv as it is.")
    parser.add_argument("--servers", default="mlflow,arbiter", help="Comma-separated: mlflow, arbiter.")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2: one per core).")
    parser.add_argument(
        "--threads", type=int, default=4, help="Threads per gunicorn worker (default 4; >1 means gthread workers)."
    )
    parser.add_argument("--arbiter-label", default="", help="How to name the Arbiter build (default: git describe).")
    parser.add_argument("--no-worker", action="store_true", help="Do not start the Celery worker.")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--skip-large-search", action="store_true", help="Stop before creating the extra models (for tuning runs)."
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/arbiter_bench_mlflow"),
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    parser.add_argument("--docs", action=argparse.BooleanOptionalAction, default=None, help="Write docs/benchmarks.md.")
    parser.add_argument(
        "--note", default="", help="A line printed above the figures in the docs (e.g. 'busy machine')."
    )
    args = parser.parse_args()
    args.arbiter_root = args.arbiter_root.resolve()
    wanted = {s.strip().lower() for s in args.servers.split(",") if s.strip()}
    if not wanted or wanted - {"mlflow", "arbiter"}:
        sys.exit("--servers takes mlflow, arbiter or both")
    write = args.docs if args.docs is not None else not args.quick

    sys.stdout.reconfigure(line_buffering=True)  # progress shows up when piped to a log
    signal.signal(signal.SIGINT, _raise_interrupt)  # also when started in the background, where SIGINT is ignored
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGHUP, _raise_interrupt)
    procs = Processes()
    workdir = Path(tempfile.mkdtemp(prefix="mlflow-compare-"))
    info = machine()
    info["when"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    shown = [a for a in sys.argv[1:] if not a.startswith("--note=")]  # the note is printed on its own
    if "--note" in shown:
        del shown[shown.index("--note") : shown.index("--note") + 2]
    info["command"] = shlex.join(["python", "bench/mlflow_compare.py", *shown])
    plan = Plan(n=QUICK if args.quick else FULL, concurrency=args.concurrency, skip_large_search=args.skip_large_search)
    finished = False
    servers: list[Server] = []
    pg_pids = None
    try:
        print(f"working directory {workdir}")
        if "mlflow" in wanted:
            print("MLflow:")
            info["mlflow"] = mlflow_install(args.mlflow_venv, args.mlflow_version, args.skip_mlflow_install)
            info["mlflow_python"] = subprocess.run(
                [str(args.mlflow_venv / "bin" / "python"), "-c", "import platform; print(platform.python_version())"],
                capture_output=True,
                text=True,
            ).stdout.strip()
            port = free_port()
            proc, argv = mlflow_start(procs, args.mlflow_venv, workdir, port)
            info["mlflow_cmd"] = shlex.join(["mlflow", *argv[1:]]).replace(str(workdir), "$TMP")
            wait_idle(lambda p=proc: [p.pid], "mlflow server")
            servers.append(Server("MLflow", port, {}, lambda p=proc: [p.pid], version=info["mlflow"]))
        if "arbiter" in wanted:
            print(f"Arbiter ({args.arbiter_root}):")
            env = arbiter_env(args, workdir)
            token = arbiter_prepare(args, env, workdir)
            port = free_port()
            web, worker, gunicorn, celery = arbiter_start(args, procs, env, workdir, port)
            info["gunicorn_cmd"] = shlex.join(["gunicorn", *gunicorn[1:]]).replace(str(args.arbiter_root), ".")
            info["celery_cmd"] = shlex.join(["celery", *celery[1:]]).replace(str(workdir), "$TMP") if celery else ""
            sha = subprocess.run(
                ["git", "-C", str(args.arbiter_root), "describe", "--always", "--dirty"], capture_output=True, text=True
            )
            info["arbiter"] = args.arbiter_label or (sha.stdout.strip() if sha.returncode == 0 else "?")
            pg_pids = pg_backends(args.database_url)
            info["postgres"] = pg_pids.conn.execute("SHOW server_version").fetchone()[0]
            roots = [p.pid for p in (web, worker) if p is not None]
            wait_idle(lambda r=roots: r, "Arbiter")
            servers.append(Server("Arbiter", port, {"Authorization": f"Bearer {token}"}, lambda r=roots: r, pg_pids))
            status, body = call(servers[-1], get("registered-models/search", max_results=1))
            if status != 200:
                sys.exit(f"Arbiter's MLflow API answered {status}: {body} (is /api/2.0/mlflow/ in this checkout?)")
        print("Workload:")
        workload(plan, servers)
        memory = {s.name: memory_kb(tree(s.roots())) for s in servers}
        pg_memory = memory_kb(pg_pids()) if pg_pids else None
        names = [s.name for s in servers]
        met = targets(plan, memory)
        print()
        print("\n".join(table(plan, names)))
        print()
        for name, (rss, pss) in memory.items():
            print(f"{name}: RSS {rss / 1024:,.0f} MiB, PSS {pss / 1024:,.0f} MiB")
        if pg_memory:
            print(f"PostgreSQL backends serving Arbiter: PSS {pg_memory[1] / 1024:,.0f} MiB")
        for label, value, ok in met:
            print(f"{'MET ' if ok else ('MISS' if ok is False else '    ')} {label}: {value}")
        if write:
            section = markdown(plan, names, memory, pg_memory, info, met, args.note)
            write_docs(ROOT / "docs" / "benchmarks.md", section)
            print(f"\nwrote {ROOT / 'docs' / 'benchmarks.md'}")
        finished = True
    except KeyboardInterrupt:
        STOP.set()
        print("\ninterrupted: stopping the servers", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        procs.stop_all()
        if pg_pids is not None:
            pg_pids.conn.close()
        if finished:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"logs kept in {workdir}", file=sys.stderr)


if __name__ == "__main__":
    main()
