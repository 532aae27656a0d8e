"""A symbolic walk over a pickle's opcodes: what the unpickler would import and call, without running any of it.

The walk decodes opcodes with the standard library's opcode table (`pickletools.opcodes`, the same table
`pickletools.genops` uses) and keeps a model of the unpickler's stack and memo, so that a STACK_GLOBAL whose
module and name come from the memo is resolved exactly as the unpickler would resolve it. Anything it cannot
resolve statically (a name computed by a call) is reported, never guessed.

Unlike `genops`, large string and bytes payloads (tensor data) are skipped rather than read into memory, so
memory stays flat however big the pickle is. The walk also produces a "skeleton": the same opcode stream with
those payloads emptied, frames dropped and protocol 5 buffers rewritten as plain bytes, which is what the
third-party scanners are given.

joblib writes NumPy array data raw into the middle of its pickle stream (and object arrays as a nested
pickle). With `joblib=True` the walk reads each `NumpyArrayWrapper`'s state, skips exactly the array bytes and
walks nested pickles, as `joblib.load` would.
"""

from __future__ import annotations

import codecs
import io
import pickletools
import struct
from dataclasses import dataclass, field
from typing import BinaryIO

from .pickle_policy import GlobalRef, is_plausible_import, resolve

OPCODES = {op.code.encode("latin-1")[0]: op for op in pickletools.opcodes}
MAX_PROTOCOL = 5
KEEP_STRING = 1024  # strings up to this length keep their value (module and attribute names live here)
ELIDE_PAYLOAD = 64 * 1024  # payloads above this are skipped and emptied in the skeleton
MAX_LINE = 64 * 1024  # text arguments of protocol 0 opcodes
MAX_NAME_LINE = 4096  # GLOBAL and INST module / name lines
CONTAINER_ITEMS = 64  # items kept per list, dict or tuple (enough for shapes, dtypes and joblib state)
MAX_NESTING = 8  # joblib object arrays inside object arrays

_BYTES_OPS = {"BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8"}
_STRING_OPS = {"BINSTRING", "SHORT_BINSTRING", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8"}
_EMPTY_STR = b"X\x00\x00\x00\x00"  # BINUNICODE ""
_EMPTY_BYTES = b"C\x00"  # SHORT_BINBYTES b""


class PickleMalformed(Exception):
    """The unpickler would stop here with an error."""

    def __init__(self, message: str, offset: int, truncated: bool = False):
        super().__init__(message)
        self.offset = offset
        self.truncated = truncated


class WalkIncomplete(Exception):
    """The walk cannot go on without guessing (or ran out of budget); what follows was not inspected."""

    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.offset = offset


class _Mark:
    def __repr__(self) -> str:
        return "MARK"


MARK = _Mark()


class Opaque:
    """A value the walk does not model (a float, bytes, a persistent id, a call's result type)."""

    __slots__ = ("what",)

    def __init__(self, what: str):
        self.what = what


FLOAT = Opaque("float")
BYTES = Opaque("bytes")
LONG_STR = Opaque("long string")


class Call:
    """The result of calling a callable (REDUCE, NEWOBJ, INST, OBJ); BUILD records the state given to it."""

    __slots__ = ("func", "args", "state")

    def __init__(self, func: object, args: object):
        self.func = func
        self.args = args
        self.state: object = None


class ListV:
    __slots__ = ("items",)

    def __init__(self, items: list | None = None):
        self.items = list(items or ())[:CONTAINER_ITEMS]

    def add(self, values: list) -> None:
        room = CONTAINER_ITEMS - len(self.items)
        if room > 0:
            self.items.extend(values[:room])


class DictV:
    __slots__ = ("pairs",)

    def __init__(self) -> None:
        self.pairs: list[tuple[object, object]] = []

    def add(self, pairs: list[tuple[object, object]]) -> None:
        room = CONTAINER_ITEMS - len(self.pairs)
        if room > 0:
            self.pairs.extend(pairs[:room])

    def get(self, key: str, default: object = None) -> object:
        found = default
        for k, v in self.pairs:
            if k == key:
                found = v  # the unpickler keeps the last value for a repeated key
        return found


_MISSING = object()


@dataclass
class GlobalUse:
    ref: GlobalRef
    opcode: str
    offset: int


@dataclass
class PickleWalk:
    """What one pickle (up to its STOP opcode) would do when loaded."""

    start: int
    end: int = 0
    proto: int = 0
    ops: int = 0
    stopped: bool = False
    result: object = None
    globals: list[GlobalUse] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)  # STACK_GLOBALs whose operands are computed
    extensions: list[int] = field(default_factory=list)  # EXT1/2/4 codes (copyreg extension registry)
    calls: int = 0
    out_of_band: bool = False
    error: PickleMalformed | None = None
    incomplete: WalkIncomplete | None = None
    skeleton: bytearray | None = None
    nested: list[PickleWalk] = field(default_factory=list)
    joblib_arrays: int = 0
    persistent_ids: int = 0
    starts_with_proto: bool = False

    def all_walks(self) -> list[PickleWalk]:
        walks = [self]
        for child in self.nested:
            walks.extend(child.all_walks())
        return walks

    def looks_like_pickle(self) -> bool:
        """Would a loader treat these bytes as a pickle that does something? (Tells protocol 0 from text.)"""
        if self.stopped or self.starts_with_proto and self.ops >= 2:
            return True  # protocols 2 to 5 open with a PROTO opcode, the closest thing pickles have to magic
        plausible = [g for g in self.globals if is_plausible_import(g.ref.written_module, g.ref.written_name)]
        return bool(plausible) and (self.calls > 0 or self.ops >= 8)


