"""GGUF (llama.cpp): a header of typed key/value metadata and tensor descriptions, then aligned tensor data.

The header is walked with every length checked against the bytes that remain (the class of bug behind
llama.cpp's GGUF parser advisories), tensor sizes are computed from their quantisation type, and each tensor
must lie inside the file without overlapping another. A chat template is a Jinja program run by some loaders:
it is parsed (never rendered) with Jinja's own parser, and one that reaches Python internals (a dunder attribute
or item, the CVE-2024-34359 sandbox escape class) is rejected; one that merely mentions imports or shell-like
names is sent to a reviewer.
"""

from __future__ import annotations

import re
import struct
from typing import BinaryIO

import jinja2
from jinja2 import nodes
from jinja2.sandbox import (
    UNSAFE_ASYNC_GENERATOR_ATTRIBUTES,
    UNSAFE_COROUTINE_ATTRIBUTES,
    UNSAFE_GENERATOR_ATTRIBUTES,
)

from .context import ScanContext, Source, brief

MAX_TENSORS = 1_000_000
MAX_KV = 1_000_000
MAX_KEY = 65_535
MAX_DIMS = 4  # GGML_MAX_DIMS
MAX_ARRAY_DEPTH = 4
KEEP_TEMPLATE = 1024 * 1024
DEFAULT_ALIGNMENT = 32
# value type -> size of a scalar (8 = string, 9 = array)
SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
# ggml tensor type -> (elements per block, bytes per block), from ggml's type traits
GGML_TYPES = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34), 9: (32, 40),
    10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210), 15: (256, 292),
    16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18), 21: (256, 110), 22: (256, 82),
    23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8), 29: (256, 56), 30: (1, 2),
    34: (256, 54), 35: (256, 66), 39: (32, 17),
}  # fmt: skip
CHAT_TEMPLATE_KEY = "tokenizer.chat_template"  # also tokenizer.chat_template.<name>, the named templates
_SUSPICIOUS_TEMPLATE = re.compile(r"\bimport\b|\bos\.|\bsubprocess\b|\beval\b|\bexec\b|\bopen\s*\(")
_DUNDER = re.compile(r"__\w+__")
# Attributes that lead from a generator, coroutine, frame or traceback to the frames' globals and builtins.
_FRAME_ATTRIBUTES = (
    UNSAFE_GENERATOR_ATTRIBUTES
    | UNSAFE_COROUTINE_ATTRIBUTES
    | UNSAFE_ASYNC_GENERATOR_ATTRIBUTES
    | {"f_globals", "f_builtins", "f_locals", "f_back", "tb_frame"}
)


class _Malformed(Exception):
    pass


class _Reader:
    def __init__(self, stream: BinaryIO, size: int):
        self.stream = stream
        self.size = size
        self.pos = 0

    def read(self, n: int) -> bytes:
        if n > self.size - self.pos:
            raise _Malformed(f"a value at byte {self.pos:,} runs past the end of the file")
        data = self.stream.read(n)
        if len(data) != n:
            raise _Malformed(f"the file ends early at byte {self.pos + len(data):,}")
        self.pos += n
        return data

    def skip(self, n: int) -> None:
        if n > self.size - self.pos:
            raise _Malformed(f"a value at byte {self.pos:,} runs past the end of the file")
        self.stream.seek(n, 1)
        self.pos += n

    def u32(self) -> int:
        return struct.unpack("<I", self.read(4))[0]

    def u64(self) -> int:
        return struct.unpack("<Q", self.read(8))[0]

    def string(self, keep: int = MAX_KEY) -> str | None:
        n = self.u64()
        if n > keep:
            self.skip(n)
            return None
        return self.read(n).decode("utf-8", "replace")


def check_gguf(source: Source, ctx: ScanContext) -> str:
    with source.open() as stream:
        reader = _Reader(stream, source.size)
        try:
            _check(reader, source.size, ctx)
        except _Malformed as exc:
            ctx.error("gguf.malformed", f"The GGUF file is malformed: {exc}.")
    return "gguf"


