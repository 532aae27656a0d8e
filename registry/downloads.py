"""Serving artifact files: as attachments, with their digest in the headers, checked while they stream.

On local storage the file is streamed through the app and hashed on the way; the last chunk is held back
until the digest is confirmed, so a file whose bytes changed on disk is never delivered whole (the client
sees a broken transfer and the artifact is marked corrupted). On S3 the client is redirected to a
short-lived presigned URL.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator

from django.http import HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.utils.http import content_disposition_header

from registry import blobstore, services
from registry.models import Artifact


class IntegrityError(IOError):
    """The stored bytes do not hash to the artifact's digest."""


def _verified_chunks(artifact: Artifact) -> Iterator[bytes]:
    digest = hashlib.sha256()
    held = b""
    with blobstore.open_stream(artifact.storage_key) as stream:
        while chunk := stream.read(blobstore.CHUNK):
            digest.update(chunk)
            if held:
                yield held
            held = chunk
    if digest.hexdigest() != artifact.sha256:
        services.artifact_mark_corrupted(
            artifact=artifact, reason=f"a download read bytes hashing to {digest.hexdigest()}"
        )
        raise IntegrityError(f"artifact {artifact.pk}: stored bytes no longer match {artifact.sha256}")
    if held:
        yield held


def artifact_response(request, artifact: Artifact, *, override: bool = False) -> HttpResponse:
    """Record the download, then answer with the file (or a redirect to it) and its digest headers."""
    services.artifact_download_record(actor=request.user, artifact=artifact, override=override)
    presigned = blobstore.presigned_url(artifact.storage_key, filename=artifact.filename)
    if presigned:
        response: HttpResponse = HttpResponseRedirect(presigned)
    else:
        response = StreamingHttpResponse(_verified_chunks(artifact), content_type="application/octet-stream")
        response["Content-Length"] = str(artifact.size)
    encoded = base64.b64encode(bytes.fromhex(artifact.sha256)).decode()
    response["Content-Disposition"] = content_disposition_header(True, artifact.filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["ETag"] = f'"{artifact.sha256}"'
    response["Digest"] = f"sha-256={encoded}"
    response["Repr-Digest"] = f"sha-256=:{encoded}:"
    response["Cache-Control"] = "private, no-transform"
    return response