class Reader:
    """Reads opcode arguments, tracks the offset, and skips payloads without keeping them."""

    def __init__(self, stream: BinaryIO, *, start: int = 0, end: int | None = None):
        self.stream = stream
        self.pos = start
        self.end = end
        try:
            self.seekable = stream.seekable()
        except (AttributeError, ValueError):
            self.seekable = False

    def byte(self) -> int | None:
        b = self.stream.read(1)
        if not b:
            return None
        self.pos += 1
        return b[0]

    def read(self, n: int) -> bytes:
        if self.end is not None and self.pos + n > self.end:
            raise PickleMalformed("the pickle data ends in the middle of an opcode", self.pos, truncated=True)
        data = self.stream.read(n)
        if len(data) < n:
            # Some streams return short reads before the end.
            parts = [data]
            got = len(data)
            while got < n:
                more = self.stream.read(n - got)
                if not more:
                    raise PickleMalformed("the pickle data ends in the middle of an opcode", self.pos, truncated=True)
                parts.append(more)
                got += len(more)
            data = b"".join(parts)
        self.pos += n
        return data

    def skip(self, n: int) -> None:
        if self.end is not None and self.pos + n > self.end:
            raise PickleMalformed("the pickle data ends in the middle of a value", self.pos, truncated=True)
        if self.seekable and self.end is not None:
            self.stream.seek(n, io.SEEK_CUR)
            self.pos += n
            return
        left = n
        while left > 0:
            chunk = self.stream.read(min(left, 1024 * 1024))
            if not chunk:
                raise PickleMalformed("the pickle data ends in the middle of a value", self.pos, truncated=True)
            left -= len(chunk)
            self.pos += len(chunk)

    def _readline(self, limit: int) -> bytes:
        if self.end is not None:
            limit = min(limit, self.end - self.pos)
        data = self.stream.readline(limit) if limit > 0 else b""
        self.pos += len(data)
        return data

    def line(self, limit: int) -> bytes | None:
        """One newline-terminated line without its newline; None if longer than limit (the rest is skipped)."""
        data = self._readline(limit + 1)
        if data.endswith(b"\n"):
            return data[:-1]
        if len(data) <= limit:
            raise PickleMalformed("the pickle data ends in the middle of a text argument", self.pos, truncated=True)
        while True:  # too long to keep: skip to the newline
            more = self._readline(1024 * 1024)
            if not more:
                raise PickleMalformed("the pickle data ends in the middle of a text argument", self.pos, True)
            if more.endswith(b"\n"):
                return None