def _check(r: _Reader, size: int, ctx: ScanContext) -> None:
    r.read(4)  # magic
    version = r.u32()
    if version not in (2, 3):
        ctx.error("gguf.unsupported_version", f"GGUF version {version} is not supported (2 and 3 are).")
        return
    tensor_count, kv_count = r.u64(), r.u64()
    if tensor_count > MAX_TENSORS or kv_count > MAX_KV:
        raise _Malformed(f"it claims {tensor_count:,} tensors and {kv_count:,} metadata entries")

    alignment = DEFAULT_ALIGNMENT
    keys: set[str] = set()
    for _ in range(kv_count):
        key = r.string()
        if key is None:
            raise _Malformed("a metadata key is longer than 65,535 bytes")
        if key in keys:
            ctx.error("gguf.duplicate_key", f"The GGUF metadata key {key!r} appears twice.")
        keys.add(key)
        value_type = r.u32()
        if key == "general.alignment" and value_type == 4:
            alignment = r.u32()
            if alignment == 0 or alignment & (alignment - 1):
                raise _Malformed(f"general.alignment is {alignment}, not a power of two")
        elif (key == CHAT_TEMPLATE_KEY or key.startswith(f"{CHAT_TEMPLATE_KEY}.")) and value_type == 8:
            template = r.string(keep=KEEP_TEMPLATE)
            if template is None:
                ctx.error(
                    "gguf.chat_template_too_large",
                    f"The chat template {key!r} is longer than {KEEP_TEMPLATE:,} bytes and was not inspected; "
                    "templates run as code in some loaders.",
                )
            else:
                check_chat_template(template, key, ctx)
        else:
            _skip_value(r, value_type, 0)

    tensors: list[tuple[int, int | None, str]] = []
    names: set[str] = set()
    unknown_types: set[int] = set()
    for _ in range(tensor_count):
        name = r.string()
        if name is None:
            raise _Malformed("a tensor name is longer than 65,535 bytes")
        if name in names:
            ctx.error("gguf.duplicate_tensor", f"The tensor {name!r} is described twice.")
        names.add(name)
        dims = r.u32()
        if not 1 <= dims <= MAX_DIMS:
            raise _Malformed(f"tensor {name!r} has {dims} dimensions (1 to {MAX_DIMS} allowed)")
        shape = [r.u64() for _ in range(dims)]
        ggml_type, offset = r.u32(), r.u64()
        if offset % alignment:
            ctx.error("gguf.misaligned_tensor", f"Tensor {name!r} starts at {offset:,}, not a multiple of {alignment}.")
        elements = 1
        for n in shape:
            elements *= n
        if elements >= 2**63:
            ctx.error("gguf.shape_overflow", f"Tensor {name!r} has shape {shape}, which overflows a 64-bit count.")
            return
        if ggml_type not in GGML_TYPES:
            unknown_types.add(ggml_type)
            tensors.append((offset, None, name))
            continue
        block, block_bytes = GGML_TYPES[ggml_type]
        if shape[0] % block:
            ctx.error("gguf.invalid_tensor", f"Tensor {name!r}'s first dimension is not a multiple of {block}.")
            return
        tensors.append((offset, elements // block * block_bytes, name))
    if unknown_types:
        ctx.warning(
            "gguf.unknown_tensor_type",
            f"Tensor types {sorted(unknown_types)[:10]} are unknown to this scanner, so their sizes were not checked.",
        )

    data_start = -(-r.pos // alignment) * alignment
    if data_start > size and tensors:
        raise _Malformed("the tensor data section starts past the end of the file")
    position = 0
    for offset, nbytes, name in sorted(tensors, key=lambda t: t[0]):
        if offset < position:
            ctx.error("gguf.overlapping_tensors", f"Tensor {name!r} overlaps the tensor before it.")
            return
        if nbytes is None:
            position = offset
            continue
        position = offset + nbytes
        if data_start + position > size:
            ctx.error(
                "gguf.truncated",
                f"Tensor {name!r} ends at byte {data_start + position:,} but the file has {size:,} bytes; the file "
                "is truncated.",
            )
            return
    if tensors and not unknown_types:
        end = data_start + -(-position // alignment) * alignment
        if size > max(end, data_start + position):
            ctx.error(
                "gguf.trailing_data",
                f"{size - max(end, data_start + position):,} bytes follow the last tensor's data.",
            )


def check_chat_template(template: str, key: str, ctx: ScanContext) -> None:
    """Reject a template that reaches Python internals; send one that looks for imports or a shell to a reviewer.

    llama-cpp-python renders GGUF chat templates with Jinja; a template that walks from an object to its class,
    globals or builtins escapes a non-sandboxed environment (CVE-2024-34359).
    """
    try:
        tree = jinja2.Environment(extensions=["jinja2.ext.loopcontrols"]).parse(template)
    except (jinja2.TemplateSyntaxError, RecursionError) as exc:
        reached = sorted(set(_DUNDER.findall(template)))
        if reached:
            _escape(ctx, key, reached)
        else:
            ctx.warning(
                "gguf.suspicious_chat_template",
                f"The chat template {key!r} is not valid Jinja ({brief(exc, 120)}); a reviewer must read it.",
            )
        return
    reached = sorted(_internals(tree))
    if reached:
        _escape(ctx, key, reached)
    elif match := _SUSPICIOUS_TEMPLATE.search(template):
        ctx.warning(
            "gguf.suspicious_chat_template",
            f"The chat template {key!r} mentions {match.group(0)!r}; templates run as code in some loaders, so a "
            "reviewer must read it.",
        )


def _internals(tree: nodes.Template) -> set[str]:
    """The Python internals a template's syntax tree reaches: dunder attributes and items (also through the
    `attr` filter, or spelled inside any string, e.g. a str.format field), and frame attributes."""
    found: set[str] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Filter, nodes.Const, nodes.Name)):
        if isinstance(node, nodes.Getattr):
            names = [node.attr]
        elif isinstance(node, nodes.Name):
            names = [node.name]
        elif isinstance(node, nodes.Const) and isinstance(node.value, str):
            names = _DUNDER.findall(node.value)
        elif isinstance(node, nodes.Filter) and node.name == "attr" and node.args:
            argument = node.args[0]
            if not (isinstance(argument, nodes.Const) and isinstance(argument.value, str)):
                found.add("attr(<computed name>)")  # an attribute name built at render time hides its target
            continue
        else:
            continue
        found.update(n for n in names if _DUNDER.fullmatch(n) or n in _FRAME_ATTRIBUTES)
    return found


def _escape(ctx: ScanContext, key: str, reached: list[str]) -> None:
    shown = ", ".join(reached[:6]) + (", ..." if len(reached) > 6 else "")
    ctx.error(
        "gguf.chat_template_escape",
        f"The chat template {key!r} reaches Python internals ({shown}): a template sandbox escape "
        "(CVE-2024-34359 class) that runs code when a loader renders it.",
    )


def _skip_value(r: _Reader, value_type: int, depth: int) -> None:
    if value_type in SCALAR_SIZES:
        r.skip(SCALAR_SIZES[value_type])
    elif value_type == 8:
        r.skip(r.u64())
    elif value_type == 9:
        if depth >= MAX_ARRAY_DEPTH:
            raise _Malformed("metadata arrays are nested too deeply")
        item_type, count = r.u32(), r.u64()
        if item_type in SCALAR_SIZES:
            r.skip(count * SCALAR_SIZES[item_type])
        elif item_type in (8, 9):
            if count > r.size - r.pos:
                raise _Malformed(f"an array claims {count:,} items, more than the bytes left")
            for _ in range(count):
                _skip_value(r, item_type, depth + 1)
        else:
            raise _Malformed(f"unknown array item type {item_type}")
    else:
        raise _Malformed(f"unknown metadata value type {value_type}")
