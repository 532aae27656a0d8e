"""ONNX models: must parse, must pass `onnx.checker.check_model(..., full_check=True)`, and must not read files
from outside themselves.

External data (weights kept in a side file) is named by a path inside the model. A single uploaded file has
no side files, so any reference is a finding; inside an archive the path must name a regular member next to
the model. Absolute paths, `..` and backslashes reject the file before the checker ever sees it, so the
checker never touches the worker's file system. Operators from non-standard domains need custom runtimes
(code that is not in the artifact), so they go to a reviewer.
"""

from __future__ import annotations

import posixpath
import re

from .context import ScanContext, Source, brief, read_up_to

STANDARD_DOMAINS = {"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training"}
MAX_REPORTED = 5
_DRIVE = re.compile(r"^[A-Za-z]:")


def check_onnx(source: Source, ctx: ScanContext, *, siblings: set[str] | None = None, directory: str = "") -> str:
    """`siblings` are the archive's member names when the model is inside an archive, else None."""
    import onnx

    ctx.used("onnx")
    if source.size > ctx.limits.max_onnx_bytes:
        ctx.error(
            "onnx.too_large",
            f"The ONNX file is {source.size:,} bytes; a single-file ONNX model cannot exceed "
            f"{ctx.limits.max_onnx_bytes:,} bytes.",
        )
        return "onnx"
    with source.open() as stream:
        raw = read_up_to(stream, source.size)
    try:
        model = onnx.load_model_from_string(raw)
    except Exception as exc:  # noqa: BLE001 - protobuf raises its own DecodeError and friends
        ctx.error("onnx.parse_error", f"The file is not a valid ONNX model ({type(exc).__name__}: {brief(exc, 200)}).")
        return "onnx"
    del raw

    references = _external_references(model)
    blocked = False
    for tensor, location in references[:MAX_REPORTED]:
        problem = _location_problem(location)
        if problem:
            blocked = True
            ctx.error(
                "onnx.external_data_path",
                f"Tensor {tensor!r} reads its data from {location!r}, which {problem}.",
            )
        elif siblings is None:
            blocked = True
            ctx.error(
                "onnx.external_data",
                f"Tensor {tensor!r} keeps its data in the external file {location!r}; a single uploaded ONNX file "
                "must embed its weights.",
            )
        elif posixpath.normpath(posixpath.join(directory, location)) not in siblings:
            blocked = True
            ctx.error(
                "onnx.external_data",
                f"Tensor {tensor!r} keeps its data in {location!r}, which is not a file in the same archive.",
            )

    domains = _custom_domains(model)
    if domains:
        ctx.warning(
            "onnx.custom_domain",
            f"The model uses operators from non-standard domains ({', '.join(sorted(domains)[:MAX_REPORTED])}), which "
            "need a custom runtime; a reviewer must confirm it is trusted.",
        )

    if blocked:
        ctx.info("onnx.checker_skipped", "The ONNX checker was not run: the model refers to files it must not read.")
        return "onnx"
    try:
        if source.path is not None and not references:
            onnx.checker.check_model(source.path, full_check=True)
        else:
            onnx.checker.check_model(model, full_check=True)
    except Exception as exc:  # noqa: BLE001 - ValidationError, InferenceError, and C++ errors surfaced as others
        ctx.error("onnx.checker_failed", f"The ONNX checker rejects the model: {brief(exc, 300)}")
    return "onnx"


def _location_problem(location: str) -> str | None:
    if not location:
        return "is empty"
    if "\x00" in location or any(ord(c) < 32 for c in location):
        return "contains control characters"
    if location.startswith("/") or _DRIVE.match(location) or location.startswith("\\\\"):
        return "is an absolute path outside the model"
    if "\\" in location:
        return "contains backslashes, which some systems read as directory separators"
    if ".." in location.split("/"):
        return "climbs out of the model's directory with '..'"
    return None


def _external_references(model) -> list[tuple[str, str]]:
    from onnx import TensorProto

    found: list[tuple[str, str]] = []
    for tensor in _all_tensors(model):
        if tensor.data_location == TensorProto.EXTERNAL or tensor.external_data:
            location = next((e.value for e in tensor.external_data if e.key == "location"), "")
            found.append((tensor.name, location))
    return found


def _all_tensors(model):
    graphs = [model.graph]
    for function in model.functions:
        graphs.append(function)
    for training in model.training_info:
        graphs.extend([training.initialization, training.algorithm])
    seen = 0
    while graphs:
        graph = graphs.pop()
        seen += 1
        if seen > 100_000:
            return
        if hasattr(graph, "initializer"):
            yield from graph.initializer
            for sparse in graph.sparse_initializer:
                yield sparse.values
                yield sparse.indices
        for node in graph.node:
            for attribute in node.attribute:
                if attribute.HasField("t"):
                    yield attribute.t
                yield from attribute.tensors
                if attribute.HasField("sparse_tensor"):
                    yield attribute.sparse_tensor.values
                    yield attribute.sparse_tensor.indices
                if attribute.HasField("g"):
                    graphs.append(attribute.g)
                graphs.extend(attribute.graphs)


def _custom_domains(model) -> set[str]:
    local = {f.domain for f in model.functions}
    domains = {opset.domain for opset in model.opset_import}
    graphs = [model.graph, *model.functions]
    seen = 0
    while graphs:
        graph = graphs.pop()
        seen += 1
        if seen > 100_000:
            break
        for node in graph.node:
            domains.add(node.domain)
            for attribute in node.attribute:
                if attribute.HasField("g"):
                    graphs.append(attribute.g)
                graphs.extend(attribute.graphs)
    return {d for d in domains if d not in STANDARD_DOMAINS and d not in local}
