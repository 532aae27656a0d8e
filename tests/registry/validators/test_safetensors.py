"""safetensors: only the header is read, and it must describe the data exactly."""

from __future__ import annotations

import json
import struct

import pytest

from . import builders
from .conftest import codes, finding


def _header(**tensors) -> bytes:
    return json.dumps(tensors).encode()


def test_clean_file_is_valid(scan):
    result = scan(builders.clean_safetensors(), filename="model.safetensors")
    assert (result.format, result.verdict, result.findings) == ("safetensors", "valid", ())
    assert result.scanners == {"arbiter": result.scanners["arbiter"]}  # nothing else needed to read it


def test_empty_tensor_list_is_valid(scan):
    assert scan(builders.safetensors({}), filename="m.safetensors").verdict == "valid"


@pytest.mark.parametrize(
    ("content", "code"),
    [
        # header length claims more than the file holds
        (struct.pack("<Q", 10_000) + b'{"a": 1}', "safetensors.header_beyond_file"),
        # header length over the 100 MB limit
        (struct.pack("<Q", 100_000_001) + b'{"a": 1}' + bytes(64), "safetensors.header_too_large"),
        # offsets beyond the data
        (builders.safetensors_raw(_header(w={"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}), bytes(8)),
         "safetensors.truncated"),
        # overlapping tensors
        (builders.safetensors_raw(
            _header(a={"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                    b={"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}), bytes(12)),
         "safetensors.overlapping_tensors"),
        # a hole between tensors
        (builders.safetensors_raw(
            _header(a={"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                    b={"dtype": "F32", "shape": [2], "data_offsets": [12, 20]}), bytes(20)),
         "safetensors.hole"),
        # data not starting at 0
        (builders.safetensors_raw(_header(a={"dtype": "U8", "shape": [2], "data_offsets": [2, 4]}), bytes(4)),
         "safetensors.hole"),
        # wrong byte size for shape x dtype
        (builders.safetensors_raw(_header(a={"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}), bytes(8)),
         "safetensors.size_mismatch"),
        # trailing bytes after the last tensor
        (builders.safetensors_raw(_header(a={"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}), bytes(4) + b"xx"),
         "safetensors.trailing_bytes"),
        # shape whose element count overflows 64 bits
        (builders.safetensors_raw(
            _header(a={"dtype": "F32", "shape": [2**32, 2**32, 2], "data_offsets": [0, 0]}), b""),
         "safetensors.shape_overflow"),
        # unknown dtype
        (builders.safetensors_raw(_header(a={"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}), bytes(16)),
         "safetensors.unknown_dtype"),
        # __metadata__ values must be strings
        (builders.safetensors_raw(json.dumps({"__metadata__": {"epochs": 3}}).encode(), b""),
         "safetensors.metadata_not_string"),
        # not JSON
        (builders.safetensors_raw(b"{not json}", b""), "safetensors.header_not_json"),
        # not UTF-8
        (builders.safetensors_raw(b'{"\xff": 1}', b""), "safetensors.header_not_utf8"),
        # negative and non-integer offsets
        (builders.safetensors_raw(_header(a={"dtype": "U8", "shape": [1], "data_offsets": [-1, 0]}), b""),
         "safetensors.invalid_tensor"),
        (builders.safetensors_raw(_header(a={"dtype": "U8", "shape": [1.5], "data_offsets": [0, 1]}), b"x"),
         "safetensors.invalid_tensor"),
    ],
)  # fmt: skip
def test_broken_headers_are_rejected(scan, content, code):
    result = scan(content, filename="model.safetensors")
    assert (result.format, result.verdict) == ("safetensors", "rejected")
    assert code in codes(result), [f.as_dict() for f in result.findings]


def test_duplicate_keys_are_rejected(scan):
    tensor = b'{"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}'
    header = b'{"a": ' + tensor + b', "a": ' + tensor + b"}"
    result = scan(builders.safetensors_raw(header, b"x"), filename="model.safetensors")
    assert result.verdict == "rejected"
    assert "'a'" in finding(result, "safetensors.duplicate_key").message


def test_truncated_file_is_rejected_with_a_specific_message(scan):
    content = builders.safetensors({"w": ("F32", [1024], bytes(4096))})
    result = scan(content[:-100], filename="model.safetensors")
    assert result.verdict == "rejected"
    assert "truncated" in finding(result, "safetensors.truncated").message


def test_sub_byte_dtypes(scan):
    ok = builders.safetensors_raw(_header(a={"dtype": "F4", "shape": [4], "data_offsets": [0, 2]}), bytes(2))
    assert scan(ok, filename="m.safetensors").verdict == "valid"
    odd = builders.safetensors_raw(_header(a={"dtype": "F4", "shape": [3], "data_offsets": [0, 2]}), bytes(2))
    assert "safetensors.size_mismatch" in codes(scan(odd, filename="m.safetensors"))


@pytest.mark.parametrize(
    ("length", "code"),
    [
        (10_000, "safetensors.header_beyond_file"),
        (2**32, "safetensors.header_too_large"),
        (2**63, "safetensors.header_too_large"),
        (2**64 - 1, "safetensors.header_too_large"),
        (0, "safetensors.header_not_json"),
    ],
)
@pytest.mark.parametrize(("filename", "kind"), [("model.safetensors", "weights"), ("artifact", "other")])
def test_an_impossible_header_length_is_malformed_safetensors_whatever_the_name(scan, length, code, filename, kind):
    result = scan(struct.pack("<Q", length) + b'{"a": 1}' + bytes(64), filename=filename, kind=kind)
    assert (result.format, result.verdict) == ("safetensors", "rejected")
    assert codes(result) == {code}


@pytest.mark.parametrize("content", [b"function{ return 1; }\n", b"abcdefgh{}\n", b'metadata{"a": 1}\n'])
def test_text_with_a_brace_at_byte_eight_is_not_safetensors(scan, content):
    result = scan(content, filename="notes.txt", kind="documentation")
    assert result.format == "text"
