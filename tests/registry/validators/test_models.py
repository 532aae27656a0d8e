"""ONNX, Keras (.keras and .h5), HDF5 and GGUF: parsed and checked, never loaded as models."""

from __future__ import annotations

import json
import struct

import pytest

from . import builders
from .conftest import codes, finding

# --- ONNX ------------------------------------------------------------------------------------------------


def test_onnx_with_external_data_escaping_the_directory(scan):
    result = scan(builders.onnx_model(external_location="../../etc/passwd"), filename="model.onnx")
    assert (result.format, result.verdict) == ("onnx", "rejected")
    message = finding(result, "onnx.external_data_path").message
    assert "../../etc/passwd" in message and "'..'" in message
    assert "onnx" in result.scanners


@pytest.mark.parametrize("location", ["/etc/passwd", "C:\\weights.bin", "..\\weights.bin"])
def test_onnx_external_data_with_absolute_or_backslash_paths(scan, location):
    result = scan(builders.onnx_model(external_location=location), filename="model.onnx")
    assert "onnx.external_data_path" in codes(result)


def test_single_onnx_file_may_not_refer_to_any_external_file(scan):
    result = scan(builders.onnx_model(external_location="weights.bin"), filename="model.onnx")
    assert result.verdict == "rejected"
    assert "weights.bin" in finding(result, "onnx.external_data").message


def test_onnx_in_an_archive_may_use_a_sibling_member(scan):
    bundle = builders.zip_of({"m/model.onnx": builders.onnx_model(external_location="w.bin"), "m/w.bin": bytes(8)})
    result = scan(bundle, filename="bundle.zip", kind="other")
    assert "onnx.external_data" not in codes(result)
    missing = builders.zip_of({"m/model.onnx": builders.onnx_model(external_location="other.bin")})
    assert "onnx.external_data" in codes(scan(missing, filename="bundle.zip", kind="other"))


def test_onnx_that_fails_the_checker(scan):
    result = scan(builders.onnx_model(broken=True), filename="model.onnx")
    assert (result.format, result.verdict) == ("onnx", "rejected")
    assert "topologically sorted" in finding(result, "onnx.checker_failed").message


def test_onnx_that_does_not_parse(scan):
    result = scan(b"\x08\x07" + b"\xff" * 40, filename="model.onnx")
    assert (result.format, result.verdict) == ("onnx", "rejected")
    assert "onnx.parse_error" in codes(result)


def test_onnx_custom_operator_domain_needs_review(scan):
    result = scan(builders.onnx_model(domain="com.example.ops"), filename="model.onnx")
    assert "com.example.ops" in finding(result, "onnx.custom_domain").message
    assert result.verdict in ("needs_review", "rejected")  # the checker may also object to the unknown op


# --- Keras and HDF5 --------------------------------------------------------------------------------------


def test_keras_zip_with_a_lambda_layer(scan, tmp_path):
    result = scan(builders.keras_zip(tmp_path, with_lambda=True), filename="model.keras")
    assert (result.format, result.verdict) == ("keras_zip", "rejected")
    assert "'evil'" in finding(result, "keras.lambda_layer").message


def test_keras_zip_with_a_class_from_outside_keras(scan, tmp_path):
    result = scan(builders.keras_zip(tmp_path, module="my_package.layers"), filename="model.keras")
    assert result.verdict == "rejected"
    assert "my_package.layers.Dense" in finding(result, "keras.disallowed_module").message


def test_keras_tf_op_lambda_outside_the_allow_list(scan, tmp_path):
    config = builders.keras_config()
    config["config"]["layers"].append(
        {"class_name": "TFOpLambda", "config": {"name": "w", "function": "io.write_file"}}
    )
    config["config"]["layers"].append({"class_name": "TFOpLambda", "config": {"name": "a", "function": "math.add"}})
    weights = tmp_path / "w.h5"
    builders.hdf5_file(weights)
    bundle = builders.zip_of({"config.json": json.dumps(config).encode(), "model.weights.h5": weights.read_bytes()})
    result = scan(bundle, filename="model.keras")
    assert "io.write_file" in finding(result, "keras.disallowed_function").message
    assert "math.add" not in finding(result, "keras.disallowed_function").message


def test_h5_model_config_with_a_lambda_layer(scan, tmp_path):
    path = tmp_path / "model.h5"
    builders.hdf5_file(path, model_config=builders.keras_config(with_lambda=True))
    result = scan(path.read_bytes(), filename="model.h5")
    assert (result.format, result.verdict) == ("hdf5", "rejected")
    assert "keras.lambda_layer" in codes(result)


def test_hdf5_with_an_external_link(scan, tmp_path):
    path = tmp_path / "model.h5"
    builders.hdf5_file(path, external_link=True)
    result = scan(path.read_bytes(), filename="model.h5")
    assert (result.format, result.verdict) == ("hdf5", "rejected")
    assert "/etc/passwd" in finding(result, "hdf5.external_link").message


