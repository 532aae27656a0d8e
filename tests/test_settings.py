"""Settings come from the environment; production mode refuses unsafe configurations."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "arbiter.example.org",
    "DATABASE_URL": "sqlite:////tmp/arbiter-deploy-check.sqlite3",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    inherited_out = ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE")
    base = {k: v for k, v in os.environ.items() if k not in inherited_out}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_mode_refuses_to_start_without_secret_key():
    result = manage("check", env={**PRODUCTION_ENV, "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "set SECRET_KEY" in result.stderr


def test_production_mode_refuses_to_start_without_allowed_hosts():
    result = manage("check", env={**PRODUCTION_ENV, "ALLOWED_HOSTS": ""})
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_deploy_check_passes_clean_with_production_environment():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_check_refuses_a_per_process_cache():
    """Without CACHE_URL or REDIS_URL every worker keeps its own throttle counters."""
    result = manage("check", "--deploy", env={**PRODUCTION_ENV, "REDIS_URL": "", "CACHE_URL": ""})
    assert result.returncode != 0
    assert "arbiter.E010" in result.stderr
    assert "throttle counters would be kept per process" in result.stderr


def test_deploy_check_accepts_a_shared_cache_without_a_broker():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={**PRODUCTION_ENV, "REDIS_URL": "", "CACHE_URL": "redis://127.0.0.1:6379/1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
