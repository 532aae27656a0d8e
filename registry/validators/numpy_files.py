"""NumPy .npy files (and, through the ZIP check, the .npy members of .npz archives).

The header is a Python dict literal, read with `ast.literal_eval` as NumPy itself does. Arrays of plain dtypes
must hold exactly shape x itemsize bytes. Object arrays are pickles: `np.load` refuses them unless told
`allow_pickle=True`, so they always go to a reviewer, and the pickle is scanned like any other.
"""

from __future__ import annotations

import ast
import struct

from .context import ScanContext, Source, brief, read_up_to
from .pickles import scan_embedded_pickle

MAX_HEADER = 10_000  # NumPy's own default limit (max_header_size)


def check_npy(source: Source, ctx: ScanContext) -> str:
    with source.open() as stream:
        prefix = read_up_to(stream, 10)
        if len(prefix) < 10:
            ctx.error("npy.truncated", "The NumPy file ends inside its header.")
            return "npy"
        major, minor = prefix[6], prefix[7]
        if (major, minor) == (1, 0):
            (length,) = struct.unpack("<H", prefix[8:10])
            start = 10
        elif major in (2, 3) and minor == 0:
            rest = read_up_to(stream, 2)
            if len(rest) < 2:
                ctx.error("npy.truncated", "The NumPy file ends inside its header.")
                return "npy"
            (length,) = struct.unpack("<I", prefix[8:10] + rest)
            start = 12
        else:
            ctx.error("npy.malformed", f"Unknown NumPy file format version {major}.{minor}.")
            return "npy"
        if length > MAX_HEADER:
            ctx.error("npy.malformed", f"The NumPy header is {length:,} bytes; NumPy refuses more than {MAX_HEADER:,}.")
            return "npy"
        raw = read_up_to(stream, length)
    if len(raw) < length:
        ctx.error("npy.truncated", "The NumPy file ends inside its header.")
        return "npy"
    header = _parse_header(raw, major, ctx)
    if header is None:
        return "npy"
    dtype, shape = header
    data_start = start + length
    if dtype.hasobject:
        ctx.warning(
            "npy.object_array",
            "The array holds Python objects stored as a pickle; loading it needs allow_pickle=True, which runs "
            "code. A reviewer must confirm it is expected.",
        )
        end = scan_embedded_pickle(source, ctx, start=data_start, what="the object array's pickle")
        if end < source.size:
            ctx.error("npy.trailing_data", f"{source.size - end:,} bytes follow the end of the array's pickle.")
        return "npy"
    count = 1
    for n in shape:
        count *= n
    expected = count * dtype.itemsize
    actual = source.size - data_start
    if actual < expected:
        ctx.error(
            "npy.truncated",
            f"The array ({dtype}, shape {shape}) needs {expected:,} bytes of data but the file holds {actual:,}.",
        )
    elif actual > expected:
        ctx.error("npy.trailing_data", f"{actual - expected:,} bytes follow the array data.")
    return "npy"


def _parse_header(raw: bytes, major: int, ctx: ScanContext):
    import numpy as np
    from numpy.lib import format as npformat

    ctx.used("numpy")
    try:
        text = raw.decode("utf-8" if major >= 3 else "latin-1")
        header = ast.literal_eval(text)
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError):
        ctx.error("npy.malformed", "The NumPy header is not a valid Python literal.")
        return None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        ctx.error("npy.malformed", "The NumPy header must have exactly the keys descr, fortran_order and shape.")
        return None
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(type(n) is int and n >= 0 for n in shape):
        ctx.error("npy.malformed", "The NumPy header's shape is not a tuple of sizes.")
        return None
    if not isinstance(header["fortran_order"], bool):
        ctx.error("npy.malformed", "The NumPy header's fortran_order is not a boolean.")
        return None
    try:
        dtype = npformat.descr_to_dtype(header["descr"])
    except (TypeError, ValueError) as exc:
        ctx.error("npy.malformed", f"The NumPy header's dtype is invalid ({brief(exc, 120)}).")
        return None
    if not isinstance(dtype, np.dtype):
        ctx.error("npy.malformed", "The NumPy header's dtype is invalid.")
        return None
    return dtype, shape
