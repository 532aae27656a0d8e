"""Builders for the files the validator tests scan, all generated here (no torch, keras or sklearn needed)."""

from __future__ import annotations

import gzip
import io
import json
import os
import pickle
import struct
import tarfile
import zipfile
import zlib

# --- pickles -------------------------------------------------------------------------------------------


class Calls:
    """Pickles to a call of `func(*args)`; with os.system that is the classic payload."""

    def __init__(self, func, *args):
        self.func = func
        self.args = args

    def __reduce__(self):
        return self.func, self.args


def os_system_pickle(protocol: int, command: str = "echo pwned") -> bytes:
    """What pickle.dumps writes for os.system on this platform (posix.system)."""
    return pickle.dumps(Calls(os.system, command), protocol=protocol)


def global_call(module: str, name: str, arg: str = "x", *, protocol: int = 2) -> bytes:
    """A pickle that imports module.name and calls it with one string, written by hand."""
    if protocol >= 4:
        load = _unicode(module) + b"\x94" + _unicode(name) + b"\x94\x93"
        return b"\x80" + bytes([protocol]) + load + _unicode(arg) + b"\x85R."
    if protocol >= 2:
        return b"\x80\x02" + _global(module, name) + _str(arg) + b"\x85R."
    return b"c" + f"{module}\n{name}\n".encode() + b"(S'" + arg.encode() + b"'\ntR."


def _unicode(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def _global(module: str, name: str) -> bytes:
    return b"c" + f"{module}\n{name}\n".encode()


def _str(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def _int(value: int) -> bytes:
    return b"K" + bytes([value]) if value < 256 else b"J" + struct.pack("<i", value)


def torch_state_dict_pickle(tensors: dict[str, int], *, extra: bytes = b"") -> bytes:
    """data.pkl of torch.save(state_dict): protocol 2, OrderedDict of _rebuild_tensor_v2 over persistent storages.

    `tensors` maps names to element counts (float32); storage keys are "0", "1", ... in order.
    """
    out = bytearray(b"\x80\x02" + _global("collections", "OrderedDict") + b")R(")
    for key, (name, numel) in enumerate(tensors.items()):
        out += _str(name) + _global("torch._utils", "_rebuild_tensor_v2")
        out += b"((" + _str("storage") + _global("torch", "FloatStorage") + _str(str(key)) + _str("cpu")
        out += _int(numel) + b"tQ"  # persistent id tuple, BINPERSID
        out += _int(0) + _int(numel) + b"\x85" + _int(1) + b"\x85" + b"\x89"
        out += _global("collections", "OrderedDict") + b")Rt" + b"R"
    out += b"u" + extra + b"."
    return bytes(out)


def sklearn_like_pickle() -> bytes:
    """An estimator the way protocol 2 writes it: NEWOBJ of the class, then its __dict__ through BUILD."""
    cls = _global("sklearn.linear_model._logistic", "LogisticRegression")
    state = b"}(" + _str("C") + b"G" + struct.pack(">d", 1.0) + _str("max_iter") + _int(100) + b"u"
    return b"\x80\x02" + cls + b")\x81" + state + b"b."


# --- PyTorch zip checkpoints ---------------------------------------------------------------------------


def torch_zip(data_pkl: bytes, storages: dict[str, bytes] | None = None, *, prefix: str = "archive") -> bytes:
    """A torch.save zip checkpoint: stored entries, data.pkl, raw storages under data/, a version record."""
    storages = {"0": b"\x00" * 16} if storages is None else storages
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{prefix}/data.pkl", data_pkl)
        archive.writestr(f"{prefix}/byteorder", b"little")
        for key, raw in storages.items():
            archive.writestr(f"{prefix}/data/{key}", raw)
        archive.writestr(f"{prefix}/version", b"3\n")
        archive.writestr(f"{prefix}/.data/serialization_id", b"1234567890")
    return buffer.getvalue()


def clean_torch_zip() -> bytes:
    return torch_zip(torch_state_dict_pickle({"weight": 4, "bias": 2}), {"0": b"\x00" * 16, "1": b"\x00" * 8})


# --- safetensors -----------------------------------------------------------------------------------------


def safetensors(tensors: dict[str, tuple[str, list[int], bytes]], metadata: dict | None = None) -> bytes:
    """A well-formed safetensors file from name -> (dtype, shape, raw bytes)."""
    header: dict[str, object] = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset = 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    return safetensors_raw(json.dumps(header).encode(), b"".join(raw for _, _, raw in tensors.values()))


def safetensors_raw(header: bytes, data: bytes, *, length: int | None = None) -> bytes:
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header) if length is None else length) + header + data


def clean_safetensors() -> bytes:
    return safetensors(
        {"weight": ("F32", [2, 2], b"\x00" * 16), "bias": ("F16", [2], b"\x00" * 4)},
        metadata={"format": "pt"},
    )


# --- NumPy -----------------------------------------------------------------------------------------------


