"""Where assessment evidence files live: the "artifacts" storage, under `assessment-evidence/`, content-addressed.

A file is hashed (SHA-256) as it is read, refused past `ASSESSMENT_EVIDENCE_MAX_BYTES`, and stored under a
name made of its digest only, so the name a client sends can never choose or traverse a path. Two uploads
of the same bytes share one blob. The client's file name survives only as a sanitised display name.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import storages
from django.utils.text import get_valid_filename

from registry.exceptions import InvalidInput, PayloadTooLarge

EVIDENCE_PREFIX = "assessment-evidence"
STORAGE_ALIAS = "artifacts"


@dataclass(frozen=True)
class StoredFile:
    storage_name: str
    sha256: str
    size: int
    filename: str


def storage():
    return storages[STORAGE_ALIAS]


def display_filename(client_name: str | None) -> str:
    """A safe name to show and to offer on download; never used to build a storage path."""
    base = os.path.basename((client_name or "").replace("\\", "/")).strip()
    try:
        name = get_valid_filename(base)
    except SuspiciousFileOperation:
        name = ""
    return name[-200:] or "evidence"


def store_file(uploaded) -> StoredFile:
    """Hash and store an uploaded file (a Django File); return where it went and its digest."""
    limit = settings.ASSESSMENT_EVIDENCE_MAX_BYTES
    digest, size = hashlib.sha256(), 0
    for chunk in uploaded.chunks():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(
                f"Evidence files are limited to {limit // (1024 * 1024)} MB.", fields={"file": ["Too large."]}
            )
        digest.update(chunk)
    if size == 0:
        raise InvalidInput("The file is empty.", fields={"file": ["Empty file."]})
    sha256 = digest.hexdigest()
    name = f"{EVIDENCE_PREFIX}/{sha256[:2]}/{sha256}"
    target = storage()
    if not target.exists(name):
        uploaded.seek(0)
        name = target.save(name, uploaded)
    return StoredFile(name, sha256, size, display_filename(getattr(uploaded, "name", "")))


def open_file(storage_name: str):
    return storage().open(storage_name, "rb")