class PickleWalker:
    """Walks one pickle from the reader's position to its STOP opcode."""

    def __init__(
        self,
        reader: Reader,
        *,
        max_ops: int,
        skeleton_limit: int | None,
        skeleton_ops: int | None = None,
        joblib: bool = True,
        nesting: int = 0,
        persistent_load: bool = True,
    ):
        self.r = reader
        self.persistent_load = persistent_load
        self.max_ops = max_ops
        self.skeleton_limit = skeleton_limit
        self.skeleton_ops = skeleton_ops
        self.joblib = joblib
        self.nesting = nesting
        self.stack: list = []
        self.memo: dict[int, object] = {}
        self.walk = PickleWalk(start=reader.pos)
        if skeleton_limit is not None:
            self.walk.skeleton = bytearray()

    # --- entry point ------------------------------------------------------------------------------------

    def run(self) -> PickleWalk:
        walk = self.walk
        try:
            self._loop()
        except PickleMalformed as exc:
            walk.error = exc
        except WalkIncomplete as exc:
            walk.incomplete = exc
        walk.end = self.r.pos
        return walk

    def _loop(self) -> None:
        r, walk = self.r, self.walk
        while True:
            offset = r.pos
            code = r.byte()
            if code is None:
                raise PickleMalformed("the pickle data ends before its STOP opcode", offset, truncated=True)
            op = OPCODES.get(code)
            if op is None:
                raise PickleMalformed(f"byte 0x{code:02x} is not a pickle opcode", offset)
            walk.ops += 1
            if walk.ops > self.max_ops:
                raise WalkIncomplete("the pickle has more opcodes than the scan budget allows", offset)
            raw = self._step(op, offset)
            if walk.skeleton is not None:
                if raw is not None:
                    walk.skeleton += raw
                if len(walk.skeleton) > (self.skeleton_limit or 0) or (
                    self.skeleton_ops is not None and walk.ops > self.skeleton_ops
                ):
                    walk.skeleton = None
            if walk.stopped:
                return

    # --- helpers ----------------------------------------------------------------------------------------

    def _pop(self, offset: int) -> object:
        if not self.stack or self.stack[-1] is MARK:
            raise PickleMalformed("the pickle pops more values than it pushed (stack underflow)", offset)
        return self.stack.pop()

    def _top(self, offset: int) -> object:
        if not self.stack or self.stack[-1] is MARK:
            raise PickleMalformed("the pickle uses a value that is not on the stack (stack underflow)", offset)
        return self.stack[-1]

    def _pop_mark(self, offset: int) -> list:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i] is MARK:
                items = self.stack[i + 1 :]
                del self.stack[i:]
                return items
        raise PickleMalformed("the pickle closes a MARK it never opened", offset)

    @staticmethod
    def _tuple(items: list) -> object:
        return tuple(items) if len(items) <= CONTAINER_ITEMS else Opaque("tuple")

    def _global(self, module: str, name: str, opcode: str, offset: int) -> GlobalRef:
        ref = resolve(module, name, self.walk.proto)
        self.walk.globals.append(GlobalUse(ref, opcode, offset))
        return ref

    def _length_payload(self, op: pickletools.OpcodeInfo, offset: int) -> tuple[bytes | None, int, bytes]:
        """Read a length-prefixed payload: (payload or None if skipped, length, raw length prefix)."""
        kind = op.arg.name
        if kind.endswith("1"):
            prefix = self.r.read(1)
            n = prefix[0]
        elif kind.endswith("8"):
            prefix = self.r.read(8)
            n = struct.unpack("<Q", prefix)[0]
        elif kind == "string4":
            prefix = self.r.read(4)
            n = struct.unpack("<i", prefix)[0]
            if n < 0:
                raise PickleMalformed(f"{op.name} has a negative length", offset)
        else:
            prefix = self.r.read(4)
            n = struct.unpack("<I", prefix)[0]
        if n > ELIDE_PAYLOAD:
            self.r.skip(n)
            return None, n, prefix
        return self.r.read(n), n, prefix

    # --- one opcode -------------------------------------------------------------------------------------

    def _step(self, op: pickletools.OpcodeInfo, offset: int) -> bytes | None:  # noqa: C901 - one branch per opcode
        """Apply one opcode to the model; return the bytes to append to the skeleton."""
        name, code = op.name, op.code.encode("latin-1")
        walk, stack = self.walk, self.stack

        # Memo opcodes come first: they are the most frequent by far.
        if name in ("PUT", "BINPUT", "LONG_BINPUT"):
            if name == "PUT":
                line = self.r.line(MAX_NAME_LINE)
                index = self._int_or_fail(line, offset)
                raw = code + (line or b"") + b"\n"
            else:
                raw_arg = self.r.read(1 if name == "BINPUT" else 4)
                index = raw_arg[0] if name == "BINPUT" else struct.unpack("<I", raw_arg)[0]
                raw = code + raw_arg
            if index < 0:
                raise PickleMalformed("negative memo index", offset)
            self.memo[index] = self._top(offset)
            return raw
        if name == "MEMOIZE":
            self.memo[len(self.memo)] = self._top(offset)
            return code
        if name in ("GET", "BINGET", "LONG_BINGET"):
            if name == "GET":
                line = self.r.line(MAX_NAME_LINE)
                index = self._int_or_fail(line, offset)
                raw = code + (line or b"") + b"\n"
            else:
                raw_arg = self.r.read(1 if name == "BINGET" else 4)
                index = raw_arg[0] if name == "BINGET" else struct.unpack("<I", raw_arg)[0]
                raw = code + raw_arg
            if index not in self.memo:
                raise PickleMalformed(f"the pickle reads memo entry {index}, which was never stored", offset)
            stack.append(self.memo[index])
            return raw

        if name in _STRING_OPS:
            payload, n, prefix = self._length_payload(op, offset)
            if payload is None:
                stack.append(LONG_STR)
                return _EMPTY_STR
            if n > KEEP_STRING:
                stack.append(LONG_STR)
            elif name in ("BINSTRING", "SHORT_BINSTRING"):
                stack.append(payload.decode("latin-1"))
            else:
                try:
                    stack.append(payload.decode("utf-8", "surrogatepass"))
                except UnicodeDecodeError as exc:
                    raise PickleMalformed(f"{name} holds invalid UTF-8", offset) from exc
            if name == "BINUNICODE8":
                return b"X" + struct.pack("<I", n) + payload
            return code + prefix + payload
        if name in _BYTES_OPS:
            payload, n, prefix = self._length_payload(op, offset)
            stack.append(BYTES)
            if payload is None:
                return _EMPTY_BYTES
            if name in ("BINBYTES8", "BYTEARRAY8"):
                return b"B" + struct.pack("<I", n) + payload
            return code + prefix + payload

        if name in ("STRING", "UNICODE"):
            line = self.r.line(MAX_LINE)
            if line is None:
                stack.append(LONG_STR)
                return _EMPTY_STR
            stack.append(self._text_value(name, line, offset))
            return code + line + b"\n"
        if name in ("INT", "LONG", "FLOAT"):
            line = self.r.line(MAX_LINE)
            if line is None:
                stack.append(Opaque("number"))
                return b"N"
            stack.append(self._number_value(name, line))
            if name == "FLOAT":  # fickling cannot read protocol 0 floats; the value does not matter to scanners
                return b"G" + bytes(8)
            return code + line + b"\n"
        if name == "BININT1":
            raw = self.r.read(1)
            stack.append(raw[0])
            return code + raw
        if name == "BININT2":
            raw = self.r.read(2)
            stack.append(struct.unpack("<H", raw)[0])
            return code + raw
        if name == "BININT":
            raw = self.r.read(4)
            stack.append(struct.unpack("<i", raw)[0])
            return code + raw
        if name in ("LONG1", "LONG4"):
            prefix = self.r.read(1 if name == "LONG1" else 4)
            n = prefix[0] if name == "LONG1" else struct.unpack("<i", prefix)[0]
            if n < 0:
                raise PickleMalformed("LONG4 has a negative length", offset)
            if n > ELIDE_PAYLOAD:
                self.r.skip(n)
                stack.append(Opaque("int"))
                return b"N"
            payload = self.r.read(n)
            stack.append(int.from_bytes(payload, "little", signed=True) if n <= 64 else Opaque("int"))
            return code + prefix + payload
        if name == "BINFLOAT":
            raw = self.r.read(8)
            stack.append(FLOAT)
            return code + raw
        if name == "NONE":
            stack.append(None)
            return code
        if name in ("NEWTRUE", "NEWFALSE"):
            stack.append(name == "NEWTRUE")
            return code

        if name == "MARK":
            stack.append(MARK)
            return code
        if name == "POP":
            if not stack:
                raise PickleMalformed("POP on an empty stack", offset)
            stack.pop()
            return code
        if name == "POP_MARK":
            self._pop_mark(offset)
            return code
        if name == "DUP":
            stack.append(self._top(offset))
            return code

        if name == "EMPTY_TUPLE":
            stack.append(())
            return code
        if name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            count = int(name[-1])
            items = [self._pop(offset) for _ in range(count)][::-1]
            stack.append(tuple(items))
            return code
        if name == "TUPLE":
            stack.append(self._tuple(self._pop_mark(offset)))
            return code
        if name == "EMPTY_LIST":
            stack.append(ListV())
            return code
        if name == "LIST":
            stack.append(ListV(self._pop_mark(offset)))
            return code
        if name == "APPEND":
            value = self._pop(offset)
            target = self._top(offset)
            if isinstance(target, ListV):
                target.add([value])
            return code
        if name == "APPENDS":
            items = self._pop_mark(offset)
            target = self._top(offset)
            if isinstance(target, ListV):
                target.add(items)
            return code
        if name == "EMPTY_DICT":
            stack.append(DictV())
            return code
        if name == "DICT":
            items = self._pop_mark(offset)
            if len(items) % 2:
                raise PickleMalformed("DICT has an odd number of items", offset)
            d = DictV()
            d.add(list(zip(items[::2], items[1::2], strict=True)))
            stack.append(d)
            return code
        if name == "SETITEM":
            value = self._pop(offset)
            key = self._pop(offset)
            target = self._top(offset)
            if isinstance(target, DictV):
                target.add([(key, value)])
            return code
        if name == "SETITEMS":
            items = self._pop_mark(offset)
            if len(items) % 2:
                raise PickleMalformed("SETITEMS has an odd number of items", offset)
            target = self._top(offset)
            if isinstance(target, DictV):
                target.add(list(zip(items[::2], items[1::2], strict=True)))
            return code
        if name == "EMPTY_SET":
            stack.append(Opaque("set"))
            return code
        if name == "ADDITEMS":
            self._pop_mark(offset)
            self._top(offset)
            return code
        if name == "FROZENSET":
            self._pop_mark(offset)
            stack.append(Opaque("frozenset"))
            return code

        if name in ("GLOBAL", "INST"):
            module_line = self.r.line(MAX_NAME_LINE)
            name_line = self.r.line(MAX_NAME_LINE)
            if module_line is None or name_line is None:
                raise PickleMalformed(f"{name} names a module or attribute too long to be real", offset)
            module = module_line.decode("utf-8", "replace")
            attr = name_line.decode("utf-8", "replace")
            ref = self._global(module, attr, name, offset)
            if name == "GLOBAL":
                stack.append(ref)
            else:
                args = self._pop_mark(offset)
                walk.calls += 1
                stack.append(Call(ref, self._tuple(args)))
            return code + module_line + b"\n" + name_line + b"\n"
        if name == "STACK_GLOBAL":
            attr = self._pop(offset)
            module = self._pop(offset)
            if isinstance(module, str) and isinstance(attr, str):
                stack.append(self._global(module, attr, name, offset))
            else:
                walk.unresolved.append(f"offset {offset}")
                stack.append(Opaque("unresolved global"))
            return code
        if name in ("EXT1", "EXT2", "EXT4"):
            raw_arg = self.r.read({"EXT1": 1, "EXT2": 2, "EXT4": 4}[name])
            walk.extensions.append(int.from_bytes(raw_arg, "little", signed=name == "EXT4"))
            stack.append(Opaque("extension"))
            return code + raw_arg

        if name == "REDUCE":
            args = self._pop(offset)
            func = self._pop(offset)
            walk.calls += 1
            stack.append(Call(func, args))
            return code
        if name == "NEWOBJ":
            args = self._pop(offset)
            cls = self._pop(offset)
            walk.calls += 1
            stack.append(Call(cls, args))
            return code
        if name == "NEWOBJ_EX":
            self._pop(offset)
            args = self._pop(offset)
            cls = self._pop(offset)
            walk.calls += 1
            stack.append(Call(cls, args))
            return code
        if name == "OBJ":
            items = self._pop_mark(offset)
            if not items:
                raise PickleMalformed("OBJ without a class", offset)
            walk.calls += 1
            stack.append(Call(items[0], self._tuple(items[1:])))
            return code
        if name == "BUILD":
            state = self._pop(offset)
            target = self._top(offset)
            walk.calls += 1
            if isinstance(target, Call):
                target.state = state
                if self.joblib and _is_joblib_wrapper(target):
                    self._skip_joblib_array(target, offset)
                    stack[-1] = Opaque("ndarray")
            return code

        if name in ("PERSID", "BINPERSID") and not self.persistent_load:
            raise PickleMalformed("a persistent id needs a loader that supplies persistent_load", offset)
        if name == "PERSID":
            line = self.r.line(MAX_LINE)
            if line is None:
                raise PickleMalformed("PERSID argument is too long", offset)
            walk.persistent_ids += 1
            stack.append(Opaque("persistent"))
            return code + line + b"\n"
        if name == "BINPERSID":
            self._pop(offset)
            walk.persistent_ids += 1
            stack.append(Opaque("persistent"))
            return code
        if name == "NEXT_BUFFER":
            walk.out_of_band = True
            stack.append(BYTES)
            return _EMPTY_BYTES
        if name == "READONLY_BUFFER":
            self._top(offset)
            return None

        if name == "PROTO":
            raw_arg = self.r.read(1)
            if raw_arg[0] > MAX_PROTOCOL:
                raise PickleMalformed(f"unsupported pickle protocol {raw_arg[0]}", offset)
            walk.proto = raw_arg[0]
            if walk.ops == 1 and walk.proto >= 2:
                walk.starts_with_proto = True
            return code + raw_arg
        if name == "FRAME":
            self.r.read(8)
            return None
        if name == "STOP":
            walk.result = self._pop(offset)
            walk.stopped = True
            return code
        raise PickleMalformed(f"opcode {name} is not supported", offset)  # pragma: no cover - table is complete

    # --- values -----------------------------------------------------------------------------------------

    @staticmethod
    def _text_value(name: str, line: bytes, offset: int) -> object:
        if len(line) > KEEP_STRING:
            return LONG_STR
        if name == "UNICODE":
            try:
                return line.decode("raw-unicode-escape")
            except UnicodeDecodeError as exc:
                raise PickleMalformed("UNICODE holds an invalid escape", offset) from exc
        if len(line) >= 2 and line[:1] == line[-1:] and line[:1] in (b"'", b'"'):
            try:
                return codecs.escape_decode(line[1:-1])[0].decode("latin-1")
            except ValueError as exc:
                raise PickleMalformed("STRING holds an invalid escape", offset) from exc
        raise PickleMalformed("STRING argument is not quoted", offset)

    @staticmethod
    def _number_value(name: str, line: bytes) -> object:
        if name == "FLOAT":
            return FLOAT
        text = line.decode("latin-1").strip()
        if name == "INT" and text in ("00", "01"):
            return text == "01"
        try:
            return int(text.rstrip("L"), 0) if len(text) <= 64 else Opaque("int")
        except ValueError:
            try:
                return int(text.rstrip("L"))
            except ValueError:
                return Opaque("int")

    @staticmethod
    def _int_or_fail(line: bytes | None, offset: int) -> int:
        try:
            return int(line or b"")
        except ValueError as exc:
            raise PickleMalformed("memo index is not a number", offset) from exc

    # --- joblib -----------------------------------------------------------------------------------------

    def _skip_joblib_array(self, wrapper: Call, offset: int) -> None:
        state = wrapper.state
        if not isinstance(state, DictV):
            raise WalkIncomplete("a joblib array wrapper has a state this scanner does not understand", offset)
        shape = state.get("shape")
        itemsize, has_object = _dtype_layout(state.get("dtype"))
        if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape) or itemsize is None:
            raise WalkIncomplete("the size of a NumPy array embedded by joblib cannot be determined", offset)
        self.walk.joblib_arrays += 1
        if has_object:
            if self.nesting >= MAX_NESTING:
                raise WalkIncomplete("joblib object arrays are nested too deeply", offset)
            child = PickleWalker(
                self.r,
                max_ops=max(0, self.max_ops - self.walk.ops),
                skeleton_limit=self.skeleton_limit,
                skeleton_ops=self.skeleton_ops,
                joblib=True,
                nesting=self.nesting + 1,
            ).run()
            self.walk.nested.append(child)
            self.walk.ops += child.ops
            if child.error:
                raise child.error
            if child.incomplete:
                raise child.incomplete
            return
        alignment = state.get("numpy_array_alignment_bytes", _MISSING)
        if isinstance(alignment, int) and not isinstance(alignment, bool):
            padding = self.r.read(1)[0]
            self.r.skip(padding)
        count = 1
        for n in shape:
            count *= n
        self.r.skip(count * itemsize)


