"""What a scan returns: findings, the verdict they add up to, and the limits a scan works within."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Bump when a rule changes (a list, a limit's meaning, a new check): stored results carry it, so artifacts
# scanned under older rules can be found and scanned again.
SCANNER_VERSION = "1"

ERROR = "error"
WARNING = "warning"
INFO = "info"

VALID = "valid"
NEEDS_REVIEW = "needs_review"
REJECTED = "rejected"

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB


@dataclass(frozen=True)
class Finding:
    """One observation about a file: `error` rejects it, `warning` sends it to a human, `info` is a note."""

    severity: str
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"severity": self.severity, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class ScanResult:
    """The outcome of `scan_file`: detected format, verdict, findings, digest and the scanners that ran."""

    format: str
    verdict: str
    findings: tuple[Finding, ...]
    sha256: str
    size: int
    scanners: dict[str, str]

    def as_dict(self) -> dict:
        return {
            "format": self.format,
            "verdict": self.verdict,
            "findings": [f.as_dict() for f in self.findings],
            "sha256": self.sha256,
            "size": self.size,
            "scanners": dict(self.scanners),
        }


@dataclass(frozen=True)
class Limits:
    """Bounds that keep a hostile file from exhausting the worker. Exceeding a bound is a finding, never a crash.

    Archive bounds count bytes actually produced by decompression, never the sizes an archive declares.
    """

    chunk_size: int = 4 * MiB  # read size of the hashing pass
    max_archive_entries: int = 100_000  # per archive, and across nested archives
    max_archive_depth: int = 3  # an archive inside an archive inside an archive is the deepest allowed
    max_entry_bytes: int = 16 * GiB  # uncompressed bytes of one member
    max_total_bytes: int = 64 * GiB  # uncompressed bytes of all members, nested ones included
    max_compression_ratio: float = 200.0  # uncompressed / compressed, per member and per archive
    compression_ratio_min_bytes: int = 1 * MiB  # small members may compress well without being a bomb
    max_safetensors_header: int = 100_000_000  # the limit the safetensors library itself enforces
    max_pickle_bytes: int = 256 * MiB  # opcode bytes handed to picklescan and fickling (large payloads elided)
    max_pickle_ops: int = 20_000_000  # opcodes walked per file before the scan gives up undecided
    max_text_bytes: int = 64 * MiB  # JSON, YAML and PDF content parsed or searched
    max_onnx_bytes: int = 2 * GiB  # protobuf cannot hold more; bigger models need external data
    max_buffered_member_bytes: int = 64 * MiB  # members of streamed archives held in memory to inspect
    max_hdf5_objects: int = 100_000  # groups, datasets and links walked in one HDF5 file


def verdict_for(findings: Iterable[Finding]) -> str:
    """Any error rejects; otherwise any warning needs a human; otherwise the file is valid."""
    severities = {f.severity for f in findings}
    if ERROR in severities:
        return REJECTED
    if WARNING in severities:
        return NEEDS_REVIEW
    return VALID
