"""Client file names, read only as a hint of the intended format (the upload layer, registry.uploads, refuses
unsafe names before anything is stored)."""

from __future__ import annotations

import posixpath

# What each extension promises. An extension outside this table promises nothing (".bin" is used for
# anything); one inside it that the content contradicts rejects the file.
EXTENSION_FORMATS: dict[str, frozenset[str]] = {
    ".safetensors": frozenset({"safetensors"}),
    ".pt": frozenset({"pytorch_zip", "pickle"}),
    ".pth": frozenset({"pytorch_zip", "pickle"}),
    ".ckpt": frozenset({"pytorch_zip", "pickle"}),
    ".pkl": frozenset({"pickle", "joblib", "pytorch_zip"}),
    ".pickle": frozenset({"pickle", "joblib", "pytorch_zip"}),
    ".joblib": frozenset({"joblib", "pickle", "gzip"}),
    ".npy": frozenset({"npy"}),
    ".npz": frozenset({"npz"}),
    ".onnx": frozenset({"onnx"}),
    ".keras": frozenset({"keras_zip"}),
    ".h5": frozenset({"hdf5"}),
    ".hdf5": frozenset({"hdf5"}),
    ".hdf": frozenset({"hdf5"}),
    ".gguf": frozenset({"gguf"}),
    ".zip": frozenset({"zip", "pytorch_zip", "npz", "keras_zip"}),
    ".tar": frozenset({"tar"}),
    ".gz": frozenset({"gzip"}),
    ".tgz": frozenset({"gzip"}),
    ".7z": frozenset({"7z"}),
    ".json": frozenset({"json"}),
    ".jsonl": frozenset({"json"}),
    ".yaml": frozenset({"yaml"}),
    ".yml": frozenset({"yaml"}),
    ".md": frozenset({"markdown"}),
    ".markdown": frozenset({"markdown"}),
    ".txt": frozenset({"text"}),
    ".csv": frozenset({"text"}),
    ".tsv": frozenset({"text"}),
    ".pdf": frozenset({"pdf"}),
}


def extension_of(name: str) -> str:
    """The lower-cased last extension of a (member) name: "weights/Model.PT" -> ".pt"; "README" -> ""."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, extension = posixpath.splitext(base)
    return extension.lower() if stem else ""
