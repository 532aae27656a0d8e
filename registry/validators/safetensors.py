"""safetensors: an 8-byte header length, a JSON header describing each tensor, then the raw tensor bytes.

Only the header is read. The rules are the ones the safetensors library enforces when loading, plus the ones
that leave no room to hide anything: tensors tile the data area exactly, with no holes, overlaps or trailing
bytes.
"""

from __future__ import annotations

import json
import struct

from .context import ScanContext, Source, read_up_to

# Bits per element of each dtype the safetensors format defines.
DTYPE_BITS = {
    "BOOL": 8,
    "U8": 8,
    "I8": 8,
    "F8_E5M2": 8,
    "F8_E4M3": 8,
    "F8_E8M0": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "I64": 64,
    "U64": 64,
    "F64": 64,
    "C64": 64,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
}
MAX_REPORTED = 5
_UINT64 = 2**64


class _DuplicateKey(ValueError):
    pass


def _reject_duplicates(pairs: list[tuple[str, object]]) -> dict:
    seen: dict[str, object] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def check_safetensors(source: Source, ctx: ScanContext) -> str:
    size = source.size
    if size < 8:
        ctx.error("safetensors.truncated", f"The file is {size} bytes long, too short to hold a safetensors header.")
        return "safetensors"
    with source.open() as stream:
        (length,) = struct.unpack("<Q", read_up_to(stream, 8))
        if length > ctx.limits.max_safetensors_header:
            ctx.error(
                "safetensors.header_too_large",
                f"The safetensors header claims {length:,} bytes; the limit is "
                f"{ctx.limits.max_safetensors_header:,} bytes.",
            )
            return "safetensors"
        if length > size - 8:
            ctx.error(
                "safetensors.header_beyond_file",
                f"The safetensors header claims {length:,} bytes but only {size - 8:,} bytes follow; the file is "
                "truncated or its header is forged.",
            )
            return "safetensors"
        raw = read_up_to(stream, length)
    _check_header(raw, length, size, ctx)
    return "safetensors"


def _check_header(raw: bytes, length: int, size: int, ctx: ScanContext) -> None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        ctx.error("safetensors.header_not_utf8", f"The safetensors header is not valid UTF-8 (at byte {exc.start}).")
        return
    try:
        header = json.loads(text, object_pairs_hook=_reject_duplicates)
    except _DuplicateKey as exc:
        ctx.error("safetensors.duplicate_key", f"The safetensors header lists the key {str(exc)!r} twice.")
        return
    except (ValueError, RecursionError) as exc:
        ctx.error("safetensors.header_not_json", f"The safetensors header is not valid JSON ({exc}).")
        return
    if not isinstance(header, dict):
        ctx.error("safetensors.header_not_object", "The safetensors header is not a JSON object.")
        return

    metadata = header.pop("__metadata__", None)
    if metadata is not None and (
        not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values())
    ):
        ctx.error(
            "safetensors.metadata_not_string",
            "The safetensors __metadata__ must map names to strings; it holds other values.",
        )

    spans: list[tuple[int, int, str]] = []
    problems = 0
    for name, info in header.items():
        span = _check_tensor(name, info, ctx)
        if span is None:
            problems += 1
            if problems >= MAX_REPORTED:
                ctx.error("safetensors.invalid_tensor", "Further tensors were not checked.")
                return
        else:
            spans.append(span)
    if problems:
        return

    data_size = size - 8 - length
    spans.sort()
    position = 0
    for begin, end, name in spans:
        if begin < position:
            ctx.error(
                "safetensors.overlapping_tensors",
                f"Tensor {name!r} starts at byte {begin:,} of the data, inside the previous tensor (which ends at "
                f"{position:,}); tensors must not overlap.",
            )
            return
        if begin > position:
            ctx.error(
                "safetensors.hole",
                f"There are {begin - position:,} unaccounted bytes before tensor {name!r} (data bytes {position:,} to "
                f"{begin:,}); tensors must be contiguous.",
            )
            return
        position = end
    if position > data_size:
        ctx.error(
            "safetensors.truncated",
            f"The header describes {position:,} bytes of tensor data but the file holds only {data_size:,}; the "
            "file is truncated.",
        )
    elif position < data_size:
        ctx.error(
            "safetensors.trailing_bytes",
            f"{data_size - position:,} bytes follow the last tensor; a safetensors file must end exactly where "
            "its last tensor ends.",
        )


def _check_tensor(name: str, info: object, ctx: ScanContext) -> tuple[int, int, str] | None:
    if not isinstance(info, dict):
        ctx.error("safetensors.invalid_tensor", f"Tensor {name!r} is not described by a JSON object.")
        return None
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if dtype not in DTYPE_BITS:
        ctx.error("safetensors.unknown_dtype", f"Tensor {name!r} has the unknown dtype {str(dtype)[:40]!r}.")
        return None
    if not isinstance(shape, list) or not all(_is_uint(n) for n in shape):
        ctx.error("safetensors.invalid_tensor", f"Tensor {name!r} has an invalid shape (a list of sizes is expected).")
        return None
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_uint(n) for n in offsets)):
        ctx.error("safetensors.invalid_tensor", f"Tensor {name!r} has invalid data_offsets ([begin, end] expected).")
        return None
    begin, end = offsets
    if begin > end:
        ctx.error("safetensors.invalid_tensor", f"Tensor {name!r} ends (byte {end:,}) before it begins ({begin:,}).")
        return None
    elements = 1
    for n in shape:
        elements *= n
        if elements >= _UINT64:
            ctx.error(
                "safetensors.shape_overflow",
                f"Tensor {name!r} has shape {shape[:8]}, whose element count overflows a 64-bit integer.",
            )
            return None
    bits = elements * DTYPE_BITS[dtype]
    if bits % 8:
        ctx.error(
            "safetensors.size_mismatch",
            f"Tensor {name!r} ({dtype}, shape {shape}) does not fill a whole number of bytes.",
        )
        return None
    expected = bits // 8
    if expected >= _UINT64:
        ctx.error("safetensors.shape_overflow", f"Tensor {name!r} has a byte size that overflows a 64-bit integer.")
        return None
    if end - begin != expected:
        ctx.error(
            "safetensors.size_mismatch",
            f"Tensor {name!r} ({dtype}, shape {shape}) needs {expected:,} bytes but its data_offsets span "
            f"{end - begin:,}.",
        )
        return None
    return begin, end, name


def _is_uint(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < _UINT64