def _is_joblib_wrapper(call: Call) -> bool:
    func = call.func
    if isinstance(func, GlobalRef) and func.dotted == "joblib.numpy_pickle.NumpyArrayWrapper":
        return True
    # Protocols 0 and 1 build objects with copyreg._reconstructor(cls, base, state).
    return (
        isinstance(func, GlobalRef)
        and func.dotted == "copyreg._reconstructor"
        and isinstance(call.args, tuple)
        and bool(call.args)
        and isinstance(call.args[0], GlobalRef)
        and call.args[0].dotted == "joblib.numpy_pickle.NumpyArrayWrapper"
    )


def _dtype_layout(dtype: object) -> tuple[int | None, bool]:
    """(item size, holds Python objects) of a pickled numpy.dtype call, or (None, False) if unknown."""
    if not (isinstance(dtype, Call) and isinstance(dtype.func, GlobalRef) and dtype.func.dotted == "numpy.dtype"):
        return None, False
    args = dtype.args
    if not isinstance(args, tuple) or not args or not isinstance(args[0], str):
        return None, False
    spec = args[0]
    state = dtype.state if isinstance(dtype.state, tuple) else ()
    flags = state[7] if len(state) > 7 and isinstance(state[7], int) else 0
    if spec.startswith("O") or flags & 1:
        return 0, True
    if len(state) > 5 and isinstance(state[5], int) and state[5] > 0:
        return state[5], False
    digits = spec.lstrip("<>|=").lstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ?")
    if not digits.isdigit() or int(digits) <= 0:
        return None, False
    if spec.lstrip("<>|=")[:1] == "U":
        return int(digits) * 4, False
    return int(digits), False


def walk_pickle(
    stream: BinaryIO,
    *,
    start: int = 0,
    end: int | None = None,
    max_ops: int,
    skeleton_limit: int | None,
    skeleton_ops: int | None = None,
    joblib: bool = True,
    persistent_load: bool = True,
) -> PickleWalk:
    """Walk one pickle starting at the stream's current position (`start` is that position's offset).

    `persistent_load=False` models plain `pickle.load`, which fails at the first persistent id.
    """
    reader = Reader(stream, start=start, end=end)
    walker = PickleWalker(
        reader,
        max_ops=max_ops,
        skeleton_limit=skeleton_limit,
        skeleton_ops=skeleton_ops,
        joblib=joblib,
        persistent_load=persistent_load,
    )
    return walker.run()
