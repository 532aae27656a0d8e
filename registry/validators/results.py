"""What a scan returns: findings, the verdict they add up to, and the limits a scan works within."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Bump when a rule changes (a list, a limit's meaning, a new check): stored results carry it, so artifacts
# scanned under older rules can be found and scanned again.
SCANNER_VERSION = "1"

ERROR = "error"
WARNING = "warning"
INFO = "info"

VALID = "valid"
NEEDS_REVIEW = "needs_review"
REJECTED = "rejected"

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB


@dataclass(frozen=True)
class Finding:
    """One observation about a file: `error` rejects it, `warning` sends it to a human, `info` is a note."""

    severity: str
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"severity": self.severity, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class ScanResult:
    """The outcome of `scan_file`: detected format, verdict, findings, digest and the scanners that ran."""

    format: str
    verdict: str
    findings: tuple[Finding, ...]
    sha256: str
    size: int
    scanners: dict[str, str]

    def as_dict(self) -> dict:
        return {
            "format": self.format,
            "verdict": self.verdict,
            "findings": [f.as_dict() for f in self.findings],
            "sha256": self.sha256,
            "size": self.size,
            "scanners": dict(self.scanners),
        }


@dataclass(frozen=True)
class Limits:
    """Bounds that keep a hostile file from exhausting the worker. Exceeding a bound is a finding, never a crash.

    Archive bounds count bytes actually produced by decompression, never the sizes an archive declares.
    """

    chunk_size: int = 4 * MiB  # read size of the hashing pass
    max_archive_entries: int = 100_000  # per archive, and across nested archives
    max_archive_depth: int = 3  # an archive inside an archive inside an archive is the deepest allowed
    max_entry_bytes: int = 16 * GiB  # uncompressed bytes of one member
    max_total_bytes: int = 64 * GiB  # uncompressed bytes of all members, nested ones included
    max_compression_ratio: float = 200.0  # uncompressed / compressed, per member and per archive
    compression_ratio_min_bytes: int = 1 * MiB  # small members may compress well without being a bomb
    max_safetensors_header: int = 100_000_000  # the limit the safetensors library itself enforces
    max_pickle_bytes: int = 256 * MiB  # opcode bytes handed to picklescan and fickling (large payloads elided)
    max_scanner_ops: int = 1_000_000  # opcodes handed to them (fickling needs ~20 s and ~250 MB per million)
    max_pickle_ops: int = 20_000_000  # opcodes walked per file before the scan gives up undecided
    max_text_bytes: int = 64 * MiB  # JSON, YAML and PDF content parsed or searched
    max_onnx_bytes: int = 2 * GiB  # protobuf cannot hold more; bigger models need external data
    max_buffered_member_bytes: int = 64 * MiB  # members of streamed archives held in memory to inspect
    max_hdf5_objects: int = 100_000  # groups, datasets and links walked in one HDF5 file


def verdict_for(findings: Iterable[Finding]) -> str:
    """Any error rejects; otherwise any warning needs a human; otherwise the file is valid."""
    severities = {f.severity for f in findings}
    if ERROR in severities:
        return REJECTED
    if WARNING in severities:
        return NEEDS_REVIEW
    return VALID


# Every finding code a scan can produce, with what it means. Codes are stable: the UI, the API and stored
# results rely on them. (tests/registry/validators/test_scan.py checks this list against the checkers.)
FINDING_CODES: dict[str, str] = {
    # the file as a whole
    "file.empty": "The file has no bytes.",
    "file.changed": "The file changed on disk while it was being scanned.",
    "checksum.mismatch": "The SHA-256 differs from the one the client declared.",
    "checksum.invalid": "The declared SHA-256 is not 64 hexadecimal characters.",
    "format.unknown": "The content matches no known format (error for weights, config, tokenizer; else warning).",
    "format.extension_mismatch": "The file's extension promises a format its content is not.",
    "format.polyglot": "The content is valid as two formats at once.",
    "format.unexpected_for_kind": "A known format that is unusual for the artifact's kind.",
    "scan.checker_failed": "A checker raised an exception; the file fails closed.",
    "scan.resource_exhausted": "A checker ran out of memory.",
    "scan.too_deep": "Structures nested too deeply to inspect safely.",
    "scan.findings_truncated": "More findings than are listed; carries the most severe of those left out.",
    # pickles (raw, in archives, PyTorch, joblib, NumPy object arrays)
    "pickle.dangerous_global": "An import on the deny-list (runs commands, evaluates code, touches files...).",
    "pickle.unknown_globals": "Imports beyond plain tensors and arrays (scikit-learn, XGBoost, custom classes).",
    "pickle.unresolved_global": "An import whose name is computed at load time.",
    "pickle.extension_code": "An import through the copyreg extension registry.",
    "pickle.scanner_flagged": "picklescan or fickling flags the pickle as malicious.",
    "pickle.scanner_failed": "picklescan or fickling could not analyse the pickle.",
    "pickle.too_large_for_scanners": "The opcode stream is over the limit for the third-party scanners.",
    "pickle.incomplete_scan": "The walk stopped before the end (budget, or a structure it cannot size).",
    "pickle.malformed": "An opcode stream the unpickler would reject.",
    "pickle.truncated": "The pickle ends before its STOP opcode.",
    "pickle.trailing_data": "Bytes after the pickle that are not another valid pickle.",
    "pickle.legacy_pytorch": "A legacy (pre-1.6) PyTorch checkpoint; its pickles were scanned.",
    "pickle.out_of_band": "The pickle refers to protocol 5 out-of-band buffers.",
    "pytorch.data_pkl_not_pickle": "A PyTorch checkpoint whose data.pkl is not a pickle.",
    "pytorch.torchscript": "A TorchScript archive, which carries code.",
    # NumPy
    "npy.object_array": "An object array: a pickle that needs allow_pickle=True to load.",
    "npy.malformed": "A broken .npy header.",
    "npy.truncated": "Fewer data bytes than the header's shape and dtype need.",
    "npy.trailing_data": "Bytes after the array data.",
    # safetensors
    "safetensors.header_too_large": "Header length over the 100,000,000-byte limit.",
    "safetensors.header_beyond_file": "Header length larger than the file.",
    "safetensors.header_not_utf8": "Header is not UTF-8.",
    "safetensors.header_not_json": "Header is not JSON.",
    "safetensors.header_not_object": "Header is not a JSON object.",
    "safetensors.duplicate_key": "Header repeats a key.",
    "safetensors.metadata_not_string": "__metadata__ values are not all strings.",
    "safetensors.invalid_tensor": "A tensor entry without a valid dtype, shape or data_offsets.",
    "safetensors.unknown_dtype": "A dtype the format does not define.",
    "safetensors.shape_overflow": "A shape whose size overflows 64 bits.",
    "safetensors.size_mismatch": "A tensor's byte span differs from shape x dtype size.",
    "safetensors.overlapping_tensors": "Two tensors share bytes.",
    "safetensors.hole": "Unaccounted bytes between (or before) tensors.",
    "safetensors.truncated": "The file is shorter than its header describes.",
    "safetensors.trailing_bytes": "Bytes after the last tensor.",
    # ONNX
    "onnx.parse_error": "Not a parseable ONNX model.",
    "onnx.too_large": "Over the 2 GiB protobuf limit for one file.",
    "onnx.checker_failed": "onnx.checker.check_model(full_check=True) rejects the model.",
    "onnx.checker_skipped": "The checker was not run because of external-data findings.",
    "onnx.external_data": "Weights in an external file (never allowed for a single upload).",
    "onnx.external_data_path": "External data path that is absolute, uses '..' or backslashes.",
    "onnx.custom_domain": "Operators from non-standard domains.",
    # Keras and HDF5
    "keras.lambda_layer": "A Lambda layer (Python bytecode).",
    "keras.disallowed_module": "A class or function from outside Keras.",
    "keras.disallowed_function": "A TensorFlow op (TFOpLambda) outside the allow-list.",
    "keras.config_invalid": "An unreadable Keras configuration.",
    "keras.config_too_large": "A configuration too large to check.",
    "hdf5.unreadable": "Not a readable (or a damaged) HDF5 file.",
    "hdf5.external_link": "A link to another file.",
    "hdf5.virtual_dataset": "A dataset assembled from other files.",
    "hdf5.external_storage": "A dataset whose bytes live in an external file.",
    "hdf5.user_block": "HDF5 data behind a user block.",
    "hdf5.too_many_objects": "More objects than the walk's limit.",
    # GGUF
    "gguf.malformed": "A header value that runs past the file or is out of range.",
    "gguf.unsupported_version": "A GGUF version other than 2 or 3.",
    "gguf.duplicate_key": "A repeated metadata key.",
    "gguf.duplicate_tensor": "A repeated tensor name.",
    "gguf.invalid_tensor": "A tensor shape that does not fit its quantisation blocks.",
    "gguf.misaligned_tensor": "A tensor offset off the file's alignment.",
    "gguf.shape_overflow": "A shape whose element count overflows.",
    "gguf.unknown_tensor_type": "Tensor types this scanner cannot size.",
    "gguf.overlapping_tensors": "Two tensors share bytes.",
    "gguf.truncated": "Tensor data beyond the end of the file.",
    "gguf.trailing_data": "Bytes after the last tensor.",
    "gguf.suspicious_chat_template": "A chat template mentioning imports, a shell or files, or not valid Jinja.",
    "gguf.chat_template_escape": "A chat template reaching Python internals (dunders, frames): a sandbox escape.",
    "gguf.chat_template_too_large": "A chat template too long to inspect.",
    # archives and compressed streams
    "archive.truncated": "Missing central directory, end marker or data: the archive is cut short.",
    "archive.malformed": "An archive (or member) that cannot be read.",
    "archive.trailing_data": "Bytes after the end of the archive.",
    "archive.too_many_entries": "More entries than allowed (nested archives included).",
    "archive.too_deep": "Archives nested deeper than allowed.",
    "archive.entry_too_large": "A member unpacking to more bytes than allowed.",
    "archive.total_too_large": "Members unpacking to more bytes in total than allowed.",
    "archive.compression_ratio": "A member or archive expanding more than the allowed ratio.",
    "archive.size_mismatch": "A member unpacking to a size other than the one declared.",
    "archive.crc_mismatch": "Bytes not matching their recorded checksum (ZIP, gzip, 7z CRC-32; tar headers).",
    "archive.overlapping_entries": "Members sharing bytes.",
    "archive.encrypted": "An encrypted member or archive.",
    "archive.duplicate_name": "Two members with the same (normalised) name.",
    "archive.case_collision": "Two members whose names differ only in case.",
    "archive.absolute_path": "A member with an absolute path or a drive letter.",
    "archive.path_traversal": "A member name with '..'.",
    "archive.unsafe_name": "A member name that is empty or has backslashes or control characters.",
    "archive.symlink": "A symbolic link member.",
    "archive.hardlink": "A hard link member.",
    "archive.special_file": "A device, pipe or socket member.",
    "archive.sparse_entry": "A sparse tar member.",
    "archive.member_not_inspected": "A member that could not be inspected (too large in a stream, or unsupported).",
    # text and documents
    "text.not_text": "Starts like text but is not UTF-8 text throughout.",
    "json.malformed": "Not valid JSON.",
    "json.duplicate_key": "A repeated key.",
    "json.too_large": "Too large to parse.",
    "yaml.malformed": "Not valid YAML.",
    "yaml.unsafe_tag": "A !!python/ tag, which constructs objects.",
    "yaml.custom_tag": "Tags safe loaders reject.",
    "yaml.duplicate_key": "A repeated mapping key.",
    "yaml.too_large": "Too large to parse.",
    "pdf.truncated": "No %%EOF at the end.",
    "pdf.active_content": "JavaScript, launch actions or embedded files.",
    "pdf.partially_scanned": "Only the first part was searched.",
}
