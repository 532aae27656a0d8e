"""Fixtures for the validator tests: write bytes to a temporary upload and scan it."""

from __future__ import annotations

import itertools

import pytest

from registry.validators import scan_file

_counter = itertools.count()


@pytest.fixture
def scan(tmp_path):
    """scan(data, filename=..., kind=..., **kwargs) -> ScanResult, for bytes written to a fresh file."""

    def run(data: bytes, filename: str = "artifact", kind: str = "weights", **kwargs):
        path = tmp_path / f"upload-{next(_counter)}"
        path.write_bytes(data)
        return scan_file(path, filename=filename, kind=kind, **kwargs)

    return run


def codes(result) -> set[str]:
    return {f.code for f in result.findings}


def finding(result, code: str):
    """The first finding with this code (fails the test if there is none)."""
    for f in result.findings:
        if f.code == code:
            return f
    raise AssertionError(f"no {code} finding in {[f.as_dict() for f in result.findings]}")
