"""Format detection from content: magic bytes and structure, never the file name.

`detect` returns the coarse format the bytes start as, plus every other format the same bytes also parse as
(a polyglot: a ZIP appended to a PDF, a pickle with a ZIP glued on, an HDF5 file behind a user block). Checkers
refine the coarse format later ("zip" becomes "pytorch_zip", "text" becomes "json").
"""

from __future__ import annotations

import bz2
import codecs
import lzma
import struct
import zlib
from dataclasses import dataclass, field

from .context import Source
from .pickle_walk import OPCODES, walk_pickle

ZIP_LOCAL = b"PK\x03\x04"
ZIP_EMPTY = b"PK\x05\x06"
ZIP_END = b"PK\x05\x06"
GZIP_MAGIC = b"\x1f\x8b"
SEVEN_ZIP_MAGIC = b"7z\xbc\xaf\x27\x1c"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
NPY_MAGIC = b"\x93NUMPY"
PDF_MAGIC = b"%PDF-"
GGUF_MAGIC = b"GGUF"
XZ_MAGIC = b"\xfd7zXZ\x00"
LZMA_ALONE_MAGIC = b"]\x00\x00\x80\x00"  # what joblib's lzma compressor writes
PROBE_OPS = 4096
PROBE_BYTES = 1024 * 1024
MAX_PROBE_OPS = 1_000_000
# Fields of onnx.ModelProto and their protobuf wire types (0 varint, 2 length-delimited).
_ONNX_FIELDS = {1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2, 26: 2}

# Descriptions used in polyglot messages.
FORMAT_NAMES = {
    "pickle": "a Python pickle",
    "joblib": "a joblib pickle",
    "pytorch_zip": "a PyTorch checkpoint",
    "npy": "a NumPy array",
    "npz": "a NumPy archive",
    "safetensors": "a safetensors file",
    "onnx": "an ONNX model",
    "keras_zip": "a Keras model",
    "hdf5": "an HDF5 file",
    "gguf": "a GGUF model",
    "zip": "a ZIP archive",
    "tar": "a tar archive",
    "7z": "a 7z archive",
    "gzip": "a gzip stream",
    "compressed": "a compressed stream",
    "json": "a JSON document",
    "yaml": "a YAML document",
    "text": "a text file",
    "markdown": "a Markdown document",
    "pdf": "a PDF document",
    "prefix": "unidentified leading data",
}


@dataclass
class Detection:
    format: str
    also: list[str] = field(default_factory=list)  # other formats the bytes also are (polyglot evidence)
    zip_end: tuple[int, int] | None = None  # (offset of the ZIP end record, offset just past it)
    hdf5_offset: int | None = None


def detect(source: Source, *, extension: str = "") -> Detection:
    """The format the bytes start as, and every other format they also are."""
    if source.size == 0:
        return Detection("empty")
    head = source.head
    primary = _by_magic(head)
    found = Detection(primary or "unknown")

    zip_end = zip_end_record(source)
    found.zip_end = zip_end
    if zip_end is not None and primary != "zip":
        found.also.append("zip")
    hdf5 = hdf5_superblock(source)
    found.hdf5_offset = hdf5
    if hdf5 is not None and primary != "hdf5":
        found.also.append("hdf5")
    if primary != "tar" and is_tar_header(head):
        found.also.append("tar")
    if pickle_probe(source):
        found.also.append("pickle")

    if primary is None:
        if "pickle" in found.also:
            found.also.remove("pickle")
            primary = "pickle"
        elif "zip" in found.also:
            found.also.remove("zip")
            primary, found.also = "zip", ["prefix", *found.also]
        elif "hdf5" in found.also:
            found.also.remove("hdf5")
            primary = "hdf5"  # behind a user block; the HDF5 check decides what to make of it
        elif "tar" in found.also:
            found.also.remove("tar")
            primary = "tar"
        elif is_text(head):
            primary = "text"
        elif PDF_MAGIC in head[:1024]:
            primary, found.also = "pdf", ["prefix", *found.also]
        elif extension == ".onnx":
            primary = "onnx"  # a name is no proof, but trying the parser gives a precise reason it is not ONNX
        else:
            primary = "unknown"
    elif primary != "pdf" and PDF_MAGIC in head[1:1024]:
        found.also.append("pdf")  # PDF readers accept the header anywhere in the first kilobyte
    found.format = primary
    return found


def _by_magic(head: bytes) -> str | None:
    if head.startswith(ZIP_LOCAL) or head.startswith(ZIP_EMPTY):
        return "zip"
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(SEVEN_ZIP_MAGIC):
        return "7z"
    if head.startswith(HDF5_MAGIC):
        return "hdf5"
    if head.startswith(NPY_MAGIC):
        return "npy"
    if head.startswith(PDF_MAGIC):
        return "pdf"
    if head.startswith(GGUF_MAGIC) and len(head) >= 8:
        return "gguf"
    if looks_like_safetensors(head):
        return "safetensors"
    if is_tar_header(head) or head[257:262] == b"ustar":  # ustar magic: a tar, even if its header is damaged
        return "tar"
    if compression_kind(head):
        return "compressed"
    if looks_like_onnx(head):
        return "onnx"
    return None


def looks_like_safetensors(head: bytes) -> bool:
    """An 8-byte little-endian header length followed by the start of a JSON object.

    An impossible length (beyond the file, or absurd) still makes the file a malformed safetensors file, which
    the safetensors check rejects with the reason, whatever the file's name. Such a length is taken as one only
    before a brace that opens a JSON object (a key or `}` next); eight printable characters are text, not a length.
    """
    if head[8:9] != b"{" or is_text(head[:8]):
        return False
    (length,) = struct.unpack("<Q", head[:8])
    if 2 <= length < 2**32:
        return True
    return head[9:].lstrip(b" \t\r\n")[:1] in (b"", b'"', b"}")


