"""Scan throughput and memory of `registry.validators.scan_file` against plain hashlib on the same files.

    .venv/bin/python bench/validators.py                  # 1 GiB safetensors, 256 MiB PyTorch zip, 3 rounds
    .venv/bin/python bench/validators.py --rounds 5 --keep

Generates under /tmp (or --dir) a 1 GiB safetensors file and a 256 MiB PyTorch zip checkpoint (a state-dict
pickle plus raw tensor storages, as torch.save writes them), then alternates, round by round, a plain
`hashlib.sha256` pass (4 MiB `readinto` into a reused buffer) and `scan_file` over each file, each in a fresh
interpreter (with the scanner libraries already imported, as in a long-running worker) so its peak RSS can be
isolated. Prints the best MB/s of each, their ratio, and the peak RSS growth
of the scan (peak resident memory during the scan minus resident memory just before it). The files stay in
the page cache across rounds, so both sides measure CPU, not the disk. Target: safetensors scan >= 80% of
hashlib; RSS growth far below file size (flat as files grow).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import struct
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MiB = 1024 * 1024
GiB = 1024 * MiB


def make_safetensors(path: Path, size: int) -> None:
    tensor_bytes = 16 * MiB
    count = size // tensor_bytes
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    for i in range(count):
        elements = tensor_bytes // 4
        header[f"layers.{i}.weight"] = {
            "dtype": "F32",
            "shape": [elements // 1024, 1024],
            "data_offsets": [i * tensor_bytes, (i + 1) * tensor_bytes],
        }
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    block = os.urandom(tensor_bytes)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(raw)) + raw)
        for _ in range(count):
            out.write(block)


def make_torch_zip(path: Path, size: int) -> None:
    """torch.save(state_dict) layout: archive/data.pkl (protocol 2) and one raw storage per tensor."""
    storage_bytes = 8 * MiB
    count = size // storage_bytes
    pickled = bytearray(b"\x80\x02ccollections\nOrderedDict\n)R(")
    for i in range(count):
        numel = storage_bytes // 4
        pickled += _str(f"layers.{i}.weight") + b"ctorch._utils\n_rebuild_tensor_v2\n(("
        pickled += _str("storage") + b"ctorch\nFloatStorage\n" + _str(str(i)) + _str("cpu")
        pickled += b"J" + struct.pack("<i", numel) + b"tQK\x00J" + struct.pack("<i", numel) + b"\x85K\x01\x85\x89"
        pickled += b"ccollections\nOrderedDict\n)RtR"
    pickled += b"u."
    block = os.urandom(storage_bytes)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", bytes(pickled))
        archive.writestr("archive/byteorder", b"little")
        for i in range(count):
            with archive.open(f"archive/data/{i}", "w") as member:
                member.write(block)
        archive.writestr("archive/version", b"3\n")


def _str(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def _status(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # resets VmHWM, the peak resident set, to the current one
    except OSError:
        pass


def _hashlib(path: str) -> None:
    digest = hashlib.sha256()
    buffer = bytearray(4 * MiB)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as raw:
        while n := raw.readinto(buffer):
            digest.update(view[:n])


def _scan(path: str, filename: str) -> None:
    from registry.validators import scan_file

    result = scan_file(path, filename=filename, kind="weights")
    if result.verdict != "valid":
        raise SystemExit(f"unexpected verdict {result.verdict}: {[f.as_dict() for f in result.findings]}")


def _measure(task: str, path: str, filename: str, queue) -> None:
    # Imports are not part of the measurement: a worker loads the scanners once, not per file.
    import fickling.analysis  # noqa: F401
    import picklescan.scanner  # noqa: F401

    import registry.validators  # noqa: F401

    _reset_peak()
    before = _status("VmRSS")
    start = time.perf_counter()
    if task == "hashlib":
        _hashlib(path)
    else:
        _scan(path, filename)
    elapsed = time.perf_counter() - start
    queue.put((elapsed, max(0, _status("VmHWM") - before)))


def run(task: str, path: Path, filename: str) -> tuple[float, int]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_measure, args=(task, str(path), filename, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", default="/tmp/arbiter-bench-validators")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--safetensors-size", type=int, default=1 * GiB)
    parser.add_argument("--torch-size", type=int, default=256 * MiB)
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()

    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    files = [
        ("model.safetensors", directory / "model.safetensors", make_safetensors, args.safetensors_size),
        ("model.pt", directory / "model.pt", make_torch_zip, args.torch_size),
    ]
    for _, path, make, size in files:
        if not path.exists() or path.stat().st_size < size:
            print(f"generating {path} ...", flush=True)
            make(path, size)

    print(f"{'file':<20}{'size':>10}{'hashlib MB/s':>15}{'scan MB/s':>12}{'scan/hashlib':>14}{'scan RSS growth':>18}")
    for filename, path, _, _ in files:
        size = path.stat().st_size
        best = {"hashlib": float("inf"), "scan": float("inf")}
        growth = 0
        for _ in range(args.rounds):
            for task in ("hashlib", "scan"):
                elapsed, peak = run(task, path, filename)
                best[task] = min(best[task], elapsed)
                if task == "scan":
                    growth = max(growth, peak)
        hashlib_rate = size / best["hashlib"] / 1e6
        scan_rate = size / best["scan"] / 1e6
        ratio = scan_rate / hashlib_rate
        print(
            f"{filename:<20}{size / MiB:>8.0f}Mi{hashlib_rate:>15.0f}{scan_rate:>12.0f}{ratio:>13.0%}"
            f"{growth / MiB:>15.1f} MiB",
            flush=True,
        )
    if not args.keep:
        for _, path, _, _ in files:
            path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