def test_hdf5_virtual_dataset_and_external_storage(scan, tmp_path):
    import h5py
    import numpy as np

    path = tmp_path / "v.h5"
    with h5py.File(path, "w") as handle:
        layout = h5py.VirtualLayout(shape=(3,), dtype="i8")
        layout[:] = h5py.VirtualSource("/etc/other.h5", "data", shape=(3,))
        handle.create_virtual_dataset("virtual", layout)
        handle.create_dataset("raw", shape=(4,), dtype="u1", external=[("/etc/hostname", 0, 4)])
        handle["fine"] = np.zeros(3)
    result = scan(path.read_bytes(), filename="v.h5", kind="other")
    assert {"hdf5.virtual_dataset", "hdf5.external_storage"} <= codes(result)


def test_hdf5_inside_a_keras_zip_is_checked_too(scan, tmp_path):
    weights = tmp_path / "w.h5"
    builders.hdf5_file(weights, external_link=True)
    bundle = builders.zip_of(
        {"config.json": json.dumps(builders.keras_config()).encode(), "model.weights.h5": weights.read_bytes()}
    )
    result = scan(bundle, filename="model.keras")
    assert "model.weights.h5" in finding(result, "hdf5.external_link").message


def test_truncated_hdf5_is_rejected(scan, tmp_path):
    path = tmp_path / "model.h5"
    builders.hdf5_file(path)
    result = scan(path.read_bytes()[:1000], filename="model.h5")
    assert (result.format, result.verdict) == ("hdf5", "rejected")
    assert "hdf5.unreadable" in codes(result)


# --- GGUF ------------------------------------------------------------------------------------------------


def test_gguf_clean_and_broken(scan):
    assert scan(builders.gguf(), filename="m.gguf").verdict == "valid"
    truncated = builders.gguf()[:-64]
    assert "gguf.truncated" in codes(scan(truncated, filename="m.gguf"))
    lying = bytearray(builders.gguf())
    lying[8:16] = struct.pack("<Q", 10**12)  # tensor count
    assert "gguf.malformed" in codes(scan(bytes(lying), filename="m.gguf"))


@pytest.mark.parametrize(
    ("template", "named"),
    [
        (builders.CVE_2024_34359_TEMPLATE, "__subclasses__"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "__mro__"),
        ("{{ cycler.__init__.__globals__.os.popen('id').read() }}", "__globals__"),
        ("{{ lipsum['__globals__']['__builtins__']['__import__']('os') }}", "__import__"),
        ("{{ namespace|attr('__init__')|attr('__globals__') }}", "__globals__"),
        ("{{ messages|attr('_' * 2 ~ 'class' ~ '_' * 2) }}", "attr(<computed name>)"),
        ("{{ '{0.__class__.__base__}'.format(messages) }}", "__class__"),
        ("{{ __builtins__ }}", "__builtins__"),
        ("{% set g = range(3)|map('upper') %}{{ g.gi_frame.f_back.f_globals }}", "f_globals"),
        ("{{ x.__class__ }}{% if %}", "__class__"),  # not even valid Jinja: the text still shows the escape
    ],
)
def test_gguf_chat_template_reaching_python_internals_is_rejected(scan, template, named):
    result = scan(builders.gguf(template=template), filename="m.gguf")
    assert result.verdict == "rejected"
    message = finding(result, "gguf.chat_template_escape").message
    assert named in message and "CVE-2024-34359" in message


@pytest.mark.parametrize(
    "template",
    [
        "{% import 'macros.j2' as m %}{{ m.turn(messages) }}",
        "{{ messages[0]['content'] ~ ' exec(' }}",
        "{% for message in messages %}{{ message.content }}{% endfor",  # not valid Jinja
    ],
)
def test_gguf_chat_template_that_is_merely_unusual_needs_review(scan, template):
    result = scan(builders.gguf(template=template), filename="m.gguf")
    assert result.verdict == "needs_review"
    assert codes(result) == {"gguf.suspicious_chat_template"}


def test_gguf_with_an_ordinary_chat_template_is_valid(scan):
    result = scan(builders.gguf(template=builders.CHATML_TEMPLATE), filename="m.gguf")
    assert (result.verdict, result.findings) == ("valid", ())


def test_onnx_in_a_compressed_tar_may_use_a_sibling_stored_after_it(scan):
    import gzip

    bundle = builders.tar_of([("m/model.onnx", builders.onnx_model(external_location="w.bin")), ("m/w.bin", bytes(8))])
    for content, name in ((bundle, "m.tar"), (gzip.compress(bundle), "m.tar.gz")):
        result = scan(content, filename=name, kind="other")
        assert "onnx.external_data" not in codes(result), [f.as_dict() for f in result.findings]


def test_gguf_chat_template_too_long_to_inspect_is_rejected(scan):
    template = "{{ messages[0]['content'] }}" + " " * (1024 * 1024)
    result = scan(builders.gguf(template=template), filename="m.gguf")
    assert result.verdict == "rejected"
    assert "was not inspected" in finding(result, "gguf.chat_template_too_large").message
