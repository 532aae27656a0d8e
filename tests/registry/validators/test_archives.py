"""Archives: iterated without extraction, bounded by real (not declared) sizes, names and entry types checked."""

from __future__ import annotations

import gzip
import io
import os
import stat
import struct
import tarfile
import warnings
import zipfile
import zlib

import pytest

from registry.validators import Limits

from . import builders
from .conftest import codes, finding


def _info(name: str, *, mode: int | None = None, flags: int = 0) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    if mode is not None:
        info.create_system = 3
        info.external_attr = mode << 16
    info.flag_bits |= flags
    return info


def test_zip_bomb_by_compression_ratio(scan):
    bomb = builders.zip_of({"zeros.bin": bytes(30 * 1024 * 1024)})
    result = scan(bomb, filename="bundle.zip", kind="other")
    assert result.verdict == "rejected"
    assert "zeros.bin" in finding(result, "archive.compression_ratio").message


def test_zip_whose_header_lies_about_the_size(scan):
    real = builders.zip_of({"data.bin": bytes(range(256)) * 4096})
    # Patch the declared uncompressed size (local header and central directory) down to 100 bytes.
    patched = bytearray(real)
    local = patched.find(b"PK\x03\x04")
    central = patched.find(b"PK\x01\x02")
    struct.pack_into("<I", patched, local + 22, 100)
    struct.pack_into("<I", patched, central + 24, 100)
    result = scan(bytes(patched), filename="bundle.zip", kind="other")
    assert result.verdict == "rejected"
    # zipfile stops at the declared size, so the bytes it read no longer match the member's CRC-32
    assert codes(result) & {"archive.malformed", "archive.compression_ratio", "archive.crc_mismatch"}


def test_zip_declaring_huge_sizes_is_measured_not_trusted(scan):
    real = builders.zip_of({"data.txt": b"hello world\n" * 10})
    patched = bytearray(real)
    local, central = patched.find(b"PK\x03\x04"), patched.find(b"PK\x01\x02")
    struct.pack_into("<I", patched, local + 22, 0xFFFFFFF0)
    struct.pack_into("<I", patched, central + 24, 0xFFFFFFF0)
    result = scan(bytes(patched), filename="bundle.zip", kind="other")
    assert result.verdict == "rejected"
    assert "archive.size_mismatch" in codes(result)


def test_entry_and_total_limits_count_real_bytes(scan):
    content = builders.zip_of({"a.bin": bytes(range(256)) * 400, "b.bin": bytes(range(256)) * 400})
    limits = Limits(max_entry_bytes=50_000)
    assert "archive.entry_too_large" in codes(scan(content, filename="x.zip", kind="other", limits=limits))
    limits = Limits(max_total_bytes=150_000)
    assert "archive.total_too_large" in codes(scan(content, filename="x.zip", kind="other", limits=limits))


def test_too_many_entries(scan):
    content = builders.zip_of({f"f{i}.txt": b"x" for i in range(10)})
    result = scan(content, filename="x.zip", kind="other", limits=Limits(max_archive_entries=5))
    assert "archive.too_many_entries" in codes(result)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("../../etc/cron.d/evil", "archive.path_traversal"),
        ("weights/../../x.bin", "archive.path_traversal"),
        ("/etc/passwd", "archive.absolute_path"),
        ("C:/Windows/evil.dll", "archive.absolute_path"),
        ("dir\\..\\evil.txt", "archive.unsafe_name"),
        ("evil\x07.txt", "archive.unsafe_name"),
        ("line\nbreak.txt", "archive.unsafe_name"),
    ],
)
def test_unsafe_member_names(scan, name, code):
    for content in (
        builders.zip_with_info([(_info(name), b"data")]),
        builders.tar_of([(name, b"data")]),
    ):
        result = scan(content, filename="bundle", kind="other")
        assert result.verdict == "rejected"
        assert code in codes(result), (name, [f.as_dict() for f in result.findings])


def test_zip_symlink_and_device_entries(scan):
    content = builders.zip_with_info(
        [(_info("link", mode=stat.S_IFLNK | 0o777), b"/etc/passwd"), (_info("dev", mode=stat.S_IFCHR | 0o600), b"")]
    )
    result = scan(content, filename="x.zip", kind="other")
    assert {"archive.symlink", "archive.special_file"} <= codes(result)


def test_zip_encrypted_entry(scan):
    content = bytearray(builders.zip_with_info([(_info("secret.bin"), b"ciphertext")]))
    content[6] |= 0x1  # "encrypted" in the local header's flags
    content[content.find(b"PK\x01\x02") + 8] |= 0x1  # and in the central directory's
    result = scan(content, filename="x.zip", kind="other")
    assert "secret.bin" in finding(result, "archive.encrypted").message


def test_zip_duplicate_names(scan):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        content = builders.zip_with_info([(_info("model.bin"), b"one"), (_info("model.bin"), b"two")])
    assert "archive.duplicate_name" in codes(scan(content, filename="x.zip", kind="other"))
    unicode_twins = builders.zip_with_info([(_info("caf\u00e9.txt"), b"a"), (_info("cafe\u0301.txt"), b"b")])
    assert "archive.duplicate_name" in codes(scan(unicode_twins, filename="x.zip", kind="other"))


