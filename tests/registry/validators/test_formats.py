"""Each format is detected from its content and is valid when clean; the extension is only a hint."""

from __future__ import annotations

import json
import pickle
import zipfile

import pytest

from . import builders
from .conftest import codes, finding


def _clean_files(tmp_path) -> list[tuple[str, bytes, str, str]]:
    hdf5 = tmp_path / "clean.h5"
    builders.hdf5_file(hdf5, model_config=builders.keras_config())
    return [
        # (filename, content, kind, expected format)
        ("model.safetensors", builders.clean_safetensors(), "weights", "safetensors"),
        ("pytorch_model.bin", builders.clean_torch_zip(), "weights", "pytorch_zip"),
        ("model.pkl", pickle.dumps({"weights": [1.0, 2.0], "name": "x"}, protocol=2), "weights", "pickle"),
        ("state.pkl", pickle.dumps({"weights": [1.0, 2.0]}, protocol=0), "weights", "pickle"),
        ("model.joblib", builders.joblib_arrays({"coef": bytes(24)}), "weights", "joblib"),
        ("array.npy", builders.npy("<f4", (2, 2), bytes(16)), "weights", "npy"),
        ("arrays.npz", builders.npz({"a.npy": builders.npy("<i8", (3,), bytes(24))}), "weights", "npz"),
        ("model.onnx", builders.onnx_model(), "weights", "onnx"),
        ("model.keras", builders.keras_zip(tmp_path), "weights", "keras_zip"),
        ("model.h5", hdf5.read_bytes(), "weights", "hdf5"),
        ("model.gguf", builders.gguf(), "weights", "gguf"),
        ("bundle.zip", builders.zip_of({"README.md": b"# Model\n", "config.json": b"{}"}), "other", "zip"),
        ("bundle.tar", builders.tar_of([("config.json", b'{"a": 1}')]), "other", "tar"),
        ("bundle.7z", builders.seven_zip({"notes.txt": b"hello\n"}), "other", "7z"),
        ("config.json.gz", __import__("gzip").compress(b'{"a": 1}'), "config", "gzip"),
        ("config.json", json.dumps({"hidden_size": 768}).encode(), "config", "json"),
        ("config.yaml", b"model:\n  layers: 12\n  name: bert\n", "config", "yaml"),
        ("vocab.txt", b"[PAD]\n[UNK]\nhello\n", "tokenizer", "text"),
        ("README.md", b"# Credit scoring\n\nA model.\n", "documentation", "markdown"),
        ("report.pdf", builders.pdf(), "evaluation_report", "pdf"),
    ]


def test_clean_files_are_detected_and_valid(scan, tmp_path):
    for filename, content, kind, expected in _clean_files(tmp_path):
        result = scan(content, filename=filename, kind=kind)
        details = (filename, [f.as_dict() for f in result.findings])
        assert (result.format, result.verdict) == (expected, "valid"), details


def test_format_comes_from_content_not_extension(scan):
    # An extension that promises nothing (.bin) does not stop detection.
    assert scan(builders.clean_safetensors(), filename="weights.bin").format == "safetensors"
    assert scan(builders.onnx_model(), filename="model.bin").format == "onnx"
    assert scan(builders.npy("<f4", (1,), bytes(4)), filename="noext").format == "npy"


@pytest.mark.parametrize(
    ("filename", "content", "detected"),
    [
        ("model.safetensors", pickle.dumps({"a": 1}, protocol=2), "pickle"),
        ("model.onnx", builders.clean_safetensors(), "safetensors"),
        ("model.gguf", b'{"a": 1}', "json"),
        ("config.json", b"model: [1, 2\n", "json"),
        ("weights.npy", builders.clean_torch_zip(), "pytorch_zip"),
        ("model.pt", builders.clean_safetensors(), "safetensors"),
    ],
)
def test_extension_that_contradicts_content_is_rejected(scan, filename, content, detected):
    result = scan(content, filename=filename)
    assert result.verdict == "rejected"
    assert result.format == detected
    assert "format.extension_mismatch" in codes(result) or "json.malformed" in codes(result)


def test_safetensors_named_model_safetensors_that_is_a_pickle(scan):
    result = scan(builders.os_system_pickle(2), filename="model.safetensors")
    assert result.verdict == "rejected"
    assert "format.extension_mismatch" in codes(result)
    assert "pickle.dangerous_global" in codes(result)


@pytest.mark.parametrize(
    ("content", "also"),
    [
        (builders.pdf() + builders.zip_of({"a.txt": b"x"}), "a ZIP archive"),
        (pickle.dumps({"a": 1}, protocol=2) + builders.zip_of({"a.txt": b"x"}), "a ZIP archive"),
        (builders.os_system_pickle(0) + builders.zip_of({"a.txt": b"x"}), "a ZIP archive"),
        (b"\x00" * 512 + builders.pdf(), "unidentified leading data"),
        (b"junk before " + builders.zip_of({"a.txt": b"x"}), "unidentified leading data"),
        (b"# notes\n" * 2 + builders.zip_of({"a.txt": b"x"}), "a ZIP archive"),
    ],
)
def test_polyglot_is_rejected(scan, content, also):
    result = scan(content, filename="artifact", kind="other")
    assert result.verdict == "rejected"
    assert also in finding(result, "format.polyglot").message


def test_hdf5_behind_a_pdf_header_is_a_polyglot(scan, tmp_path):
    path = tmp_path / "x.h5"
    builders.hdf5_file(path)
    # HDF5 finds its superblock after a 512-byte "user block"; put a PDF there.
    content = builders.pdf().ljust(512, b"\n") + path.read_bytes()
    assert scan(content, kind="other").verdict == "rejected"


def test_unknown_format_rejected_for_model_kinds_reviewed_for_others(scan):
    blob = bytes(range(256)) * 4
    for kind in ("weights", "config", "tokenizer"):
        result = scan(blob, kind=kind)
        assert (result.format, result.verdict) == ("unknown", "rejected")
        assert finding(result, "format.unknown").severity == "error"
    for kind in ("code", "documentation", "evaluation_report", "other"):
        result = scan(blob, kind=kind)
        assert (result.format, result.verdict) == ("unknown", "needs_review")


def test_format_unusual_for_kind_needs_review(scan):
    result = scan(b"# Just notes\n", filename="notes.md", kind="weights")
    assert result.verdict == "needs_review"
    assert "format.unexpected_for_kind" in codes(result)


def test_zip_members_are_classified_by_content(scan):
    # A protocol 0 pickle called model.bin inside a zip is still a pickle and still scanned.
    content = builders.zip_of({"model.bin": builders.global_call("os", "system", "id", protocol=0)})
    result = scan(content, filename="bundle.zip", kind="weights")
    assert result.verdict == "rejected"
    message = finding(result, "pickle.dangerous_global").message
    assert "os.system" in message and "model.bin" in message


def test_stored_and_deflated_members_are_both_scanned(scan):
    for compression in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        content = builders.zip_of({"w/x.pkl": builders.os_system_pickle(4)}, compression=compression)
        assert scan(content, filename="b.zip").verdict == "rejected"


def test_other_protobufs_are_not_taken_for_onnx(scan):
    # A TensorFlow saved_model.pb opens like an ONNX model (a small varint in field 1) but has no graph field.
    saved_model = b"\x08\x01\x12\x0a" + b"\x0a\x08metagrph"
    result = scan(saved_model, filename="saved_model.pb", kind="other")
    assert result.format == "unknown"
