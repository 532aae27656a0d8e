"""Pickles anywhere: our opcode walk, picklescan (strict) and fickling (ML allow-list), never unpickling."""

from __future__ import annotations

import io
import os
import pickle
import pickletools
import struct
import subprocess

import pytest

from registry.validators import Limits
from registry.validators.pickle_walk import walk_pickle

from . import builders
from .conftest import codes, finding


@pytest.mark.parametrize("protocol", range(6))
def test_os_system_pickle_is_rejected_in_every_protocol(scan, protocol):
    result = scan(builders.os_system_pickle(protocol), filename="model.pt")
    assert (result.format, result.verdict) == ("pickle", "rejected")
    assert "os.system" in finding(result, "pickle.dangerous_global").message
    # Both third-party scanners flag it independently, and both are recorded.
    flagged = [f.message for f in result.findings if f.code == "pickle.scanner_flagged"]
    assert any(m.startswith("picklescan") for m in flagged) and any(m.startswith("fickling") for m in flagged)
    assert {"arbiter", "picklescan", "fickling"} <= set(result.scanners)


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_os_system_written_as_os_is_named(scan, protocol):
    result = scan(builders.global_call("os", "system", "touch /tmp/x", protocol=protocol), filename="model.pkl")
    assert result.verdict == "rejected"
    assert "imports os.system" in finding(result, "pickle.dangerous_global").message


def test_pytorch_checkpoint_whose_data_pkl_imports_subprocess(scan):
    data_pkl = builders.global_call("subprocess", "check_output", "id")
    result = scan(builders.torch_zip(data_pkl), filename="model.pt")
    assert (result.format, result.verdict) == ("pytorch_zip", "rejected")
    message = finding(result, "pickle.dangerous_global").message
    assert "subprocess.check_output" in message and "archive/data.pkl" in message


def test_clean_torch_state_dict_is_valid(scan):
    result = scan(builders.clean_torch_zip(), filename="model.pt")
    assert (result.format, result.verdict, result.findings) == ("pytorch_zip", "valid", ())


def test_legacy_torch_checkpoint_is_scanned_and_valid(scan):
    storages = struct.pack("<q", 4) + bytes(16) + struct.pack("<q", 2) + bytes(8)
    legacy = (
        pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
        + pickle.dumps(1001, protocol=2)
        + pickle.dumps({"protocol_version": 1001, "little_endian": True}, protocol=2)
        + builders.torch_state_dict_pickle({"weight": 4, "bias": 2})
        + pickle.dumps(["0", "1"], protocol=2)
        + storages
    )
    result = scan(legacy, filename="model.pth")
    assert (result.format, result.verdict) == ("pickle", "valid")
    assert "pickle.legacy_pytorch" in codes(result)


@pytest.mark.parametrize(
    ("content", "resolved"),
    [
        (b"c__builtin__\neval\n(S'1+1'\ntR.", "builtins.eval (written as __builtin__.eval)"),
        (builders.global_call("__builtin__", "eval", "1+1", protocol=2), "builtins.eval (written as __builtin__.eval)"),
        (builders.global_call("__builtin__", "getattr", "x", protocol=2), "builtins.getattr"),
        (builders.global_call("commands", "getoutput", "id", protocol=2), "subprocess.getoutput"),
        (builders.global_call("copy_reg", "_reconstructor", "x", protocol=0), None),
    ],
)
def test_python2_names_resolve_as_the_unpickler_would(scan, content, resolved):
    result = scan(content, filename="model.pkl")
    if resolved is None:  # copy_reg._reconstructor -> copyreg._reconstructor, which is allowed
        assert "pickle.dangerous_global" not in codes(result)
    else:
        assert result.verdict == "rejected"
        assert resolved in finding(result, "pickle.dangerous_global").message


def test_stack_global_operands_from_the_memo_are_resolved(scan):
    # module and name are memoised, fetched back with BINGET, and only then imported
    content = b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94h\x00h\x01\x93\x8c\x02id\x85R."
    result = scan(content, filename="model.pkl")
    assert "os.system" in finding(result, "pickle.dangerous_global").message


def test_computed_import_names_are_rejected(scan):
    # STACK_GLOBAL whose module name is the result of a call: nothing can tell what it imports without running it
    content = (
        b"\x80\x04\x8c\x08builtins\x8c\x03str\x93\x8c\x02os\x85R\x8c\x06system\x93\x8c\x02id\x85R."
    )  # fmt: skip
    result = scan(content, filename="model.pkl")
    assert result.verdict == "rejected"
    assert "pickle.unresolved_global" in codes(result)


