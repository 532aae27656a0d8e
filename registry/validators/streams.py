"""Streams over parts of a file: a byte range (a stored archive member) and decompressed content."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from collections.abc import Callable
from typing import BinaryIO

CHUNK = 1024 * 1024
SLICE_BUFFER = 64 * 1024  # small: members are mostly probed at a few offsets, and big reads bypass the buffer


class _SliceRaw(io.RawIOBase):
    """Bytes [start, start + size) of another seekable stream, which this object owns and closes."""

    def __init__(self, stream: BinaryIO, start: int, size: int):
        self._stream = stream
        self._start = start
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self._size - self._pos)
        if n <= 0:
            return 0
        self._stream.seek(self._start + self._pos)
        data = self._stream.read(n)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._pos + offset
        else:
            position = self._size + offset
        self._pos = max(0, position)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
        super().close()


def slice_opener(opener: Callable[[], BinaryIO], start: int, size: int) -> Callable[[], BinaryIO]:
    """An opener for a byte range of what `opener` opens, buffered like a file."""

    def open_slice() -> BinaryIO:
        return io.BufferedReader(_SliceRaw(opener(), start, size), buffer_size=SLICE_BUFFER)

    return open_slice


class _ZlibFile(io.RawIOBase):
    """A raw zlib stream (joblib's zlib compressor) decompressed as it is read."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self._decompressor = zlib.decompressobj()
        self._pending = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending and not self._done:
            data = self._decompressor.unconsumed_tail or self._stream.read(CHUNK)
            if not data:
                raise EOFError("the compressed stream ends before its end marker")
            self._pending = self._decompressor.decompress(data, CHUNK)
            if self._decompressor.eof:
                self._done = True
                if self._decompressor.unused_data or self._stream.read(1):
                    raise ValueError("data follows the end of the compressed stream")
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


class _Decompressed(io.RawIOBase):
    """Decompressed content of a stream this object owns; closing it closes both."""

    def __init__(self, stream: BinaryIO, kind: str):
        self._stream = stream
        if kind == "gzip":
            self._inner = gzip.GzipFile(fileobj=stream, mode="rb")
        elif kind == "bz2":
            self._inner = bz2.BZ2File(stream, mode="rb")
        elif kind == "xz":
            self._inner = lzma.LZMAFile(stream, mode="rb", format=lzma.FORMAT_XZ)  # noqa: SIM115
        elif kind == "lzma":
            self._inner = lzma.LZMAFile(stream, mode="rb", format=lzma.FORMAT_ALONE)  # noqa: SIM115
        else:
            self._inner = _ZlibFile(stream)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._inner.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._inner.close()
            self._stream.close()
        super().close()


def decompressed_opener(opener: Callable[[], BinaryIO], kind: str) -> Callable[[], BinaryIO]:
    def open_decompressed() -> BinaryIO:
        return io.BufferedReader(_Decompressed(opener(), kind), buffer_size=CHUNK)

    return open_decompressed