def npy(descr: str, shape: tuple, data: bytes) -> bytes:
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data


def npz(members: dict[str, bytes]) -> bytes:
    return zip_of(members, compression=zipfile.ZIP_DEFLATED)


# --- archives ----------------------------------------------------------------------------------------------


def zip_of(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def zip_with_info(infos: list[tuple[zipfile.ZipInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for info, data in infos:
            archive.writestr(info, data)
    return buffer.getvalue()


def zip_with_bad_crc(members: dict[str, bytes], *, compression: int = zipfile.ZIP_STORED) -> bytes:
    """A well-formed ZIP whose every member's recorded CRC-32 (local header and central directory alike) is off
    by one bit: the bytes are intact, the checksum says they are not."""
    content = zip_of(members, compression=compression)
    for data in members.values():
        crc = struct.pack("<I", zlib.crc32(data))
        assert content.count(crc) == 2, "the CRC must appear exactly in the local header and the directory"
        content = content.replace(crc, struct.pack("<I", zlib.crc32(data) ^ 1))
    return content


def tar_with_bad_header_checksum(members: list[tuple[str, bytes]], *, entry: int) -> bytes:
    """A tar archive whose `entry`-th header (0-based) has one name byte changed, so its checksum no longer adds
    up. Every member's data must fit in one 512-byte block."""
    content = bytearray(tar_of(members))
    assert all(len(data) <= 512 for _, data in members)
    content[entry * 1024 + 1] ^= 0x01
    return bytes(content)


def gzip_with_bad_crc(data: bytes) -> bytes:
    """A gzip stream whose trailer CRC-32 does not match the bytes it decompresses to."""
    content = bytearray(gzip.compress(data, mtime=0))
    struct.pack_into("<I", content, len(content) - 8, zlib.crc32(data) ^ 1)
    return bytes(content)


def tar_of(members: list[tarfile.TarInfo | tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                archive.addfile(member)
            else:
                name, data = member
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def seven_zip(
    members: dict[str, bytes], *, rename: tuple[str, str] | None = None, corrupt: tuple[bytes, bytes] | None = None
) -> bytes:
    """A 7z archive. `rename` swaps one member name for another of the same length after writing (py7zr
    refuses to write names like "../x"), patching the plain header and its checksums. `corrupt` replaces
    stored (uncompressed) member bytes with others of the same length, leaving the recorded CRCs as they were."""
    import py7zr

    buffer = io.BytesIO()
    filters = [{"id": py7zr.FILTER_COPY}] if corrupt is not None else None
    with py7zr.SevenZipFile(buffer, "w", filters=filters) as archive:
        archive.set_encoded_header_mode(False)
        for name, data in members.items():
            archive.writestr(data, name)
    content = bytearray(buffer.getvalue())
    if rename is not None:
        old, new = (n.encode("utf-16-le") for n in rename)
        assert len(old) == len(new)
        next_offset, next_size = struct.unpack("<QQ", content[12:28])
        start = 32 + next_offset
        header = bytes(content[start : start + next_size]).replace(old, new)
        content[start : start + next_size] = header
        struct.pack_into("<I", content, 28, zlib.crc32(header))
        struct.pack_into("<I", content, 8, zlib.crc32(bytes(content[12:32])))
    if corrupt is not None:
        old_bytes, new_bytes = corrupt
        assert len(old_bytes) == len(new_bytes) and content.count(old_bytes) == 1
        content = bytearray(bytes(content).replace(old_bytes, new_bytes))
    return bytes(content)


# --- models ----------------------------------------------------------------------------------------------


def onnx_model(*, external_location: str | None = None, broken: bool = False, domain: str = "") -> bytes:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [2])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2])
    weight = numpy_helper.from_array(np.ones(2, dtype=np.float32), "W")
    if external_location is not None:
        weight.ClearField("raw_data")
        weight.data_location = TensorProto.EXTERNAL
        entry = weight.external_data.add()
        entry.key, entry.value = "location", external_location
    inputs = ["X", "Q"] if broken else ["X", "W"]
    node = helper.make_node("Add", inputs, ["Y"], domain=domain)
    graph = helper.make_graph([node], "g", [x], [y], initializer=[weight])
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    model = helper.make_model(graph, opset_imports=opsets)
    return onnx.ModelProto.SerializeToString(model)


def keras_config(*, with_lambda: bool = False, module: str = "keras.layers") -> dict:
    layers = [
        {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [None, 4], "name": "in"}},
        {
            "module": module,
            "class_name": "Dense",
            "config": {"name": "dense", "units": 3, "activation": "relu"},
            "registered_name": None,
        },
    ]
    if with_lambda:
        code = {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA", "defaults": None, "closure": None}}
        layers.append({"module": "keras.layers", "class_name": "Lambda", "config": {"name": "evil", "function": code}})
    return {"module": "keras", "class_name": "Sequential", "config": {"name": "seq", "layers": layers}}


def hdf5_file(path, *, external_link: bool = False, model_config: dict | None = None) -> None:
    import h5py
    import numpy as np

    with h5py.File(path, "w") as handle:
        handle["layer/kernel"] = np.zeros((4, 3), dtype=np.float32)
        if external_link:
            handle["leak"] = h5py.ExternalLink("/etc/passwd", "/")
        if model_config is not None:
            handle.attrs["model_config"] = json.dumps(model_config)


def keras_zip(tmp_path, *, with_lambda: bool = False, module: str = "keras.layers") -> bytes:
    weights = tmp_path / "weights.h5"
    hdf5_file(weights)
    return zip_of(
        {
            "metadata.json": json.dumps({"keras_version": "3.15.1"}).encode(),
            "config.json": json.dumps(keras_config(with_lambda=with_lambda, module=module)).encode(),
            "model.weights.h5": weights.read_bytes(),
        },
        compression=zipfile.ZIP_STORED,
    )


def gguf(
    *, tensors: list[tuple[str, list[int], int]] | None = None, template: str | None = None, data: bytes | None = None
) -> bytes:
    """GGUF v3: metadata (architecture, optional chat template), tensor infos, 32-byte aligned data."""
    tensors = [("w", [32], 0)] if tensors is None else tensors  # F32, 32 elements

    def string(text: str) -> bytes:
        raw = text.encode()
        return struct.pack("<Q", len(raw)) + raw

    kv = [(string("general.architecture"), 8, string("llama"))]
    if template is not None:
        kv.append((string("tokenizer.chat_template"), 8, string(template)))
    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv)))
    for key, kind, value in kv:
        out += key + struct.pack("<I", kind) + value
    offset = 0
    sizes = {0: 4, 1: 2}
    for name, shape, kind in tensors:
        out += string(name) + struct.pack("<I", len(shape)) + b"".join(struct.pack("<Q", n) for n in shape)
        out += struct.pack("<IQ", kind, offset)
        count = 1
        for n in shape:
            count *= n
        offset += -(-count * sizes.get(kind, 1) // 32) * 32
    out += b"\x00" * (-len(out) % 32)
    out += b"\x00" * offset if data is None else data
    return bytes(out)


# The proof of concept published with CVE-2024-34359 (llama-cpp-python rendered GGUF chat templates unsandboxed).
CVE_2024_34359_TEMPLATE = (
    '{% for x in ().__class__.__base__.__subclasses__() %}{% if "warning" in x.__name__ %}'
    "{{ x()._module.__builtins__['__import__']('os').popen(\"touch /tmp/retr0reg\") }}{% endif %}{% endfor %}"
)
# A ChatML template as shipped in GGUF files: loops, conditions, filters, loop controls; nothing internal.
CHATML_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'system' and loop.first %}{% continue %}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] | trim + '<|im_end|>' + '\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def pdf(body: bytes = b"") -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R " + body + b">> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )


def joblib_arrays(arrays: dict[str, bytes], *, payload_after: bytes = b"", aligned: bool = True) -> bytes:
    """What joblib.dump writes for a dict of int64 arrays (protocol 4, uncompressed): each array is a pickled
    NumpyArrayWrapper followed by a padding byte, padding to 16-byte alignment, then the raw array bytes.

    `payload_after` is spliced into the stream before STOP (to hide something after the array data). Without
    `aligned`, the wrapper says numpy_array_alignment_bytes=None and the array bytes follow BUILD directly (as
    joblib writes to unseekable files).
    """
    out = bytearray(b"\x80\x04}\x94")
    for name, raw in arrays.items():
        out += _unicode(name) + b"\x94"
        out += _unicode("joblib.numpy_pickle") + b"\x94" + _unicode("NumpyArrayWrapper") + b"\x94\x93\x94"
        out += b")\x81\x94}\x94("
        out += _unicode("subclass") + b"\x94" + _unicode("numpy") + b"\x94" + _unicode("ndarray") + b"\x94\x93\x94"
        out += _unicode("shape") + b"\x94" + _int(len(raw) // 8) + b"\x85\x94"
        out += _unicode("order") + b"\x94" + _unicode("C") + b"\x94"
        out += _unicode("dtype") + b"\x94" + _unicode("numpy") + b"\x94" + _unicode("dtype") + b"\x94\x93\x94"
        out += _unicode("i8") + b"\x94\x89\x88\x87\x94R\x94"
        out += b"(K\x03" + _unicode("<") + b"\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b"
        out += _unicode("allow_mmap") + b"\x94\x88"
        if aligned:
            out += _unicode("numpy_array_alignment_bytes") + b"\x94K\x10ub"
            padding = 16 - ((len(out) + 1) % 16)
            out += bytes([padding]) + b"\xff" * padding
        else:
            out += _unicode("numpy_array_alignment_bytes") + b"\x94Nub"
        out += raw
        out += b"s"
    return bytes(out + payload_after + b".")