def looks_like_onnx(head: bytes) -> bool:
    """The top-level protobuf fields of an onnx.ModelProto: ir_version first, only known fields, and a graph.

    (Other protobufs, a TensorFlow saved_model.pb say, also open with a small varint field 1.)
    """
    pos, fields, graph = 0, 0, False
    while pos < len(head) and fields < 16:
        tag, pos = _varint(head, pos)
        if tag is None:
            break
        number, wire = tag >> 3, tag & 7
        if _ONNX_FIELDS.get(number) != wire or (fields == 0 and number != 1):
            return False
        value, pos = _varint(head, pos)
        if value is None or (fields == 0 and not 1 <= value <= 64):
            return False
        if wire == 2:
            pos += value
        graph = graph or number == 7
        fields += 1
    return graph


def _varint(data: bytes, pos: int) -> tuple[int | None, int]:
    result, shift = 0, 0
    while pos < len(data) and shift < 64:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
    return None, pos


def compression_kind(head: bytes) -> str | None:
    """zlib, bz2, xz or lzma streams (how joblib compresses), confirmed by decoding their first bytes."""
    sample = head[:4096]
    try:
        if len(sample) >= 2 and sample[0] == 0x78 and (sample[0] << 8 | sample[1]) % 31 == 0:
            zlib.decompressobj().decompress(sample, 16)
            return "zlib"
        if sample.startswith(b"BZh") and sample[3:4] in b"123456789" and len(sample) > 4:
            bz2.BZ2Decompressor().decompress(sample)
            return "bz2"
        if sample.startswith(XZ_MAGIC):
            lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(sample, 16)
            return "xz"
        if sample.startswith(LZMA_ALONE_MAGIC):
            lzma.LZMADecompressor(format=lzma.FORMAT_ALONE).decompress(sample, 16)
            return "lzma"
    except (zlib.error, OSError, lzma.LZMAError, EOFError):
        return None
    return None


def is_tar_header(head: bytes) -> bool:
    """A tar header block whose checksum adds up (POSIX ustar, GNU and old v7 headers alike)."""
    if len(head) < 512:
        return False
    block = head[:512]
    if not block[:100].strip(b"\x00"):
        return False
    field_ = block[148:156].replace(b"\x00", b" ").strip()
    try:
        stored = int(field_, 8)
    except ValueError:
        return False
    unsigned = sum(block[:148]) + 8 * 32 + sum(block[156:])
    signed = sum(b - 256 if b > 127 else b for b in block[:148] + block[156:]) + 8 * 32
    return stored in (unsigned, signed)


def zip_end_record(source: Source) -> tuple[int, int] | None:
    """The ZIP end-of-central-directory record near the end, if it is a consistent one."""
    tail = source.tail
    if tail is None:
        return None
    base = source.size - len(tail)
    index = tail.rfind(ZIP_END)
    while index >= 0:
        record = tail[index : index + 22]
        if len(record) == 22:
            _, disk, cd_disk, disk_entries, entries, cd_size, cd_offset, comment = struct.unpack("<4s4H2LH", record)
            end = base + index + 22 + comment
            zip64 = 0xFFFFFFFF in (cd_size, cd_offset) or 0xFFFF in (disk_entries, entries)
            consistent = disk == cd_disk == 0 and disk_entries == entries and end <= source.size
            if consistent and (zip64 or cd_size == entries == 0 or cd_offset + cd_size <= base + index):
                return base + index, end
        index = tail.rfind(ZIP_END, 0, index)
    return None


def hdf5_superblock(source: Source) -> int | None:
    """HDF5 looks for its signature at 0, 512, 1024, 2048, ... (after a "user block")."""
    offset = 0
    head = source.head
    while offset + 8 <= source.size:
        if offset + 8 <= len(head):
            chunk = head[offset : offset + 8]
        elif source.seekable:
            chunk = source.read_at(offset, 8)
        else:
            break
        if chunk == HDF5_MAGIC:
            return offset
        offset = 512 if offset == 0 else offset * 2
    return None


def pickle_probe(source: Source) -> bool:
    """Do the bytes start with a pickle that would import or call something (protocols 0 and 1 have no magic)?"""
    head = source.head
    if not head or head[0] not in _OPCODE_BYTES:
        return False
    end = min(source.size, PROBE_BYTES)
    walk = _probe(source, end, PROBE_OPS)
    cut_short = walk.incomplete is not None or (walk.error is not None and walk.error.truncated and end < source.size)
    if cut_short and not walk.looks_like_pickle():
        # A valid opcode stream up to the probe's budget (a long first string, say): walk all of it, so a
        # payload cannot hide behind a megabyte of harmless opcodes.
        walk = _probe(source, source.size, MAX_PROBE_OPS)
    return walk.looks_like_pickle()


def _probe(source: Source, end: int, max_ops: int):
    with source.open() as stream:
        return walk_pickle(
            stream, start=0, end=end, max_ops=max_ops, skeleton_limit=None, joblib=False, persistent_load=False
        )


def is_text(head: bytes) -> bool:
    """UTF-8 without NUL bytes or stray control characters (a truncated last character is fine)."""
    sample = head[3:] if head.startswith(codecs.BOM_UTF8) else head
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return not any(ch in _BAD_CONTROLS for ch in text)


_BAD_CONTROLS = frozenset(chr(c) for c in range(32) if chr(c) not in "\t\n\r\f\v\x1b") | {"\x7f"}
_OPCODE_BYTES = frozenset(OPCODES)
