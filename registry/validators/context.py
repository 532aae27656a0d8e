"""The state one scan carries around: where it is, what it has found, and how much of its budget is left.

A `Source` is a run of bytes to inspect, either the uploaded file or a member of an archive; checkers open it
as many times as they need, each time from the start, and never hold all of it in memory.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Callable, Iterator
from importlib import metadata
from typing import BinaryIO

from .results import ERROR, INFO, SCANNER_VERSION, WARNING, Finding, Limits

logger = logging.getLogger(__name__)

HEAD_BYTES = 64 * 1024
TAIL_BYTES = 64 * 1024 + 22  # a ZIP end record and the longest comment it may carry
MAX_FINDINGS = 200
_SEVERITY_RANK = {INFO: 0, WARNING: 1, ERROR: 2}

# Library that does the work -> distribution whose version is recorded with each result.
_DISTRIBUTIONS = {
    "picklescan": "picklescan",
    "fickling": "fickling",
    "onnx": "onnx",
    "h5py": "h5py",
    "pyyaml": "PyYAML",
    "py7zr": "py7zr",
    "numpy": "numpy",
}


def library_version(name: str) -> str:
    try:
        return metadata.version(_DISTRIBUTIONS[name])
    except metadata.PackageNotFoundError:
        return "missing"


def brief(text: object, limit: int = 200) -> str:
    """A library's error message on one line, cut to a length that fits a finding."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "\u2026"


def read_up_to(stream: BinaryIO, n: int) -> bytes:
    """Read n bytes, or fewer at the end of the stream, however the stream chunks its reads."""
    parts = []
    while n > 0:
        chunk = stream.read(n)
        if not chunk:
            break
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


class Source:
    """Bytes to inspect: the uploaded file or one archive member.

    `size` is the real number of bytes (counted, never taken from an archive header). `opener` returns a new
    binary stream positioned at the start; `seekable` says whether seeking it is cheap. `path` is set only
    for the uploaded file, for libraries that insist on a file name.
    """

    def __init__(
        self,
        *,
        name: str,
        size: int,
        opener: Callable[[], BinaryIO],
        seekable: bool,
        path: str | None = None,
        head: bytes | None = None,
        tail: bytes | None = None,
    ):
        self.name = name
        self.size = size
        self._opener = opener
        self.seekable = seekable
        self.path = path
        self._head = head
        self._tail = tail

    @classmethod
    def from_bytes(cls, name: str, data: bytes) -> Source:
        return cls(name=name, size=len(data), opener=lambda: io.BytesIO(data), seekable=True)

    def open(self) -> BinaryIO:
        return self._opener()

    @property
    def head(self) -> bytes:
        if self._head is None:
            with self.open() as stream:
                self._head = read_up_to(stream, HEAD_BYTES)
        return self._head

    @property
    def tail(self) -> bytes | None:
        """The last bytes, when they can be had without reading everything (or were kept while counting)."""
        if self._tail is None:
            if self.size <= HEAD_BYTES:
                self._tail = self.head[-TAIL_BYTES:]
            elif self.seekable:
                self._tail = self.read_at(max(0, self.size - TAIL_BYTES), TAIL_BYTES)
        return self._tail

    def read_at(self, offset: int, n: int) -> bytes:
        with self.open() as stream:
            stream.seek(offset)
            return read_up_to(stream, n)


class ScanContext:
    """Findings, the location inside nested archives, and the budgets shared by everything one scan reads."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.findings: list[Finding] = []
        self._seen: set[Finding] = set()
        self._dropped = 0
        self._dropped_severity = INFO
        self.scanners: dict[str, str] = {"arbiter": SCANNER_VERSION}
        self.where: list[str] = []
        self.depth = 0  # archives entered so far
        self.entries = 0  # archive members seen, nested archives included
        self.inflated = 0  # bytes produced by decompression, nested archives included
        self.archive_members: list[set[str]] = []  # member names of the archives being walked, innermost last
        self.pickle_ops = 0
        self.pickle_bytes = 0  # opcode bytes handed to the third-party pickle scanners
        # Set by the scan module: classify and check one source, returning its format.
        self.scan_member: Callable[[Source], str] = lambda source: "unknown"

    # --- findings --------------------------------------------------------------------------------------

    def add(self, severity: str, code: str, message: str) -> None:
        if self.where:
            message = f"In {' > '.join(repr(w) for w in self.where)}: {message}"
        finding = Finding(severity, code, message)
        if finding in self._seen:
            return
        self._seen.add(finding)
        if len(self.findings) >= MAX_FINDINGS:
            self._dropped += 1
            if _SEVERITY_RANK[severity] > _SEVERITY_RANK[self._dropped_severity]:
                self._dropped_severity = severity
            return
        self.findings.append(finding)

    def error(self, code: str, message: str) -> None:
        self.add(ERROR, code, message)

    def warning(self, code: str, message: str) -> None:
        self.add(WARNING, code, message)

    def info(self, code: str, message: str) -> None:
        self.add(INFO, code, message)

    def final_findings(self) -> tuple[Finding, ...]:
        findings = list(self.findings)
        if self._dropped:
            findings.append(
                Finding(
                    self._dropped_severity,
                    "scan.findings_truncated",
                    f"{self._dropped} further findings were not listed.",
                )
            )
        return tuple(findings)

    # --- scanners and location -------------------------------------------------------------------------

    def used(self, library: str) -> None:
        if library not in self.scanners:
            self.scanners[library] = library_version(library)

    @contextlib.contextmanager
    def inside(self, member: str) -> Iterator[None]:
        self.where.append(member)
        try:
            yield
        finally:
            self.where.pop()

    def guard(self, check: str, fn: Callable[..., object], *args: object) -> object:
        """Run one checker; an exception inside it becomes a finding, so a crash can never look like a pass."""
        try:
            return fn(*args)
        except MemoryError:
            self.error("scan.resource_exhausted", f"The {check} check ran out of memory; the file cannot be accepted.")
        except RecursionError:
            self.error("scan.too_deep", f"The {check} check found structures nested too deeply to inspect safely.")
        except Exception as exc:  # noqa: BLE001 - any failure inside a checker must fail closed
            logger.warning("validator %s crashed", check, exc_info=True)
            self.error(
                "scan.checker_failed",
                f"The {check} check could not finish ({type(exc).__name__}: {brief(exc, 200)}); "
                "the file cannot be accepted without manual inspection.",
            )
        return None