def test_attribute_paths_through_other_modules_are_rejected(scan):
    result = scan(builders.global_call("collections", "os.system", "id", protocol=4), filename="model.pkl")
    assert result.verdict == "rejected"
    result = scan(builders.global_call("torch", "nn.Module.__init__.__globals__", "x", protocol=4), filename="m.pkl")
    assert "Python internals" in finding(result, "pickle.dangerous_global").message


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("posix", "system"),
        ("nt", "system"),
        ("subprocess", "Popen"),
        ("builtins", "exec"),
        ("builtins", "__import__"),
        ("runpy", "_run_code"),
        ("socket", "create_connection"),
        ("shutil", "rmtree"),
        ("sys", "exit"),
        ("importlib", "import_module"),
        ("webbrowser", "open"),
        ("pty", "spawn"),
        ("functools", "partial"),
        ("codecs", "decode"),
        ("operator", "attrgetter"),
        ("torch.serialization", "load"),
        ("torch", "load"),
        ("torch.storage", "_load_from_bytes"),
        ("numpy", "load"),
        ("pickle", "loads"),
        ("marshal", "loads"),
        ("types", "CodeType"),
        ("ctypes", "CDLL"),
    ],
)
def test_deny_list(scan, module, name):
    result = scan(builders.global_call(module, name, "x", protocol=2), filename="model.pkl")
    assert result.verdict == "rejected"
    assert f"{module}.{name}" in finding(result, "pickle.dangerous_global").message


def test_scikit_learn_object_needs_review_with_the_global_listed(scan):
    result = scan(builders.sklearn_like_pickle(), filename="model.pkl")
    assert (result.format, result.verdict) == ("pickle", "needs_review")
    assert "sklearn.linear_model._logistic.LogisticRegression" in finding(result, "pickle.unknown_globals").message


def test_unknown_class_inside_a_torch_checkpoint_needs_review(scan):
    extra = b"X\x05\x00\x00\x00model" + b"\x80\x02" * 0 + b"cmy_project.nets\nResNet\n)\x81}b"
    data_pkl = builders.torch_state_dict_pickle({"w": 4}).replace(b"u.", b"u" + b"(" + extra + b"u.")
    result = scan(builders.torch_zip(data_pkl, {"0": bytes(16)}), filename="model.pt")
    assert result.verdict == "needs_review"
    assert "my_project.nets.ResNet" in finding(result, "pickle.unknown_globals").message


@pytest.mark.parametrize("aligned", [True, False])
def test_joblib_arrays_are_skipped_exactly_and_clean(scan, aligned):
    arrays = {"coef": bytes(range(64)) * 3, "intercept": bytes(8)}
    result = scan(builders.joblib_arrays(arrays, aligned=aligned), filename="m.joblib")
    assert (result.format, result.verdict, result.findings) == ("joblib", "valid", ())


def test_joblib_payload_after_the_array_data_is_found(scan):
    payload = b"\x8c\x04evil\x94" + builders.global_call("os", "system", "id", protocol=4)[2:-1] + b"s"
    result = scan(builders.joblib_arrays({"coef": bytes(24)}, payload_after=payload), filename="m.joblib")
    assert result.verdict == "rejected"
    assert "os.system" in finding(result, "pickle.dangerous_global").message


def test_joblib_payload_disguised_as_array_bytes_is_found(scan):
    # joblib.load skips these bytes as array data; pickle.load would run them. Either way: rejected.
    disguised = b"cos\nsystem\n(S'id'\ntR0" + b" " * 3
    result = scan(builders.joblib_arrays({"coef": disguised}, aligned=False), filename="m.pkl")
    assert result.verdict == "rejected"
    assert "os.system" in finding(result, "pickle.dangerous_global").message


def test_data_after_the_pickle_is_rejected(scan):
    result = scan(pickle.dumps({"a": 1}, protocol=2) + b"hidden bytes", filename="model.pkl")
    assert result.verdict == "rejected"
    assert "pickle.trailing_data" in codes(result)


def test_a_second_malicious_pickle_after_a_clean_one_is_found(scan):
    result = scan(pickle.dumps({"a": 1}, protocol=2) + builders.os_system_pickle(2), filename="model.pkl")
    assert result.verdict == "rejected"
    assert "os.system" in finding(result, "pickle.dangerous_global").message


