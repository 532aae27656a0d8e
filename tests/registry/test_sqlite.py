"""`make run` serves from SQLite: the precompiled hot paths (token lookup, alias and model reads, version
registration) must work there too, with the ORM's conversions (SQLite returns datetimes as text)."""

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_pipeline_calls_work_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'arbiter.sqlite3'}", MEDIA_ROOT=str(tmp_path / "media"))
    result = subprocess.run(
        [sys.executable, str(HERE / "sqlite_journey.py")], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {
        "vendor": "sqlite",
        "create": 200,
        "taken": [400, "RESOURCE_ALREADY_EXISTS"],
        "version": "2",
        "alias": ["1", True],
        "get": [[{"alias": "champion", "version": "1"}], ["2"]],
        "v1": 200,
    }
