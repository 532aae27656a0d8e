"""Archives (ZIP and the formats built on it, tar, 7z) and compressed streams (gzip; zlib, bz2 and xz as joblib
writes them).

Nothing is extracted to disk. Entries are counted and named before any content is read; sizes are the bytes
decompression actually produces, never what a header declares; compression ratios and byte budgets are
enforced while streaming, so a bomb stops early. Every member is classified by its content and checked
like an uploaded file (a protocol 0 pickle named model.bin is still a pickle), recursively up to a depth.
"""

from __future__ import annotations

import io
import stat
import struct
import tarfile
import unicodedata
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from .context import HEAD_BYTES, TAIL_BYTES, ScanContext, Source, brief, read_up_to
from .detect import Detection, is_tar_header
from .documents import parse_json
from .keras import check_keras_config
from .streams import CHUNK, decompressed_opener, slice_opener

MAX_REPORTED = 5
ZIP64_LOCATOR = b"PK\x06\x07"
ZIP64_END = b"PK\x06\x06"
LOCAL_HEADER = b"PK\x03\x04"
# What zipfile and gzip say when the bytes do not match the recorded CRC-32 (both check it at the end of a read).
ZIP_BAD_CRC = "Bad CRC-32"
GZIP_BAD_CRC = "CRC check failed"


class _Stop(Exception):
    """A budget ran out; the finding saying so has been recorded."""


# --- names ---------------------------------------------------------------------------------------------


def name_problems(name: str) -> list[tuple[str, str]]:
    """What is wrong with an archive member's name, as (code, message) pairs."""
    problems = []
    if not name.strip("/"):
        problems.append(("archive.unsafe_name", f"An entry has an empty name ({name!r})."))
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        problems.append(("archive.unsafe_name", f"The entry name {name!r} contains control characters."))
    if name.startswith("/") or (len(name) > 1 and name[1] == ":" and name[0].isalpha()):
        problems.append(("archive.absolute_path", f"The entry {name!r} has an absolute path (or a drive letter)."))
    if "\\" in name:
        problems.append(("archive.unsafe_name", f"The entry name {name!r} contains backslashes, which Windows reads "
                         "as directory separators."))  # fmt: skip
    if ".." in name.replace("\\", "/").split("/"):
        problems.append(("archive.path_traversal", f"The entry {name!r} climbs out of the archive with '..'."))
    return problems


class _Names:
    """Reports bad names and duplicates (after Unicode normalisation, as file systems compare them)."""

    def __init__(self, ctx: ScanContext):
        self.ctx = ctx
        self.exact: set[str] = set()
        self.folded: dict[str, str] = {}
        self.reported = 0

    def check(self, name: str) -> bool:
        ok = True
        for code, message in name_problems(name):
            self.ctx.error(code, message)
            ok = False
        key = unicodedata.normalize("NFC", name).rstrip("/")
        if key in self.exact:
            self.ctx.error("archive.duplicate_name", f"The archive holds two entries named {name!r}.")
            ok = False
        elif key.casefold() in self.folded and self.reported < MAX_REPORTED:
            self.reported += 1
            self.ctx.warning(
                "archive.case_collision",
                f"The entries {self.folded[key.casefold()]!r} and {name!r} differ only in letter case and would "
                "overwrite each other on some systems.",
            )
        self.exact.add(key)
        self.folded.setdefault(key.casefold(), name)
        return ok


# --- budgets -------------------------------------------------------------------------------------------


@dataclass
class Measured:
    size: int
    head: bytes
    tail: bytes


def _count_entry(ctx: ScanContext) -> None:
    ctx.entries += 1
    if ctx.entries > ctx.limits.max_archive_entries:
        ctx.error(
            "archive.too_many_entries",
            f"The archive holds more than {ctx.limits.max_archive_entries:,} entries (nested archives included).",
        )
        raise _Stop


