"""Content-addressed storage of artifact files, on any Django storage (local disk or S3 via django-storages).

Layout: an upload first lands at `uploads/<uuid>`; once its SHA-256 is known it lives at
`blobs/sha256/<first two hex digits>/<digest>`. Identical files share one blob. A blob is never written
twice: `promote` keeps an existing blob and drops the new upload.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from django.core.files import File
from django.core.files.storage import FileSystemStorage, storages

from registry.exceptions import Unavailable

CHUNK = 4 * 1024 * 1024


def storage():
    return storages["artifacts"]


def is_local() -> bool:
    return isinstance(storage(), FileSystemStorage)


def blob_key(digest: str) -> str:
    return f"blobs/sha256/{digest[:2]}/{digest}"


def save_upload(fileobj) -> str:
    """Store an uploaded file (a local temporary file) under a fresh `uploads/` key and return the key. Raises
    `Unavailable` (503) when the storage cannot take it (unreachable, full, refusing); nothing is kept then."""
    key = f"uploads/{uuid.uuid4().hex}"
    try:
        saved = storage().save(key, fileobj if isinstance(fileobj, File) else File(fileobj))
    except (OSError, BotoCoreError, ClientError) as exc:
        with contextlib.suppress(OSError, BotoCoreError, ClientError):
            delete(key)
        raise Unavailable(
            "The artifact storage cannot take files right now; the upload was not kept. Try again shortly.",
            code="storage_unavailable",
        ) from exc
    if saved != key:  # storages never rename a fresh uuid, but fail loudly rather than lose track of a file
        storage().delete(saved)
        raise OSError(f"storage stored {key} as {saved}")
    return key


def delete(key: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        storage().delete(key)


def walk(directory: str = "") -> Iterator[str]:
    """Every file key under `directory` of the artifact storage (local disk or S3), depth first."""
    store = storage()
    try:
        directories, files = store.listdir(directory)
    except FileNotFoundError:
        return
    prefix = f"{directory}/" if directory else ""
    for name in sorted(files):
        yield prefix + name
    for name in sorted(directories):
        yield from walk(prefix + name)


def exists(key: str) -> bool:
    return storage().exists(key)


@contextlib.contextmanager
def local_copy(key: str) -> Iterator[Path]:
    """A local path to the stored file: the file itself on disk storage, a temporary download otherwise."""
    if is_local():
        yield Path(storage().path(key))
        return
    handle, name = tempfile.mkstemp(prefix="arbiter-scan-")
    try:
        with os.fdopen(handle, "wb") as out, storage().open(key, "rb") as source:
            shutil.copyfileobj(source, out, CHUNK)
        yield Path(name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


def promote(upload_key: str, digest: str) -> str:
    """Move a validated upload to its content address and return that key. If the blob already exists (the
    same bytes were uploaded before), the upload is dropped and the existing blob kept untouched."""
    target = blob_key(digest)
    if upload_key == target:
        return target
    store = storage()
    if store.exists(target):
        delete(upload_key)
        return target
    if is_local():
        source, destination = Path(store.path(upload_key)), Path(store.path(target))
        destination.parent.mkdir(parents=True, exist_ok=True)
        # os.link fails if the target appeared meanwhile: never overwrite a blob.
        with contextlib.suppress(FileExistsError):
            os.link(source, destination)
        source.unlink(missing_ok=True)
        return target
    # Object storage: a server-side copy (multipart above 5 GB). Two identical uploads racing here may both
    # copy; the bytes are the same by construction, so the blob's content never changes.
    client = store.connection.meta.client
    bucket = store.bucket_name
    source_name, target_name = store._normalize_name(upload_key), store._normalize_name(target)
    client.copy({"Bucket": bucket, "Key": source_name}, bucket, target_name)
    delete(upload_key)
    return target


def open_stream(key: str):
    return storage().open(key, "rb")


def rehash(key: str) -> tuple[str, int]:
    """SHA-256 and size of a stored blob, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with open_stream(key) as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def presigned_url(key: str, *, filename: str) -> str | None:
    """A short-lived download URL on object storage (None on local disk: the app streams it)."""
    if is_local():
        return None
    from django.utils.http import content_disposition_header

    return storage().url(
        key,
        parameters={
            "ResponseContentDisposition": content_disposition_header(True, filename),
            "ResponseContentType": "application/octet-stream",
        },
    )
