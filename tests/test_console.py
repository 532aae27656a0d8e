"""What `make run` prints: what a person needs, nothing twice, no tracebacks for refused requests (issue 14.10)."""

import logging
import subprocess
import sys
import warnings
from pathlib import Path

from django.test import Client
from setuptools.config.pyprojecttoml import apply_configuration
from setuptools.dist import Distribution

from tests.factories import make_user

ROOT = Path(__file__).resolve().parent.parent


def test_pyproject_license_is_an_spdx_expression_setuptools_accepts_silently():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dist = apply_configuration(Distribution(), ROOT / "pyproject.toml")
    assert dist.metadata.license_expression == "LicenseRef-Proprietary"
    assert [str(w.message) for w in caught if "license" in str(w.message).lower()] == []


def test_a_refused_request_logs_one_warning_without_a_traceback(db, caplog):
    client = Client()
    client.force_login(make_user("visitor"))
    with caplog.at_level(logging.INFO):
        response = client.post("/teams/", {"name": "Gamma"})  # only administrators create teams
    assert response.status_code == 403
    records = [r for r in caplog.records if r.name == "django.request"]
    assert [(r.levelname, r.getMessage()) for r in records] == [("WARNING", "Forbidden (Permission denied): /teams/")]
    assert records[0].exc_info is None and "Traceback" not in caplog.text


def test_server_errors_keep_their_traceback():
    from config.logfilters import ClientErrorsWithoutTraceback

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord(
            "django.request", logging.ERROR, __file__, 1, "Internal Server Error", (), sys.exc_info()
        )
    record.status_code = 500
    assert ClientErrorsWithoutTraceback().filter(record) and record.exc_info is not None


def _log_once_in_debug_mode() -> str:
    code = (
        "import logging; logging.getLogger('django.utils.autoreload').info('Watching for file changes'); "
        "logging.getLogger('django.server').info('\"GET / HTTP/1.1\" 200 5')"
    )
    env = {"DEBUG": "1", "PATH": "/usr/bin:/bin", "DATABASE_URL": "sqlite:////tmp/arbiter-console-test.sqlite3"}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_a_django_log_line_is_printed_once_even_with_debug_on():
    """With DEBUG=1, Django's own console handler used to print every `django.*` line a second time (the
    runserver reloader's banner, every refused request)."""
    output = _log_once_in_debug_mode()
    assert output.count("Watching for file changes") == 1
    assert output.count('"GET / HTTP/1.1" 200 5') == 1 and '] "GET / HTTP/1.1" 200 5' in output, "runserver's format"
