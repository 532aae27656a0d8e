"""Reading a version's files from the store its `source` names, when an administrator allowed that store.

MLflow pipelines register versions by `source` (e.g. `s3://mlflow-artifacts/1/<run>/artifacts/model`) and
upload nothing. A source under one of ARTIFACT_IMPORT_SOURCES is listed and each object under it streamed
to a temporary file (capped at ARTIFACT_MAX_BYTES, counting the bytes actually read), from which
`services.version_import` stores it as an artifact; the validation task then hashes, scans and stores it by
content like any upload. Any other source is an opaque reference: Arbiter never connects to an address a
user chose. Credentials are the standard AWS ones from the environment.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlparse

from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile

from registry import uploads
from registry.exceptions import InvalidInput

CHUNK = 4 * 1024 * 1024
# S3 answers that no retry will change: the import fails with the reason instead.
PERMANENT_S3_ERRORS = {"AccessDenied", "NoSuchBucket", "NoSuchKey", "InvalidBucketName", "403", "404"}


class ImportRefused(Exception):
    """The source's files cannot be imported; the message says why, for the version's status."""


@dataclass(frozen=True)
class SourceObject:
    key: str
    filename: str
    size: int


def allowed_prefix(source: str) -> str | None:
    """The ARTIFACT_IMPORT_SOURCES prefix `source` lies under, or None (an opaque reference)."""
    for prefix in settings.ARTIFACT_IMPORT_SOURCES:
        if source.startswith(prefix) and len(source) > len(prefix):
            return prefix
    return None


def is_importable(source: str) -> bool:
    return bool(source) and allowed_prefix(source) is not None


def _client():
    import boto3

    return boto3.client(
        "s3", endpoint_url=settings.ARTIFACT_IMPORT_ENDPOINT_URL or None, region_name=settings.AWS_S3_REGION_NAME
    )


def _refuse_or_retry(exc: ClientError, what: str) -> None:
    """A permanent S3 answer fails the import with its reason; anything else propagates (the task retries)."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    if code in PERMANENT_S3_ERRORS:
        raise ImportRefused(f"{what}: {code} {error.get('Message', '')}".strip()) from exc
    raise exc


def _filename(relative: str) -> str:
    """A relative key under the source as the artifact's name: each path segment checked like an upload's
    filename (no control characters, no dot segments); nested files keep their `dir/file` path."""
    try:
        name = "/".join(uploads.sanitize_filename(part) for part in relative.split("/"))
    except InvalidInput as exc:
        raise ImportRefused(f"Cannot import {relative!r}: {exc.message}") from exc
    if len(name) > 255:
        raise ImportRefused(f"Cannot import {relative[:60]!r}…: the path is longer than 255 characters.")
    return name


def list_source(source: str) -> list[SourceObject]:
    """Every object under the source's prefix (the source names a directory, as MLflow's do)."""
    parsed = urlparse(source)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ImportRefused(f"Only s3:// sources can be imported, not {source!r}.")
    bucket, prefix = parsed.netloc, parsed.path.lstrip("/").rstrip("/") + "/"
    found = []
    try:
        for page in _client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                if item["Key"].endswith("/"):
                    continue  # a "directory" placeholder
                found.append(SourceObject(item["Key"], _filename(item["Key"][len(prefix) :]), int(item["Size"])))
    except ClientError as exc:
        _refuse_or_retry(exc, f"Listing {source} failed")
    if not found:
        raise ImportRefused(f"There are no files under {source}.")
    for obj in found:
        if obj.size > settings.ARTIFACT_MAX_BYTES:
            raise ImportRefused(
                f"{obj.filename} is {obj.size:,} bytes, over the maximum artifact size of "
                f"{settings.ARTIFACT_MAX_BYTES:,} bytes (ARTIFACT_MAX_BYTES)."
            )
    return found


@contextlib.contextmanager
def download(source: str, obj: SourceObject) -> Iterator[TemporaryUploadedFile]:
    """The object's bytes in a temporary file (deleted on exit), read in chunks and refused the moment they
    exceed ARTIFACT_MAX_BYTES, whatever the listing said."""
    bucket = urlparse(source).netloc
    target = TemporaryUploadedFile(obj.filename.rsplit("/", 1)[-1], "application/octet-stream", obj.size, None)
    try:
        try:
            body = _client().get_object(Bucket=bucket, Key=obj.key)["Body"]
        except ClientError as exc:
            _refuse_or_retry(exc, f"Reading {obj.filename} failed")
        received = 0
        while chunk := body.read(CHUNK):
            received += len(chunk)
            if received > settings.ARTIFACT_MAX_BYTES:
                raise ImportRefused(
                    f"{obj.filename} exceeds the maximum artifact size of {settings.ARTIFACT_MAX_BYTES:,} bytes "
                    "(ARTIFACT_MAX_BYTES)."
                )
            target.write(chunk)
        target.flush()
        target.seek(0)
        target.size = received
        yield target
    finally:
        target.close()