def test_truncated_pickle_is_rejected(scan):
    data = pickle.dumps({"weights": list(range(100))}, protocol=4)
    result = scan(data[: len(data) // 2], filename="model.pkl")
    assert (result.format, result.verdict) == ("pickle", "rejected")
    assert "truncated" in finding(result, "pickle.truncated").message


def test_extension_registry_imports_are_rejected(scan):
    result = scan(b"\x80\x02\x82\x01)R.", filename="model.pkl")
    assert "pickle.extension_code" in codes(result)


def test_large_payloads_are_skipped_not_loaded(scan):
    blob = pickle.dumps({"tensor": bytes(40 * 1024 * 1024)}, protocol=4)
    result = scan(blob, filename="model.pkl")
    assert (result.format, result.verdict) == ("pickle", "valid")


def test_scan_budget_exhaustion_needs_review(scan):
    result = scan(pickle.dumps(list(range(5000)), protocol=2), filename="m.pkl", limits=Limits(max_pickle_ops=100))
    assert result.verdict == "needs_review"
    assert "pickle.incomplete_scan" in codes(result)


def test_npy_object_array_needs_review_and_its_pickle_is_scanned(scan):
    clean = builders.npy("|O", (2,), pickle.dumps(["a", 1], protocol=3))
    result = scan(clean, filename="a.npy")
    assert (result.format, result.verdict) == ("npy", "needs_review")
    assert "npy.object_array" in codes(result)
    evil = builders.npy("|O", (1,), builders.os_system_pickle(3))
    result = scan(evil, filename="a.npy")
    assert result.verdict == "rejected"
    assert "os.system" in finding(result, "pickle.dangerous_global").message


def test_npz_with_a_malicious_object_array(scan):
    evil = builders.npy("|O", (1,), builders.global_call("subprocess", "run", "id", protocol=3))
    result = scan(builders.npz({"ok.npy": builders.npy("<i8", (1,), bytes(8)), "evil.npy": evil}), filename="x.npz")
    assert (result.format, result.verdict) == ("npz", "rejected")
    assert "evil.npy" in finding(result, "pickle.dangerous_global").message


@pytest.mark.parametrize(
    "obj",
    [
        {"a": [1, 2.5, "x", b"y", None, True], "b": (1, 2), "c": {1, 2}, "d": frozenset({3})},
        [bytearray(b"abc"), complex(1, 2), 10**30, -(10**30)],
        {"nested": [{"x": [i, str(i)]} for i in range(50)]},
    ],
)
@pytest.mark.parametrize("protocol", range(6))
def test_walk_agrees_with_genops(obj, protocol):
    data = pickle.dumps(obj, protocol=protocol)
    walk = walk_pickle(io.BytesIO(data), end=len(data), max_ops=10**6, skeleton_limit=10**6)
    expected = list(pickletools.genops(data))
    assert walk.stopped and walk.error is None
    assert walk.ops == len(expected)
    assert walk.end == len(data)
    globals_ = [arg for op, arg, _ in expected if op.name == "GLOBAL"]
    assert [f"{g.ref.written_module} {g.ref.written_name}" for g in walk.globals if g.opcode == "GLOBAL"] == globals_
    # The skeleton is itself a pickle that genops reads to the end.
    list(pickletools.genops(bytes(walk.skeleton)))


def test_never_unpickles(scan, tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    payload = builders.global_call("os", "system", f"touch {marker}", protocol=2)

    def refuse(*args, **kwargs):
        raise AssertionError("the scanner must not unpickle")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    scan(payload, filename="model.pkl")
    assert not marker.exists()
    subprocess.run(["true"], check=True)  # the monkeypatch did not break the process
    assert os.path.exists(tmp_path)


def test_payload_behind_a_long_harmless_protocol_0_prefix_is_found(scan):
    # A 2 MB string first: the quick probe runs out of budget before the import; the full walk does not.
    content = b"V" + b"a" * (2 * 1024 * 1024) + b"\n0" + builders.global_call("os", "system", "id", protocol=0)
    result = scan(content, filename="notes.bin", kind="documentation")
    assert result.verdict == "rejected"
    assert "os.system" in finding(result, "pickle.dangerous_global").message


def test_long_single_line_text_is_still_text(scan):
    result = scan(b"Version notes " + b"x" * (2 * 1024 * 1024) + b"\n", filename="notes", kind="documentation")
    assert (result.format, result.verdict) == ("text", "valid")


def test_pickles_too_big_for_the_third_party_scanners_need_review(scan):
    result = scan(pickle.dumps(list(range(500)), protocol=2), filename="m.pkl", limits=Limits(max_scanner_ops=50))
    assert result.verdict == "needs_review"
    assert "picklescan and fickling" in finding(result, "pickle.too_large_for_scanners").message


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (b"(S'id'\nios\nsystem\n.", "os.system"),  # INST: import and call in one protocol 0 opcode
        (b"(cos\nsystem\nS'id'\no.", "os.system"),  # OBJ: class and arguments after a MARK
        # getattr(__import__('os'), 'system') with everything fetched back from the memo
        (b"\x80\x04\x8c\x08builtins\x94\x8c\x07getattr\x94\x93\x94\x8c\x08builtins\x94\x8c\n__import__\x94\x93"
         b"\x8c\x02os\x85R\x8c\x06system\x86R\x8c\x02id\x85R.", "builtins.getattr"),
        (builders.global_call("pydoc", "locate", "os.system"), "pydoc.locate"),
        (builders.global_call("pip", "main", "install"), "pip.main"),
        (builders.global_call("numpy.testing._private.utils", "runstring", "x"), "numpy.testing._private.utils"),
        (builders.global_call("pkgutil", "resolve_name", "os:system"), "pkgutil.resolve_name"),
    ],
)  # fmt: skip
def test_known_bypass_shapes_are_caught(scan, content, named):
    result = scan(content, filename="model.pkl")
    assert result.verdict == "rejected"
    assert named in " ".join(f.message for f in result.findings if f.code == "pickle.dangerous_global")