def _charge(ctx: ScanContext, nbytes: int, name: str) -> None:
    limits = ctx.limits
    if nbytes > limits.max_entry_bytes:
        ctx.error(
            "archive.entry_too_large", f"The entry {name!r} unpacks to more than {limits.max_entry_bytes:,} bytes."
        )
        raise _Stop
    if ctx.inflated + nbytes > limits.max_total_bytes:
        ctx.error(
            "archive.total_too_large",
            f"The archive unpacks to more than {limits.max_total_bytes:,} bytes in total.",
        )
        raise _Stop


def measure(opener: Callable[[], BinaryIO], compressed: int, ctx: ScanContext, name: str) -> Measured:
    """Decompress once, counting the bytes produced and enforcing size and ratio limits as they grow."""
    limits = ctx.limits
    count = 0
    head = bytearray()
    tail = b""
    with opener() as stream:
        while True:
            chunk = stream.read(CHUNK)
            if not chunk:
                break
            count += len(chunk)
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
            tail = (tail + chunk)[-TAIL_BYTES:]
            _charge(ctx, count, name)
            if count > limits.compression_ratio_min_bytes and count > limits.max_compression_ratio * max(compressed, 1):
                ctx.error(
                    "archive.compression_ratio",
                    f"The entry {name!r} expands more than {limits.max_compression_ratio:g} times ({compressed:,} "
                    f"compressed bytes produce over {count:,}); this is how decompression bombs work.",
                )
                raise _Stop
    ctx.inflated += count
    return Measured(count, bytes(head), tail)


def _crc_mismatch(ctx: ScanContext, what: str, detail: str) -> None:
    ctx.error(
        "archive.crc_mismatch",
        f"{what} does not match the checksum recorded for it ({detail}): the archive is corrupted.",
    )


def _crc32(opener: Callable[[], BinaryIO]) -> int:
    crc = 0
    with opener() as stream:
        while chunk := stream.read(CHUNK):
            crc = zlib.crc32(chunk, crc)
    return crc


def _enter(ctx: ScanContext, kind: str) -> bool:
    if ctx.depth >= ctx.limits.max_archive_depth:
        ctx.error(
            "archive.too_deep",
            f"This {kind} is nested more than {ctx.limits.max_archive_depth} archives deep; it was not opened.",
        )
        return False
    return True


def _scan(ctx: ScanContext, member: Source) -> str:
    with ctx.inside(member.name):
        ctx.depth += 1
        try:
            return ctx.scan_member(member)
        finally:
            ctx.depth -= 1


# --- ZIP -----------------------------------------------------------------------------------------------


def check_zip(source: Source, ctx: ScanContext, detection: Detection) -> str:
    if detection.zip_end is None:
        ctx.error(
            "archive.truncated",
            "The ZIP archive has no central directory (its end record is missing): it is truncated or damaged.",
        )
        return "zip"
    end_offset, end = detection.zip_end
    if end < source.size:
        ctx.error("archive.trailing_data", f"{source.size - end:,} bytes follow the end of the ZIP archive.")
    declared_entries, cd_offset = _zip_directory(source, end_offset)
    if declared_entries > ctx.limits.max_archive_entries:
        ctx.error(
            "archive.too_many_entries",
            f"The ZIP archive declares {declared_entries:,} entries; the limit is {ctx.limits.max_archive_entries:,}.",
        )
        return "zip"
    if not _enter(ctx, "ZIP archive"):
        return "zip"
    with source.open() as stream:
        try:
            archive = zipfile.ZipFile(stream)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            ctx.error("archive.malformed", f"The ZIP archive cannot be read: {brief(exc, 200)}.")
            return "zip"
        with archive:
            ctx.archive_members.append({i.filename for i in archive.infolist() if not i.is_dir()})
            try:
                formats = _zip_members(source, ctx, archive, cd_offset)
            finally:
                ctx.archive_members.pop()
            return _zip_kind(source, ctx, archive, formats)


