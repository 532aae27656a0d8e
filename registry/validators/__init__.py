"""Artifact format detection and safety scanning (interim: hashing and checksum checks only; the full
scanner lands with the validators work)."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

SCANNER_VERSION = "0"


@dataclass(frozen=True)
class Finding:
    severity: str
    code: str
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ScanResult:
    format: str
    verdict: str
    findings: tuple[Finding, ...]
    sha256: str
    size: int
    scanners: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Limits:
    chunk_bytes: int = 8 * 1024 * 1024


def scan_file(path, *, filename: str, kind: str, declared_sha256: str | None = None, limits: Limits = Limits()):
    digest, size = hashlib.sha256(), 0
    buffer = bytearray(limits.chunk_bytes)
    view = memoryview(buffer)
    with Path(path).open("rb", buffering=0) as handle:
        while read := handle.readinto(buffer):
            digest.update(view[:read])
            size += read
    sha = digest.hexdigest()
    findings = []
    if size == 0:
        findings.append(Finding("error", "file.empty", "The file is empty."))
    if declared_sha256 and declared_sha256 != sha:
        findings.append(
            Finding("error", "checksum.mismatch", f"Declared SHA-256 {declared_sha256} but the file is {sha}.")
        )
    verdict = "rejected" if any(f.severity == "error" for f in findings) else "valid"
    return ScanResult("unknown", verdict, tuple(findings), sha, size, {"arbiter": SCANNER_VERSION})
