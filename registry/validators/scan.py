"""`scan_file`: one sequential pass for the digest, then format detection and the checks for that format.

The file is read once, front to back, in large chunks into a reused buffer, hashing as it goes; the first
chunk is kept for sniffing. Structure checks then seek to what they need (headers, archive directories,
embedded pickles), so a multi-gigabyte safetensors file costs one read plus a few kilobytes.
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import re

from registry.choices import ArtifactKind

from .archives import check_7z, check_compressed, check_tar, check_zip
from .context import HEAD_BYTES, ScanContext, Source, read_up_to
from .detect import FORMAT_NAMES, Detection, compression_kind, detect
from .documents import check_pdf, check_text
from .filenames import EXTENSION_FORMATS, extension_of
from .gguf import check_gguf
from .hdf5 import check_hdf5
from .numpy_files import check_npy
from .onnx_models import check_onnx
from .pickles import scan_pickle_source
from .results import Limits, ScanResult, verdict_for
from .safetensors import check_safetensors

MODEL_KINDS = {ArtifactKind.WEIGHTS, ArtifactKind.CONFIG, ArtifactKind.TOKENIZER}
# Formats whose checkers seek around; inside a compressed stream they are held in memory first.
RANDOM_ACCESS = {"zip", "7z", "hdf5"}
# Formats that make no sense for a kind: a human should look (the content is checked regardless).
UNEXPECTED = {
    ArtifactKind.WEIGHTS: {"text", "markdown", "pdf"},
    ArtifactKind.CONFIG: {"pdf"},
    ArtifactKind.TOKENIZER: {"pdf"},
    ArtifactKind.DOCUMENTATION: {"pickle", "joblib", "pytorch_zip"},
    ArtifactKind.EVALUATION_REPORT: {"pickle", "joblib", "pytorch_zip"},
}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def scan_file(
    path: str | os.PathLike,
    *,
    filename: str,
    kind: str,
    declared_sha256: str | None = None,
    limits: Limits = Limits(),  # noqa: B008 - Limits is frozen
) -> ScanResult:
    """Hash, identify and check one file. Raises only if the file cannot be read (OSError)."""
    ctx = ScanContext(limits)
    path = os.fspath(path)
    with open(path, "rb", buffering=0) as raw:
        before = os.fstat(raw.fileno())
        digest, size, head = _hash(raw, limits.chunk_size)

    if declared_sha256 is not None:
        _check_declared(declared_sha256, digest, ctx)
    if size == 0:
        ctx.error("file.empty", "The file is empty.")
        fmt = "empty"
    else:
        opener = lambda: open(path, "rb")  # noqa: E731, SIM115 - Source opens and closes its own streams
        source = Source(name=filename, size=size, opener=opener, seekable=True, path=path, head=head)
        ctx.scan_member = lambda member: ctx.guard("format", _scan_source, member, ctx) or "unknown"
        fmt = ctx.guard("format", _scan_source, source, ctx) or "unknown"
        _kind_rules(fmt, kind, ctx)

    try:
        after = os.stat(path)
        changed = (after.st_ino, after.st_size, after.st_mtime_ns) != (
            before.st_ino,
            before.st_size,
            before.st_mtime_ns,
        )
    except OSError:
        changed = True
    if changed:
        ctx.error("file.changed", "The file changed while it was being scanned; scan it again.")
    findings = ctx.final_findings()
    return ScanResult(
        format=fmt,
        verdict=verdict_for(findings),
        findings=findings,
        sha256=digest,
        size=size,
        scanners=dict(ctx.scanners),
    )


def _hash(raw: io.RawIOBase, chunk_size: int) -> tuple[str, int, bytes]:
    digest = hashlib.sha256()
    buffer = bytearray(chunk_size)
    view = memoryview(buffer)
    size = 0
    head = b""
    while True:
        n = raw.readinto(buffer)
        if not n:
            break
        digest.update(view[:n])
        if len(head) < HEAD_BYTES:
            head += bytes(view[: min(n, HEAD_BYTES - len(head))])
        size += n
    return digest.hexdigest(), size, head


def _check_declared(declared: str, digest: str, ctx: ScanContext) -> None:
    value = declared.strip().lower()
    if value.startswith("sha256:"):
        value = value[len("sha256:") :]
    if not _SHA256.match(value):
        ctx.error("checksum.invalid", f"The declared SHA-256 {declared[:80]!r} is not 64 hexadecimal characters.")
    elif value != digest:
        ctx.error(
            "checksum.mismatch",
            f"The file's SHA-256 is {digest}, but {value} was declared: the upload is corrupted or not the file "
            "that was meant.",
        )


def _kind_rules(fmt: str, kind: str, ctx: ScanContext) -> None:
    if fmt == "unknown":
        if kind in MODEL_KINDS:
            ctx.error(
                "format.unknown",
                f"The file's format could not be recognised; a {kind} file must be in a known model, "
                "configuration or tokenizer format.",
            )
        else:
            ctx.warning("format.unknown", "The file's format could not be recognised; a reviewer must look at it.")
    elif fmt in UNEXPECTED.get(kind, ()):
        ctx.warning(
            "format.unexpected_for_kind",
            f"The file is {FORMAT_NAMES.get(fmt, fmt)}, which is unusual for a {kind.replace('_', ' ')} artifact.",
        )


# --- one source: the upload or an archive member -------------------------------------------------------


def _scan_source(source: Source, ctx: ScanContext) -> str:
    extension = extension_of(source.name)
    detection = detect(source, extension=extension)
    fmt = detection.format
    if detection.also:
        others = " and ".join(FORMAT_NAMES.get(f, f) for f in detection.also)
        ctx.error(
            "format.polyglot",
            f"The file is {FORMAT_NAMES.get(fmt, fmt)} and also {others}. Content that parses as two formats is "
            "rejected: it can show one face to a scanner and another to a loader.",
        )
        if "pickle" in detection.also and fmt != "pickle":
            ctx.guard("pickle", scan_pickle_source, source, ctx)
    if fmt in RANDOM_ACCESS and not source.seekable:
        buffered = _buffer(source, ctx)
        if buffered is None:
            return fmt
        source = buffered
    refined = _check(fmt, source, ctx, detection, extension)
    expected = EXTENSION_FORMATS.get(extension)
    if expected and refined not in expected and refined != "empty":
        wanted = " or ".join(sorted(FORMAT_NAMES.get(f, f) for f in expected))
        content = FORMAT_NAMES.get(refined, "in no recognised format")
        ctx.error(
            "format.extension_mismatch",
            f"The name {source.name.rsplit('/', 1)[-1]!r} promises {wanted}, but the content is {content}.",
        )
    return refined


def _check(fmt: str, source: Source, ctx: ScanContext, detection: Detection, extension: str) -> str:
    """Run the checker for a detected format; returns the refined format (the detected one if it crashed)."""
    if fmt in ("empty", "unknown"):  # an empty archive member is fine (__init__.py); an empty upload never gets here
        return fmt
    if fmt == "zip":
        result = ctx.guard("ZIP", check_zip, source, ctx, detection)
    elif fmt == "tar":
        result = ctx.guard("tar", check_tar, source, ctx)
    elif fmt == "7z":
        result = ctx.guard("7z", check_7z, source, ctx)
    elif fmt == "gzip":
        ctx.guard("gzip", check_compressed, source, ctx, "gzip")
        result = "gzip"
    elif fmt == "compressed":
        inner = ctx.guard("compressed stream", check_compressed, source, ctx, compression_kind(source.head) or "zlib")
        result = "joblib" if inner in ("pickle", "joblib") else "unknown"
    elif fmt == "pickle":
        result = ctx.guard("pickle", scan_pickle_source, source, ctx)
    elif fmt == "safetensors":
        result = ctx.guard("safetensors", check_safetensors, source, ctx)
    elif fmt == "npy":
        result = ctx.guard("NumPy", check_npy, source, ctx)
    elif fmt == "gguf":
        result = ctx.guard("GGUF", check_gguf, source, ctx)
    elif fmt == "onnx":
        siblings = ctx.archive_members[-1] if ctx.archive_members else None
        directory = posixpath.dirname(source.name) if siblings is not None else ""
        result = ctx.guard("ONNX", lambda: check_onnx(source, ctx, siblings=siblings, directory=directory))
    elif fmt == "hdf5":
        result = ctx.guard("HDF5", lambda: check_hdf5(source, ctx, superblock=detection.hdf5_offset))
    elif fmt == "pdf":
        result = ctx.guard("PDF", check_pdf, source, ctx)
    elif fmt == "text":
        result = ctx.guard("text", lambda: check_text(source, ctx, extension=extension))
    else:
        result = None
    if isinstance(result, str):
        return result
    return "unknown" if fmt == "compressed" else fmt


def _buffer(source: Source, ctx: ScanContext) -> Source | None:
    """Hold a member of a compressed stream in memory so that a format needing random access can be read."""
    if source.size > ctx.limits.max_buffered_member_bytes:
        ctx.warning(
            "archive.member_not_inspected",
            f"{source.name!r} is too large ({source.size:,} bytes) to inspect inside a compressed stream.",
        )
        return None
    with source.open() as stream:
        data = read_up_to(stream, source.size)
    buffered = Source.from_bytes(source.name, data)
    return buffered