def _zip_directory(source: Source, end_offset: int) -> tuple[int, int]:
    record = source.read_at(end_offset, 22)
    _, _, _, _, entries, _, cd_offset, _ = struct.unpack("<4s4H2LH", record)
    if (entries == 0xFFFF or cd_offset == 0xFFFFFFFF) and end_offset >= 20:
        locator = source.read_at(end_offset - 20, 20)
        if locator[:4] == ZIP64_LOCATOR:
            (zip64_offset,) = struct.unpack("<Q", locator[8:16])
            zip64 = source.read_at(zip64_offset, 56)
            if zip64[:4] == ZIP64_END and len(zip64) == 56:
                entries, cd_offset = struct.unpack("<Q", zip64[32:40])[0], struct.unpack("<Q", zip64[48:56])[0]
    return entries, cd_offset


def _zip_members(source: Source, ctx: ScanContext, archive: zipfile.ZipFile, cd_offset: int) -> dict[str, str]:
    names = _Names(ctx)
    formats: dict[str, str] = {}
    spans: list[tuple[int, int, str]] = []
    archive_bytes = 0
    headers = source.open()
    try:
        for info in archive.infolist():
            _count_entry(ctx)
            raw_name = info.orig_filename
            named_ok = names.check(raw_name)
            mode = info.external_attr >> 16
            if info.create_system == 3 and stat.S_ISLNK(mode):
                ctx.error("archive.symlink", f"The entry {raw_name!r} is a symbolic link.")
                continue
            if info.create_system == 3 and (stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode)
                                            or stat.S_ISSOCK(mode)):  # fmt: skip
                ctx.error("archive.special_file", f"The entry {raw_name!r} is a device, pipe or socket.")
                continue
            if info.flag_bits & 0x1 or info.compress_type == 99:
                ctx.error("archive.encrypted", f"The entry {raw_name!r} is encrypted and cannot be inspected.")
                continue
            if info.is_dir():
                continue
            headers.seek(info.header_offset)
            header = read_up_to(headers, 30)
            if len(header) < 30 or header[:4] != LOCAL_HEADER:
                ctx.error("archive.malformed", f"The entry {raw_name!r} points at a missing local header.")
                continue
            name_length, extra_length = struct.unpack("<HH", header[26:30])
            data_start = info.header_offset + 30 + name_length + extra_length
            spans.append((info.header_offset, data_start + info.compress_size, raw_name))
            local_name = read_up_to(headers, name_length)
            if local_name != raw_name.encode("utf-8" if info.flag_bits & 0x800 else "cp437", "replace"):
                # Tools that read local headers would see a different file than tools that read the directory.
                ctx.error(
                    "archive.malformed",
                    f"The entry {raw_name!r} is named {local_name[:80]!r} in its local header.",
                )
                continue
            if data_start + info.compress_size > cd_offset:
                ctx.error("archive.malformed", f"The entry {raw_name!r} runs into the archive's central directory.")
                continue
            if not named_ok:
                continue  # never inspect content under a name that is itself an attack
            member = _zip_member(source, ctx, archive, info, data_start)
            if member is None:
                continue
            archive_bytes += member.size
            if (
                archive_bytes > ctx.limits.compression_ratio_min_bytes
                and archive_bytes > ctx.limits.max_compression_ratio * source.size
            ):
                ctx.error(
                    "archive.compression_ratio",
                    f"The archive expands more than {ctx.limits.max_compression_ratio:g} times its size.",
                )
                raise _Stop
            formats[info.filename] = _scan(ctx, member)
    except _Stop:
        pass
    finally:
        headers.close()
    _check_overlaps(ctx, spans)
    return formats


