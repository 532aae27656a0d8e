"""Receiving artifact bytes from the network without ever holding a whole file in memory.

Two ways in: multipart form uploads (browser and `POST .../artifacts/`), handled by Django's temporary-file
upload handler with a size limit enforced chunk by chunk; and raw `PUT .../artifacts/{filename}` bodies,
copied from the request stream into a temporary file. Either way a failure closes (and so deletes) the
temporary file: nothing partial is left behind.
"""

from __future__ import annotations

import re
import unicodedata

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http import UnreadablePostError

from registry.exceptions import InvalidInput, PayloadTooLarge

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
MAX_FILENAME = 200


def too_large() -> PayloadTooLarge:
    limit = settings.ARTIFACT_MAX_BYTES
    return PayloadTooLarge(
        f"The file exceeds the maximum artifact size of {limit:,} bytes (ARTIFACT_MAX_BYTES).", code="too_large"
    )


class SizeLimitedUploadHandler(TemporaryFileUploadHandler):
    """Writes each uploaded file to a temporary file in ARTIFACT_UPLOAD_CHUNK_BYTES chunks and aborts with
    413 the moment it grows past ARTIFACT_MAX_BYTES, counting the bytes actually received."""

    def __init__(self, request=None):
        super().__init__(request)
        self.chunk_size = settings.ARTIFACT_UPLOAD_CHUNK_BYTES
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > settings.ARTIFACT_MAX_BYTES + 1024 * 1024:
            raise too_large()

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.ARTIFACT_MAX_BYTES:
            self.file.close()  # a NamedTemporaryFile: closing deletes it
            raise too_large()
        return super().receive_data_chunk(raw_data, start)


def receive_raw_body(request, *, filename: str) -> TemporaryUploadedFile:
    """Copy a raw request body (PUT) to a temporary file, in chunks. Content-Length is required and must be
    honoured exactly: a client that disconnects early gets a 400 and leaves nothing behind."""
    header = request.META.get("CONTENT_LENGTH") or ""
    if not header.isdigit():
        raise InvalidInput(
            "Content-Length is required for a streamed upload.", code="length_required", fields={"Content-Length": []}
        )
    expected = int(header)
    if expected > settings.ARTIFACT_MAX_BYTES:
        raise too_large()
    chunk_size = settings.ARTIFACT_UPLOAD_CHUNK_BYTES
    target = TemporaryUploadedFile(filename, "application/octet-stream", expected, None)
    received = 0
    try:
        while received < expected:
            try:
                chunk = request.read(min(chunk_size, expected - received))
            except (OSError, UnreadablePostError):
                chunk = b""
            if not chunk:
                raise InvalidInput(
                    f"The upload ended after {received:,} of {expected:,} bytes; nothing was stored.",
                    code="upload_incomplete",
                )
            target.write(chunk)
            received += len(chunk)
        target.flush()
        target.seek(0)
    except BaseException:
        target.close()
        raise
    target.size = received
    return target


def sanitize_filename(name: str) -> str:
    """A safe display and storage-independent name for a client's filename, or InvalidInput.

    Refuses names with path separators or control characters outright (they mean a confused or hostile
    client), normalises Unicode to NFC and trims whitespace. The name is only ever a label: files are
    stored by content address, never by this name."""
    if not isinstance(name, str):
        raise InvalidInput("A filename is required.", code="invalid_filename", fields={"filename": ["Required."]})
    name = unicodedata.normalize("NFC", name).strip()
    problems = []
    if not name:
        problems.append("is empty")
    if "/" in name or "\\" in name:
        problems.append("contains a path separator")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        problems.append("contains control characters")
    if name in (".", "..") or name.startswith("."):
        problems.append("starts with a dot")
    if re.match(r"^[A-Za-z]:", name):
        problems.append("looks like a drive path")
    if len(name) > MAX_FILENAME:
        problems.append(f"is longer than {MAX_FILENAME} characters")
    if problems:
        message = f"The filename {name[:60]!r} " + " and ".join(problems) + "."
        raise InvalidInput(message, code="invalid_filename", fields={"filename": [message]})
    return name


def validate_declared_sha256(value: str | None) -> str:
    if not value:
        return ""
    value = value.strip().lower()
    if not SHA256_HEX.match(value):
        raise InvalidInput(
            "The declared checksum must be 64 hexadecimal characters (SHA-256).",
            code="invalid_checksum",
            fields={"sha256": ["Not a SHA-256 hex digest."]},
        )
    return value
