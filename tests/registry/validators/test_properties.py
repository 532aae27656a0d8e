"""Hostile bytes never crash the scanner, and nothing unrecognised is ever called valid."""

from __future__ import annotations

import os
import pickle
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.validators import scan_file

from . import builders

KINDS = ["weights", "config", "tokenizer", "code", "documentation", "evaluation_report", "other"]
NAMES = ["model.safetensors", "model.pt", "model.pkl", "config.json", "config.yaml", "bundle.zip", "README.md", "x"]
SEEDS = [
    builders.clean_safetensors(),
    builders.clean_torch_zip(),
    builders.joblib_arrays({"a": bytes(24)}),
    builders.npy("<f4", (2,), bytes(8)),
    builders.gguf(),
    builders.tar_of([("a.json", b'{"a": 1}')]),
    pickle.dumps({"a": [1, 2.5, "x"]}, protocol=0),
    pickle.dumps({"a": [1, 2.5, "x"]}, protocol=4),
    b"model:\n  layers: 2\n",
]
RECOGNISED = {
    "pickle", "pytorch_zip", "joblib", "npy", "npz", "safetensors", "onnx", "keras_zip", "hdf5", "gguf", "zip", "tar",
    "7z", "gzip", "json", "yaml", "text", "markdown", "pdf",
}  # fmt: skip


def _scan(data: bytes, kind: str, name: str):
    handle, path = tempfile.mkstemp(prefix="arbiter-fuzz-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        return scan_file(path, filename=name, kind=kind)
    finally:
        os.unlink(path)


def _check(result) -> None:
    assert result.verdict in ("valid", "needs_review", "rejected")
    assert len(result.sha256) == 64
    if result.verdict == "valid":
        assert result.format in RECOGNISED
        assert all(f.severity == "info" for f in result.findings)
    if result.format in ("unknown", "empty"):
        assert result.verdict != "valid"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048), st.sampled_from(KINDS), st.sampled_from(NAMES))
def test_random_bytes(data, kind, name):
    _check(_scan(data, kind, name))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SEEDS),
    st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)), max_size=8),
    st.integers(min_value=0),
    st.sampled_from(NAMES),
)
def test_damaged_real_files(seed, flips, cut, name):
    data = bytearray(seed)
    for position, value in flips:
        data[position % len(data)] = value
    data = bytes(data[: len(data) - cut % 64])
    _check(_scan(data, "weights", name))