def _zip_member(
    source: Source, ctx: ScanContext, archive: zipfile.ZipFile, info: zipfile.ZipInfo, data_start: int
) -> Source | None:
    name = info.filename
    if info.compress_type == zipfile.ZIP_STORED:
        if info.compress_size != info.file_size:
            ctx.error("archive.malformed", f"The stored entry {name!r} declares two different sizes.")
            return None
        _charge(ctx, info.file_size, name)
        ctx.inflated += info.file_size
        opener = slice_opener(source.open, data_start, info.file_size)
        crc = _crc32(opener)
        if crc != info.CRC:
            # Still scanned below: the bytes are what a loader would read, whatever the checksum says.
            _crc_mismatch(ctx, f"The entry {name!r}", f"CRC-32 recorded {info.CRC:#010x}, computed {crc:#010x}")
        return Source(name=name, size=info.file_size, opener=opener, seekable=source.seekable)
    try:
        measured = measure(lambda: archive.open(info), info.compress_size, ctx, name)
    except NotImplementedError:
        ctx.warning(
            "archive.member_not_inspected",
            f"The entry {name!r} uses a compression method (type {info.compress_type}) this scanner cannot read.",
        )
        return None
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as exc:
        if isinstance(exc, zipfile.BadZipFile) and str(exc).startswith(ZIP_BAD_CRC):
            _crc_mismatch(ctx, f"The entry {name!r}", f"CRC-32 recorded {info.CRC:#010x}")
            return None
        code = "archive.truncated" if isinstance(exc, EOFError) else "archive.malformed"
        ctx.error(code, f"The entry {name!r} cannot be decompressed: {brief(exc, 200)}.")
        return None
    if measured.size != info.file_size:
        ctx.error(
            "archive.size_mismatch",
            f"The entry {name!r} declares {info.file_size:,} bytes but unpacks to {measured.size:,}; the archive's "
            "headers have been tampered with.",
        )
        return None
    return Source(
        name=name,
        size=measured.size,
        opener=lambda: archive.open(info),
        seekable=False,  # seeking back in a deflated member means inflating it again from the start
        head=measured.head,
        tail=measured.tail,
    )


def _check_overlaps(ctx: ScanContext, spans: list[tuple[int, int, str]]) -> None:
    spans.sort()
    for (_, end, name), (start, _, next_name) in zip(spans, spans[1:], strict=False):
        if start < end:
            ctx.error(
                "archive.overlapping_entries",
                f"The entries {name!r} and {next_name!r} share bytes; overlapping entries are a decompression-bomb "
                "technique.",
            )
            return


def _zip_kind(source: Source, ctx: ScanContext, archive: zipfile.ZipFile, formats: dict[str, str]) -> str:
    """pytorch_zip, keras_zip, npz or plain zip, from the archive's layout and its members' formats."""
    files = [i.filename for i in archive.infolist() if not i.is_dir()]
    names = set(files)
    for name in files:
        if name.endswith("data.pkl") and name.count("/") == 1:
            prefix = name[: -len("data.pkl")]
            if f"{prefix}version" in names or f"{prefix}.data/version" in names:
                return _pytorch_zip(ctx, prefix, names, formats)
    if "config.json" in names and ({"metadata.json", "model.weights.h5"} & names):
        _keras_zip(ctx, archive)
        return "keras_zip"
    if files and all(n.endswith(".npy") and formats.get(n) == "npy" for n in files):
        return "npz"
    return "zip"


def _pytorch_zip(ctx: ScanContext, prefix: str, names: set[str], formats: dict[str, str]) -> str:
    data_pkl = f"{prefix}data.pkl"
    if data_pkl in formats and formats[data_pkl] not in ("pickle", "joblib"):
        ctx.error("pytorch.data_pkl_not_pickle", f"The checkpoint's {data_pkl!r} is not a pickle.")
    if any(n.startswith(f"{prefix}code/") for n in names):
        ctx.warning(
            "pytorch.torchscript",
            "This is a TorchScript archive: it contains code that runs when the model is loaded, so a reviewer "
            "must read it.",
        )
    return "pytorch_zip"


