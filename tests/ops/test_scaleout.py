"""The scale-out run, short: bench/scaleout.py with two web instances, two workers and beat under load for a few
seconds, a worker killed mid-validation and a web instance mid-upload, and all its checks passing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import missing_service

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_two_web_instances_and_two_workers_survive_losing_one_of_each(postgres):
    if shutil.which("redis-server") is None:
        missing_service("needs the redis-server binary")
    result = subprocess.run(
        [sys.executable, "bench/scaleout.py", "--seconds", "12", "--clients", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "checks: all passed" in result.stdout
    assert "- worker recovery: " in result.stdout and "- web recovery: " in result.stdout
