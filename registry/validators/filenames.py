"""Client file names: cleaned before they are stored or shown, and read only as a hint of the intended format."""

from __future__ import annotations

import posixpath
import unicodedata

MAX_FILENAME_BYTES = 255  # what common file systems allow, and what a Content-Disposition can carry safely

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


def sanitize_filename(name: str) -> str:
    """A file name safe to store and show: no directories, control or format characters, or leading dots.

    NFC-normalised, at most 255 UTF-8 bytes (the extension is kept when shortening). Raises ValueError when
    nothing usable is left.
    """
    if not isinstance(name, str):
        raise ValueError("The file name must be text.")
    name = unicodedata.normalize("NFC", name)
    # Both separators, whatever the client's platform: "C:\\Users\\x\\model.pt" and "../../model.pt" -> "model.pt".
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Control characters (Cc) and invisible format characters (Cf, such as right-to-left overrides that
    # disguise "evil\u202efdp.exe" as "evilexe.pdf") are dropped.
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    if len(name) > 1 and name[1] == ":" and name[0].isalpha():  # a drive letter without a separator: "C:model.pt"
        name = name[2:]
    name = name.strip().lstrip(".").strip().rstrip(". ")
    if not name:
        raise ValueError("The file name is empty once directories, control characters and leading dots are removed.")
    return _shorten(name)


def _shorten(name: str) -> str:
    if len(name.encode("utf-8")) <= MAX_FILENAME_BYTES:
        return name
    stem, extension = posixpath.splitext(name)
    if len(extension.encode("utf-8")) > 32:
        stem, extension = name, ""
    room = MAX_FILENAME_BYTES - len(extension.encode("utf-8"))
    stem = stem.encode("utf-8")[:room].decode("utf-8", "ignore").rstrip(". ")
    if not stem:
        raise ValueError("The file name is too long to shorten sensibly.")
    return stem + extension
