"""The production recipe (deploy/): what can be checked without a container runtime. The compose file parses,
every Arbiter service runs a real entry point of this project, and the settings line up: every variable in
.env.example is read by the project and every setting in README's configuration table is in .env.example."""

from __future__ import annotations

import importlib
import re
import shlex
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands
from django.urls import resolve

from config.celery import app

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
# Read by the project, but not in config/settings.py: the demo seeding command reads its password itself.
READ_ELSEWHERE = {"DEMO_PASSWORD": ROOT / "governance/management/commands/seed_demo.py"}


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def arbiter_services() -> dict[str, dict]:
    return {name: spec for name, spec in compose()["services"].items() if spec.get("image") == "arbiter:latest"}


def env_example() -> dict[str, bool]:
    """Variable -> set (True) or shown commented with its default (False)."""
    found = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        match = re.fullmatch(r"(# )?([A-Z][A-Z0-9_]*)=.*", line)
        if match:
            found[match.group(2)] = match.group(1) is None
    return found


def readme_settings() -> set[str]:
    """The variables of README's configuration table, with `A` / `_B` shorthands expanded."""
    text = (ROOT / "README.md").read_text()
    table = text[text.index("## Configuration") :]
    table = table[: table.index("\n## ", 3)]
    names = set()
    for row in table.splitlines():
        if not row.startswith("| `"):
            continue
        first, *rest = re.findall(r"`([A-Z_][A-Z0-9_]*)`", row.split("|")[1])
        names.add(first)
        names.update(first.rsplit("_", 1)[0] + name if name.startswith("_") else name for name in rest)
    return names


def settings_reads() -> set[str]:
    source = (ROOT / "config/settings.py").read_text()
    return set(re.findall(r"""env(?:\.[a-z_]+)?\(\s*["']([A-Z][A-Z0-9_]*)["']""", source))


def test_compose_has_every_part_with_health_checks_and_a_one_shot_migration():
    services = compose()["services"]
    assert {"web", "worker", "worker-default", "beat", "migrate", "postgres", "redis", "s3"} <= set(services)
    for name in ("web", "worker", "worker-default", "beat", "postgres", "redis", "s3"):
        assert "healthcheck" in services[name], name
    for name in ("web", "worker", "worker-default", "beat"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["migrate"]["restart"] == "no"


def _check_entry_point(argv: list[str]) -> None:
    program, *args = argv
    if program == "python" and args[0] == "manage.py":
        assert args[1] in get_commands(), f"no management command {args[1]}"
        if args[1] == "health_check":
            resolve(f"/{args[2].replace('-', '/')}")  # the endpoint's URL name is a real route
    elif program == "python" and args[0] == "-c":
        compile(args[1], "<healthcheck>", "exec")
        for path in re.findall(r"http://127\.0\.0\.1:8000(/[\w/]+)", args[1]):
            resolve(path)
    elif program == "gunicorn":
        module, _, attribute = args[0].partition(":")
        assert callable(getattr(importlib.import_module(module), attribute or "application"))
        config = args[args.index("--config") + 1]
        importlib.import_module(config.removeprefix("python:"))
    elif program == "celery":
        assert args[:2] == ["-A", "config"] and args[2] in ("worker", "beat")
        if args[2] == "worker":
            queue = args[args.index("-Q") + 1]
            assert queue in (settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_VALIDATION_QUEUE), queue
    else:
        raise AssertionError(f"unknown entry point {argv}")


@pytest.mark.parametrize("service", sorted(arbiter_services()))
def test_every_service_runs_a_real_entry_point_of_the_project(service):
    spec = arbiter_services()[service]
    _check_entry_point(spec["command"])
    health = spec.get("healthcheck", {}).get("test")
    if health:
        assert health[0] == "CMD"
        _check_entry_point(health[1:])


def test_the_worker_pools_consume_both_queues():
    services = arbiter_services()
    queues = {spec["command"][spec["command"].index("-Q") + 1] for spec in services.values() if "-Q" in spec["command"]}
    assert queues == {settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_VALIDATION_QUEUE}
    assert app.conf.beat_schedule, "beat has something to schedule"


def test_the_dockerfile_runs_as_a_non_root_user_and_collects_static_files():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM python:3.11-slim-bookworm" in dockerfile
    assert re.search(r"^USER arbiter$", dockerfile, re.M)
    assert "collectstatic --noinput" in dockerfile and "libpango-1.0-0" in dockerfile
    command = re.search(r"^CMD (.+)$", dockerfile, re.M).group(1)
    _check_entry_point(yaml.safe_load(command))


def test_every_variable_in_env_example_is_read_by_the_project():
    reads = settings_reads()
    unread = []
    for name in env_example():
        if name in reads:
            continue
        elsewhere = READ_ELSEWHERE.get(name)
        if elsewhere is None or name not in elsewhere.read_text():
            unread.append(name)
    assert unread == []


def test_every_setting_in_the_readme_table_is_in_env_example():
    assert readme_settings() - set(env_example()) == set()
    assert len(readme_settings()) > 40


def test_the_makefile_targets_start_the_same_processes():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("serve", "worker", "worker-default", "beat"):
        recipe = re.search(rf"^{target}: .*\n\t(.+(?:\\\n.+)*)", makefile, re.M).group(1)
        argv = shlex.split(recipe.replace("$(VENV)/bin/", "").replace("\\\n", " "))
        argv = [a for a in argv if "=" not in a or a.startswith("-")]
        argv = [re.sub(r"\$\{(\w+):-(\w+)\}", r"\2", a.replace("$$", "$")) for a in argv]
        _check_entry_point(argv)
