"""scan_file as a whole: digests, checksums, empty and truncated files, fail-closed behaviour, file names."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from registry.validators import SCANNER_VERSION, Finding, Limits, ScanResult, scan_file
from registry.validators import scan as scan_module
from registry.validators.results import FINDING_CODES

from . import builders
from .conftest import codes, finding


def test_digest_equals_sha256sum(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(builders.clean_safetensors() * 1 + b"")
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum is not installed")
    expected = subprocess.run(["sha256sum", str(path)], check=True, capture_output=True, text=True).stdout.split()[0]
    result = scan_file(path, filename="model.safetensors", kind="weights")
    assert result.sha256 == expected
    assert result.size == path.stat().st_size


def test_digest_over_many_chunks(tmp_path):
    data = bytes(range(256)) * 50_000  # 12.8 MB, several chunks of 1 MiB
    path = tmp_path / "blob"
    path.write_bytes(data)
    result = scan_file(path, filename="blob", kind="other", limits=Limits(chunk_size=1024 * 1024))
    assert result.sha256 == hashlib.sha256(data).hexdigest()


def test_declared_checksum(scan):
    content = builders.clean_safetensors()
    digest = hashlib.sha256(content).hexdigest()
    assert scan(content, filename="m.safetensors", declared_sha256=digest).verdict == "valid"
    assert scan(content, filename="m.safetensors", declared_sha256=f"sha256:{digest.upper()}").verdict == "valid"
    result = scan(content, filename="m.safetensors", declared_sha256="0" * 64)
    assert result.verdict == "rejected"
    message = finding(result, "checksum.mismatch").message
    assert digest in message and "0" * 64 in message
    assert "checksum.invalid" in codes(scan(content, filename="m.safetensors", declared_sha256="not-a-digest"))


def test_empty_file(scan):
    result = scan(b"", filename="model.safetensors")
    assert (result.format, result.verdict) == ("empty", "rejected")
    assert finding(result, "file.empty").message == "The file is empty."
    assert result.sha256 == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize(
    ("filename", "content", "code"),
    [
        ("model.safetensors", builders.clean_safetensors()[:-5], "safetensors.truncated"),
        ("model.pkl", builders.os_system_pickle(2)[:-3], "pickle.truncated"),
        ("bundle.zip", builders.zip_of({"a": b"x" * 100})[:60], "archive.truncated"),
        ("arr.npy", builders.npy("<f8", (4,), bytes(32))[:-8], "npy.truncated"),
        ("m.gguf", builders.gguf()[:-40], "gguf.truncated"),
    ],
)
def test_truncated_files_are_rejected_with_a_specific_finding(scan, filename, content, code):
    result = scan(content, filename=filename, kind="other")
    assert result.verdict == "rejected"
    assert code in codes(result), [f.as_dict() for f in result.findings]


def test_a_crashing_checker_fails_closed(scan, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(scan_module, "check_safetensors", explode)
    result = scan(builders.clean_safetensors(), filename="m.safetensors")
    assert result.verdict == "rejected"
    assert "boom" in finding(result, "scan.checker_failed").message


def test_a_third_party_scanner_failure_needs_review(scan, monkeypatch):
    import fickling.fickle

    def explode(*args, **kwargs):
        raise RuntimeError("fickling broke")

    monkeypatch.setattr(fickling.fickle.Pickled, "load", explode)
    result = scan(builders.clean_torch_zip(), filename="m.pt")
    assert result.verdict == "needs_review"
    assert "pickle.scanner_failed" in codes(result)


def test_unreadable_path_raises(tmp_path):
    with pytest.raises(OSError):
        scan_file(tmp_path / "missing", filename="x", kind="weights")


def test_result_shape():
    finding_ = Finding("error", "file.empty", "The file is empty.")
    assert finding_.as_dict() == {"severity": "error", "code": "file.empty", "message": "The file is empty."}
    result = ScanResult("empty", "rejected", (finding_,), "00", 0, {"arbiter": SCANNER_VERSION})
    assert result.as_dict()["findings"] == [finding_.as_dict()]
    assert Limits().max_safetensors_header == 100_000_000


def test_findings_are_capped_but_the_verdict_is_not(scan):
    names = {f"../evil{i}.txt": b"x" for i in range(400)}
    result = scan(builders.zip_of(names), filename="x.zip", kind="other")
    assert result.verdict == "rejected"
    assert len(result.findings) <= 201
    assert result.findings[-1].code == "scan.findings_truncated"


def test_every_finding_code_is_catalogued():
    source = "".join(p.read_text() for p in Path(scan_module.__file__).parent.glob("*.py"))
    used = set(re.findall(r'\.(?:error|warning|info|add)\(\s*"([a-z0-9_]+\.[a-z0-9_]+)"', source))
    used |= set(re.findall(r'\("(archive\.[a-z_]+)", f?"', source))  # archive name problems
    used |= {"scan.findings_truncated", "format.unknown"}
    assert used <= set(FINDING_CODES), used - set(FINDING_CODES)
    built_at_run_time = {"archive.truncated", "archive.malformed", "pickle.truncated", "pickle.malformed"}
    assert set(FINDING_CODES) - used <= built_at_run_time, set(FINDING_CODES) - used