def test_zip_overlapping_entries(scan):
    content = bytearray(builders.zip_of({"a.txt": b"A" * 100, "b.txt": b"B" * 100}, compression=zipfile.ZIP_STORED))
    first_central = content.find(b"PK\x01\x02")
    second_central = content.find(b"PK\x01\x02", first_central + 4)
    struct.pack_into("<I", content, second_central + 42, 0)  # b.txt's local header offset -> a.txt's
    result = scan(bytes(content), filename="x.zip", kind="other")
    assert result.verdict == "rejected"
    assert "archive.overlapping_entries" in codes(result)


def test_zip_missing_its_central_directory_is_truncated(scan):
    content = builders.zip_of({"a.txt": b"hello"})
    cut = content[: content.find(b"PK\x01\x02")]
    result = scan(cut, filename="x.zip", kind="other")
    assert (result.format, result.verdict) == ("zip", "rejected")
    assert "central directory" in finding(result, "archive.truncated").message


def test_data_after_a_zip_is_rejected(scan):
    content = builders.zip_of({"a.txt": b"hello"}) + b"smuggled"
    assert "archive.trailing_data" in codes(scan(content, filename="x.zip", kind="other"))


def test_nested_archives_beyond_the_depth_limit(scan):
    inner = builders.zip_of({"deep.txt": b"hi"})
    for level in range(4):
        inner = builders.zip_of({f"level{level}.zip": inner})
    result = scan(inner, filename="x.zip", kind="other")
    assert result.verdict == "rejected"
    assert "archive.too_deep" in codes(result)
    shallow = builders.zip_of({"inner.zip": builders.zip_of({"a.txt": b"x"})})
    assert scan(shallow, filename="x.zip", kind="other").verdict == "valid"


def test_nested_archive_members_are_scanned(scan):
    inner = builders.tar_of([("model.bin", builders.os_system_pickle(2))])
    result = scan(builders.zip_of({"bundle/inner.tar": inner}), filename="x.zip", kind="other")
    message = finding(result, "pickle.dangerous_global").message
    assert "'bundle/inner.tar' > 'model.bin'" in message


@pytest.mark.parametrize(
    ("kind", "code"),
    [(tarfile.CHRTYPE, "archive.special_file"), (tarfile.BLKTYPE, "archive.special_file"),
     (tarfile.FIFOTYPE, "archive.special_file"), (tarfile.SYMTYPE, "archive.symlink"),
     (tarfile.LNKTYPE, "archive.hardlink")],
)  # fmt: skip
def test_tar_special_entries(scan, kind, code):
    member = tarfile.TarInfo("thing")
    member.type = kind
    member.linkname = "/etc/shadow" if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE) else ""
    result = scan(builders.tar_of([("ok.txt", b"fine"), member]), filename="x.tar", kind="other")
    assert (result.format, result.verdict) == ("tar", "rejected")
    assert code in codes(result)


def test_truncated_tar_and_tar_with_trailing_data(scan):
    content = builders.tar_of([("a.bin", bytes(range(256)) * 20)])
    result = scan(content[:3000], filename="x.tar", kind="other")
    assert "archive.truncated" in codes(result)
    result = scan(content + b"hidden", filename="x.tar", kind="other")
    assert result.verdict == "rejected"


def test_tar_gz_members_are_scanned(scan):
    content = gzip.compress(builders.tar_of([("model.pkl", builders.global_call("os", "system", "id"))]))
    result = scan(content, filename="bundle.tar.gz", kind="other")
    assert result.format == "gzip"
    assert "model.pkl" in finding(result, "pickle.dangerous_global").message


def test_gzip_bomb_and_truncated_gzip(scan):
    bomb = gzip.compress(bytes(30 * 1024 * 1024))
    assert "archive.compression_ratio" in codes(scan(bomb, filename="x.gz", kind="other"))
    truncated = gzip.compress(bytes(range(256)) * 100)[:-20]
    assert "archive.truncated" in codes(scan(truncated, filename="x.gz", kind="other"))


def test_compressed_joblib_is_scanned(scan):
    clean = zlib.compress(builders.joblib_arrays({"coef": bytes(16)}))
    assert scan(clean, filename="m.joblib").format == "joblib"
    evil = zlib.compress(builders.os_system_pickle(4))
    result = scan(evil, filename="m.joblib")
    assert (result.format, result.verdict) == ("joblib", "rejected")


def test_seven_zip_members_are_scanned(scan):
    result = scan(builders.seven_zip({"m/model.bin": builders.os_system_pickle(0)}), filename="x.7z", kind="other")
    assert (result.format, result.verdict) == ("7z", "rejected")
    assert "m/model.bin" in finding(result, "pickle.dangerous_global").message
    assert "py7zr" in result.scanners