def _keras_zip(ctx: ScanContext, archive: zipfile.ZipFile) -> None:
    info = archive.getinfo("config.json")
    if info.file_size > ctx.limits.max_text_bytes:
        ctx.warning("keras.config_too_large", "The Keras config.json is too large to check.")
        return
    try:
        with archive.open(info) as stream:
            raw = read_up_to(stream, ctx.limits.max_text_bytes + 1)
        config = parse_json(raw)
    except (ValueError, RecursionError, zipfile.BadZipFile, OSError, EOFError) as exc:
        ctx.error("keras.config_invalid", f"The Keras config.json cannot be read: {brief(exc, 200)}.")
        return
    check_keras_config(config, ctx, where="config.json")


# --- tar -----------------------------------------------------------------------------------------------


def check_tar(source: Source, ctx: ScanContext) -> str:
    if not _enter(ctx, "tar archive"):
        return "tar"
    if _tar_header_corrupt(source.head[:512]):
        _crc_mismatch(ctx, "The tar archive's first header", "the header's checksum field")
        return "tar"
    if not source.seekable and source.size <= ctx.limits.max_buffered_member_bytes:
        with source.open() as stream:  # a small tar inside a compressed stream: read it into memory once
            source = Source.from_bytes(source.name, read_up_to(stream, source.size))
    ctx.archive_members.append(_tar_listing(source, ctx))
    try:
        return _tar_entries(source, ctx)
    finally:
        ctx.archive_members.pop()


def _tar_listing(source: Source, ctx: ScanContext) -> set[str]:
    """Names of the regular members, read ahead so a model can refer to a file stored after it."""
    found: set[str] = set()
    with source.open() as stream:
        try:
            with tarfile.open(fileobj=stream, mode="r:" if source.seekable else "r|") as archive:
                while len(found) <= ctx.limits.max_archive_entries and (member := archive.next()) is not None:
                    archive.members.clear()
                    if member.isreg():
                        found.add(member.name)
        except (tarfile.TarError, EOFError, OSError, ValueError):
            pass  # the main pass reports the damage
    return found


