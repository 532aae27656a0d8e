#!/usr/bin/env python3
"""Verify an Arbiter audit export (JSON Lines) offline, with the Python standard library only.

    python3 verify_audit_export.py arbiter-audit-1-5000.jsonl [--prev-hash HEX]

Each line is one event. The script recomputes every event's SHA-256 over its canonical form (every field but
`hash`, keys sorted, no whitespace, UTF-8; see docs/audit.md), checks that sequence numbers are contiguous
and that each `prev_hash` is the previous event's `hash`. The first event must chain from the genesis value
(64 zeros) when it is #1; otherwise from --prev-hash if given (for example a checkpoint's hash), or it is
taken on trust. Prints OK and the head, or the first broken sequence number and why; exits 1 when broken.
"""

import argparse
import hashlib
import json
import sys

GENESIS_HASH = "0" * 64


def canonical(event):
    fields = {key: value for key, value in event.items() if key != "hash"}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def verify(lines, prev_hash=None):
    expected_seq, count, head = None, 0, None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError as exc:
            return False, f"line {number} is not JSON: {exc}"
        seq = event.get("seq")
        if expected_seq is None:
            expected_seq = seq
            if seq == 1:
                prev_hash = GENESIS_HASH
        if seq != expected_seq:
            if isinstance(seq, int) and seq > expected_seq:
                return False, f"BROKEN at #{expected_seq}: gap, events #{expected_seq} to #{seq - 1} are missing"
            return False, f"BROKEN at #{seq}: out of order, #{seq} appears after #{expected_seq - 1}"
        if hashlib.sha256(canonical(event)).hexdigest() != event.get("hash"):
            return False, f"BROKEN at #{seq}: hash mismatch, the event's fields differ from what was recorded"
        if prev_hash is not None and event.get("prev_hash") != prev_hash:
            return False, f"BROKEN at #{seq}: chain break, prev_hash is not the previous event's hash"
        prev_hash, head, expected_seq, count = event["hash"], seq, seq + 1, count + 1
    if count == 0:
        return False, "the export holds no events"
    return True, f"OK: {count} events verified, head #{head} {prev_hash}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", help="a JSON Lines export of a contiguous range of events")
    parser.add_argument("--prev-hash", help="the hash of the event before the first one in the file")
    args = parser.parse_args(argv)
    with open(args.export, encoding="utf-8") as handle:
        ok, message = verify(handle, args.prev_hash)
    print(message)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