def test_seven_zip_with_traversal_and_encryption(scan):
    import py7zr

    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w", password="secret") as archive:
        archive.writestr(b"data", "a.txt")
    result = scan(buffer.getvalue(), filename="x.7z", kind="other")
    assert "archive.encrypted" in codes(result)
    content = builders.seven_zip({"aa/evil.txt": b"data"}, rename=("aa/evil.txt", "../evil.txt"))
    assert "archive.path_traversal" in codes(scan(content, filename="x.7z", kind="other"))


def test_large_tar_gz_is_streamed(scan):
    members = [("big.bin", os.urandom(2 * 1024 * 1024)), ("model.pkl", builders.global_call("os", "system", "id"))]
    content = gzip.compress(builders.tar_of(members))
    result = scan(content, filename="b.tar.gz", kind="other", limits=Limits(max_buffered_member_bytes=1024 * 1024))
    assert "os.system" in finding(result, "pickle.dangerous_global").message


def test_zip_local_header_name_differing_from_the_directory(scan):
    content = bytearray(builders.zip_of({"good.txt": b"hello"}, compression=zipfile.ZIP_STORED))
    local = content.find(b"good.txt")
    content[local : local + 8] = b"evil.pkl"  # the local header now disagrees with the central directory
    result = scan(bytes(content), filename="x.zip", kind="other")
    assert "evil.pkl" in finding(result, "archive.malformed").message


def test_empty_members_are_fine(scan):
    content = builders.zip_of({"pkg/__init__.py": b"", "pkg/.gitkeep": b"", "pkg/empty.json": b""})
    assert scan(content, filename="code.zip", kind="code").verdict == "valid"


def test_directory_entries_count_towards_the_entry_limit(scan):
    members = [tarfile.TarInfo(f"d{i}") for i in range(20)]
    for member in members:
        member.type = tarfile.DIRTYPE
    result = scan(builders.tar_of(members), filename="x.tar", kind="other", limits=Limits(max_archive_entries=10))
    assert "archive.too_many_entries" in codes(result)


_HARMLESS = b"merges:\n" + b"  - t h\n" * 40


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_zip_member_whose_crc_does_not_match_is_corruption(scan, compression):
    intact = builders.zip_of({"tokenizer.yaml": _HARMLESS}, compression=compression)
    assert scan(intact, filename="bundle.zip", kind="other").verdict == "valid"
    corrupted = builders.zip_with_bad_crc({"tokenizer.yaml": _HARMLESS}, compression=compression)
    result = scan(corrupted, filename="bundle.zip", kind="other")
    assert result.verdict == "rejected"
    message = finding(result, "archive.crc_mismatch").message
    assert "'tokenizer.yaml'" in message and "corrupted" in message


def test_stored_zip_member_with_a_bad_crc_is_still_scanned(scan):
    corrupted = builders.zip_with_bad_crc({"model.pkl": builders.os_system_pickle(2)})
    assert {"archive.crc_mismatch", "pickle.dangerous_global"} <= codes(scan(corrupted, filename="m.zip"))


def test_gzip_and_tar_gz_trailer_crc_mismatch_is_corruption(scan):
    tar = builders.tar_of([("tokenizer.yaml", _HARMLESS)])
    assert scan(gzip.compress(tar), filename="bundle.tar.gz", kind="other").verdict == "valid"
    for content, name in (
        (builders.gzip_with_bad_crc(tar), "bundle.tar.gz"),
        (builders.gzip_with_bad_crc(_HARMLESS), "t.gz"),
    ):
        result = scan(content, filename=name, kind="other")
        assert result.verdict == "rejected"
        assert "gzip stream" in finding(result, "archive.crc_mismatch").message


def test_seven_zip_member_crc_mismatch_is_corruption(scan):
    members = {"tokenizer.yaml": b"0123456789abcdef"}
    assert (
        scan(builders.seven_zip(members, corrupt=(b"0123456789abcdef",) * 2), filename="b.7z", kind="other").verdict
        == "valid"
    )
    corrupted = builders.seven_zip(members, corrupt=(b"0123456789abcdef", b"0123456789abcdeF"))
    result = scan(corrupted, filename="bundle.7z", kind="other")
    assert result.verdict == "rejected"
    assert "'tokenizer.yaml'" in finding(result, "archive.crc_mismatch").message


@pytest.mark.parametrize("entry", [0, 1])
@pytest.mark.parametrize("filename", ["bundle.tar", "artifact"])
def test_tar_header_whose_checksum_does_not_add_up_is_corruption(scan, entry, filename):
    members = [("a.yaml", _HARMLESS), ("b.yaml", _HARMLESS)]
    assert scan(builders.tar_of(members), filename=filename, kind="other").verdict == "valid"
    result = scan(builders.tar_with_bad_header_checksum(members, entry=entry), filename=filename, kind="other")
    assert (result.format, result.verdict) == ("tar", "rejected")
    assert "checksum" in finding(result, "archive.crc_mismatch").message
    corrupted_inside_gzip = gzip.compress(builders.tar_with_bad_header_checksum(members, entry=entry))
    assert "archive.crc_mismatch" in codes(scan(corrupted_inside_gzip, filename="b.tar.gz", kind="other"))