def _tar_entries(source: Source, ctx: ScanContext) -> str:
    names = _Names(ctx)
    end = 0
    with source.open() as stream:
        try:
            archive = tarfile.open(fileobj=stream, mode="r:" if source.seekable else "r|")  # noqa: SIM115
        except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
            ctx.error("archive.malformed", f"The tar archive cannot be read: {brief(exc, 200)}.")
            return "tar"
        try:
            while True:
                member = archive.next()
                if member is None:
                    break
                archive.members.clear()  # tarfile remembers every member; we need only the current one
                end = member.offset_data + (-(-member.size // 512) * 512 if member.isreg() else 0)
                _tar_member(source, ctx, archive, member, names)
        except _Stop:
            return "tar"
        except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
            ctx.error("archive.truncated", f"The tar archive is truncated or damaged: {brief(exc, 200)}.")
            return "tar"
    _tar_end(source, ctx, end)
    return "tar"


def _tar_member(source: Source, ctx: ScanContext, archive: tarfile.TarFile, member: tarfile.TarInfo, names: _Names):
    name = member.name
    _count_entry(ctx)  # every entry, directories included: each costs memory to track
    named_ok = names.check(name)
    if member.issym():
        ctx.error("archive.symlink", f"The entry {name!r} is a symbolic link (to {member.linkname!r}).")
        return
    if member.islnk():
        ctx.error("archive.hardlink", f"The entry {name!r} is a hard link (to {member.linkname!r}).")
        return
    if member.ischr() or member.isblk() or member.isfifo():
        ctx.error("archive.special_file", f"The entry {name!r} is a device or a pipe.")
        return
    if member.issparse():
        ctx.error("archive.sparse_entry", f"The entry {name!r} is a sparse file, whose real size is hidden.")
        return
    if not member.isreg():
        return
    if member.offset_data + member.size > source.size:
        ctx.error("archive.truncated", f"The entry {name!r} runs past the end of the archive; it is truncated.")
        raise _Stop
    _charge(ctx, member.size, name)
    ctx.inflated += member.size
    if not named_ok:
        return
    if source.seekable:
        opener = slice_opener(source.open, member.offset_data, member.size)
        content = Source(name=name, size=member.size, opener=opener, seekable=True)
    elif member.size <= ctx.limits.max_buffered_member_bytes:
        with archive.extractfile(member) as stream:
            content = Source.from_bytes(name, read_up_to(stream, member.size))
    else:
        ctx.warning(
            "archive.member_not_inspected",
            f"The entry {name!r} is too large to inspect inside a compressed tar archive.",
        )
        return
    _scan(ctx, content)


def _tar_end(source: Source, ctx: ScanContext, end: int) -> None:
    """After the last entry a tar holds only zero blocks; anything else is hidden data or damage."""
    remaining = source.size - end
    if remaining < 1024:
        ctx.error("archive.truncated", "The tar archive lacks its end-of-archive marker; it is truncated.")
        return
    with source.open() as stream:
        if source.seekable:
            stream.seek(end)
        else:
            skipped = 0
            while skipped < end:
                chunk = stream.read(min(CHUNK, end - skipped))
                if not chunk:
                    return
                skipped += len(chunk)
        first = True
        while True:
            chunk = stream.read(CHUNK)
            if not chunk:
                return
            if first and _tar_header_corrupt(chunk[:512]):
                # tarfile stops at a header whose checksum is wrong as if the archive ended there
                _crc_mismatch(ctx, f"The tar header at byte {end:,}", "the header's checksum field")
                return
            first = False
            if chunk.strip(b"\x00"):
                ctx.error("archive.trailing_data", "Data follows the end of the tar archive.")
                return


def _tar_header_corrupt(block: bytes) -> bool:
    """A tar header block (a name and a numeric checksum field) whose checksum does not add up."""
    if len(block) < 512 or not block[:100].strip(b"\x00"):
        return False
    try:
        int(block[148:156].replace(b"\x00", b" ").strip(), 8)
    except ValueError:
        return False
    return not is_tar_header(block)


# --- 7z ------------------------------------------------------------------------------------------------


def check_7z(source: Source, ctx: ScanContext) -> str:
    import py7zr
    from py7zr import exceptions as errors

    ctx.used("py7zr")
    if not _enter(ctx, "7z archive"):
        return "7z"
    with source.open() as stream:
        try:
            archive = py7zr.SevenZipFile(stream, mode="r")
        except errors.PasswordRequired:
            ctx.error("archive.encrypted", "The 7z archive is encrypted and cannot be inspected.")
            return "7z"
        except Exception as exc:  # noqa: BLE001 - py7zr raises many unrelated types on damaged input
            ctx.error("archive.malformed", f"The 7z archive cannot be read: {type(exc).__name__}: {brief(exc, 200)}.")
            return "7z"
        with archive:
            if archive.needs_password():
                ctx.error("archive.encrypted", "The 7z archive is encrypted and cannot be inspected.")
                return "7z"
            names = _Names(ctx)
            safe = True
            try:
                for entry in archive.files:
                    _count_entry(ctx)
                    safe = names.check(entry.filename) and safe
                    kind = entry.st_fmt
                    if entry.is_symlink or entry.is_junction:
                        ctx.error("archive.symlink", f"The entry {entry.filename!r} is a symbolic link.")
                        safe = False
                    elif entry.is_socket or kind in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK):
                        ctx.error("archive.special_file", f"The entry {entry.filename!r} is a device, pipe or socket.")
                        safe = False
            except _Stop:
                return "7z"
            if not safe:
                return "7z"
            collector = _SevenZipCollector(ctx, source.size)
            ctx.archive_members.append({e.filename for e in archive.files if not e.is_directory})
            try:
                archive.extractall(factory=collector)
            except _Stop:
                pass
            except errors.CrcError as exc:
                _crc_mismatch(
                    ctx,
                    f"The entry {brief(exc.filename, 200)!r}",
                    f"CRC-32 recorded {exc.expected:#010x}, computed {exc.actual:#010x}",
                )
            except Exception as exc:  # noqa: BLE001 - unsupported methods, corrupt streams
                ctx.error(
                    "archive.malformed",
                    f"The 7z archive cannot be unpacked: {type(exc).__name__}: {brief(exc, 200)}.",
                )
            finally:
                ctx.archive_members.pop()
    return "7z"


class _SevenZipCollector:
    """A py7zr writer factory: counts each member's bytes and scans it from memory when it is complete."""

    def __init__(self, ctx: ScanContext, compressed: int):
        self.ctx = ctx
        self.compressed = compressed
        self.total = 0

    def create(self, filename: str):
        return _SevenZipMember(self, filename)


class _SevenZipMember:
    def __init__(self, collector: _SevenZipCollector, name: str):
        self.collector = collector
        self.name = name
        self.buffer: io.BytesIO | None = io.BytesIO()
        self.count = 0

    def write(self, data) -> int:
        ctx = self.collector.ctx
        self.count += len(data)
        self.collector.total += len(data)
        _charge(ctx, self.count, self.name)
        limits = ctx.limits
        total = self.collector.total
        bound = limits.max_compression_ratio * self.collector.compressed
        if total > limits.compression_ratio_min_bytes and total > bound:
            ctx.error(
                "archive.compression_ratio",
                f"The 7z archive expands more than {limits.max_compression_ratio:g} times its size.",
            )
            raise _Stop
        if self.buffer is not None:
            if self.count > limits.max_buffered_member_bytes:
                self.buffer = None
            else:
                self.buffer.write(data)
        return len(data)

    def read(self, size=None) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def flush(self) -> None:
        pass

    def size(self) -> int:
        return self.count

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        ctx = self.collector.ctx
        ctx.inflated += self.count
        if self.buffer is None:
            ctx.warning(
                "archive.member_not_inspected",
                f"The entry {self.name!r} is too large to inspect inside a 7z archive.",
            )
            return
        data, self.buffer = self.buffer.getvalue(), None
        _scan(ctx, Source.from_bytes(self.name, data))


# --- compressed streams --------------------------------------------------------------------------------


def check_compressed(source: Source, ctx: ScanContext, kind: str) -> str | None:
    """gzip (an archive format of its own), or zlib / bz2 / xz / lzma (how joblib compresses pickles).

    Returns the inner content's format (for joblib) or None.
    """
    label = "gzip stream" if kind == "gzip" else f"{kind} stream"
    if not _enter(ctx, label):
        return None
    opener = decompressed_opener(source.open, kind)
    try:
        measured = measure(opener, source.size, ctx, source.name or "the file")
    except _Stop:
        return None
    except (EOFError, OSError, ValueError, zlib.error) as exc:
        if kind == "gzip" and str(exc).startswith(GZIP_BAD_CRC):
            _crc_mismatch(ctx, f"The {label}", f"the CRC-32 in its trailer: {brief(exc, 100)}")
            return None
        truncated = isinstance(exc, EOFError)
        ctx.error(
            "archive.truncated" if truncated else "archive.malformed",
            f"The {label} is {'truncated' if truncated else 'damaged'}: {brief(exc, 200)}.",
        )
        return None
    inner = Source(
        name=_inner_name(source.name, kind),
        size=measured.size,
        opener=opener,
        seekable=False,
        head=measured.head,
        tail=measured.tail,
    )
    return _scan(ctx, inner)


def _inner_name(name: str, kind: str) -> str:
    base = name.rsplit("/", 1)[-1] if name else ""
    lowered = base.lower()
    if lowered.endswith(".tgz"):
        return base[:-4] + ".tar"
    for suffix in (".gz", ".gzip", ".z", ".bz2", ".xz", ".lzma"):
        if lowered.endswith(suffix):
            return base[: -len(suffix)]
    return f"{base or 'content'} (decompressed)"
