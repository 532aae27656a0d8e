"""Pick the database for `make test`, print its URL, and say on stderr which one was chosen.

Order: DATABASE_URL if set; else PostgreSQL on 127.0.0.1:5432 if it accepts connections; else SQLite.
Run as `python -m config.test_database`.
"""

import os
import socket
import sys

POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/arbiter"


def _postgres_answers(host: str = "127.0.0.1", port: int = 5432) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def choose() -> tuple[str, str]:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"], "DATABASE_URL from the environment"
    if _postgres_answers():
        return POSTGRES_URL, "PostgreSQL on 127.0.0.1:5432"
    return "sqlite:///var/test.sqlite3", "SQLite (PostgreSQL not reachable: tests that need it will skip)"


if __name__ == "__main__":
    url, why = choose()
    print(f"make test: database = {why}", file=sys.stderr)
    print(url)
