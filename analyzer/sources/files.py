"""File, compressed-file and archive collectors: paths in, LogSource | Problem out.

What is read
    * a regular file (``path`` is set on its source, so the scanner may ``mmap`` it, unless it
      is compressed); a named pipe or ``/dev/fd/N`` (process substitution) as a stream;
    * a directory, recursively: only log-like names (:func:`.bundles.is_log_name`), journal
      or docker exports whose first bytes say so, and archives; binary files (a NUL byte in
      the first 8 KiB) are skipped with a warning; symlinked directories are followed once,
      loops are reported; a file reached twice (symlink, hard link, repeated input, a
      directory given with one of its subdirectories) is read once, binary journal files too;
    * ``.gz`` / ``.bz2`` / ``.xz`` files, recognised by magic bytes, not by name; gzip goes
      through isal's inflate when it is importable (about 2x stdlib ``gzip``, see
      ``shared/notes/matcher-benchmark.md``), and a truncated one yields every byte that
      can be decoded before the error (:class:`_GzipReader`);
    * ``.tar`` (plain or compressed) and ``.zip`` archives, read in place, never unpacked to
      disk; members may themselves be compressed (``nova-compute.log.1.gz``) or be tarballs
      (a ``sos collect`` tarball of sosreports).

Tar archives are streamed (``tarfile`` mode ``r|``) and read **once** for their content.
Each member is yielded as a :class:`TarMemberSource` whose stream is only valid while the
archive is paused on it: **the consumer must open and read a tar member source before taking
the next item from the collector.** Opening it later raises :class:`CollectorError`, and reading
a member stream after the collector moved on raises :class:`StreamReadError`. ``scan()`` reads
each source as it comes, which is exactly that. (Before the content pass, a header-only pass
lists the member names and reads the small hostname files, so host identity and bundle layout
are known before the first member is yielded; it stops early for a sosreport whose
``sos_commands/host/hostname`` has been seen, and seeks instead of reading for an uncompressed
tar on disk.) Zip members are random access and have no such constraint.

Errors while reading a stream
    Every stream a source opens raises, from ``read``/``readinto``/``readline``, only
    :class:`StreamReadError` (a :class:`CollectorError` with ``offset``: the position in the
    delivered, decompressed stream where reading failed) or plain ``OSError`` for an
    uncompressed file on disk. Messages say what and where, e.g.
    ``truncated gzip at byte 5210 of the compressed data: ...``. The scanner catches
    ``CollectorError`` / ``OSError`` / ``EOFError`` from ``read()`` and records a
    :class:`Problem` with the offset; whatever was delivered before stays valid.

Problems yielded here always name the source (``path`` or ``archive!member``) and, where
there is one, the byte offset (in the file, in the decompressed tar stream, or in the zip).
"""

from __future__ import annotations

import bz2
import errno
import glob
import gzip
import io
import lzma
import os
import posixpath
import stat
import sys
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO, Protocol, Self, TypeVar, cast

from ..errors import CollectorError
from ..records import LogSource, Problem, SourceInfo, SourceKind
from .bundles import (
    IDENTITY_FILES,
    Bundle,
    BundleRoot,
    ManifestEntry,
    archive_suffix,
    choose_host,
    detect_bundles,
    find_root,
    is_journal_file,
    is_log_name,
    kind_from_path,
    looks_structured,
    parse_hostname_file,
    read_nma_manifest,
    rotation_key,
    structured_candidate,
)

try:  # optional accelerator; zlib is the fallback
    from isal import isal_zlib as _isal_zlib

    _DATA_ERRORS: tuple[type[BaseException], ...] = (
        zlib.error, lzma.LZMAError, cast(type[BaseException], _isal_zlib.error))
except ImportError:  # pragma: no cover - isal is in the venv
    _isal_zlib = None  # type: ignore[assignment]
    _DATA_ERRORS = (zlib.error, lzma.LZMAError)

__all__ = [
    "StreamReadError",
    "sniff_compression",
    "open_decompressed",
    "FileSource",
    "StdinSource",
    "TarMemberSource",
    "ZipMemberSource",
    "Collector",
]

#: How much of a file is looked at to decide what it is (compression, archive, binary).
SNIFF_BYTES = 8192
#: Largest hostname / manifest file read for identity (they are a few bytes / KiB).
_IDENTITY_MAX = 4096
_MANIFEST_MAX = 16 << 20
#: A stream with no valid tar header in this many leading bytes is not a tar archive.
_NOT_TAR_AFTER = 1 << 20
#: Nesting depth for archives inside archives (sos collect tarball > sosreport tarball).
_MAX_DEPTH = 3

_UNSUPPORTED = {"zstd": "zstd -d", "lz4": "lz4 -d", "compress": "uncompress"}

_STALE = ("members of a tar archive are streamed in one pass: open and read each source "
          "before taking the next one from the collector")


class StreamReadError(CollectorError):
    """Reading a source's stream failed part-way.

    ``offset`` is the number of (decompressed) bytes delivered before the failure, i.e. the
    byte position in the stream the scanner sees; ``compressed_offset`` the position in the
    compressed data when known.
    """

    def __init__(self, source: str, reason: str, offset: int,
                 compressed_offset: int | None = None) -> None:
        super().__init__(source, reason)
        self.offset = offset
        self.compressed_offset = compressed_offset


# --------------------------------------------------------------------------- decompression


def sniff_compression(head: bytes) -> str | None:
    """'gzip' | 'bzip2' | 'xz' | 'zstd' | 'lz4' | 'compress' from the first bytes, else None."""
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:3] == b"BZh":
        return "bzip2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if head[:4] == b"\x28\xb5\x2f\xfd":
        return "zstd"
    if head[:4] == b"\x04\x22\x4d\x18":
        return "lz4"
    if head[:2] == b"\x1f\x9d":
        return "compress"
    return None


class _Prepend(io.BufferedIOBase):
    """Put back bytes read to sniff a stream that cannot ``peek`` (pipes without a buffer)."""

    def __init__(self, head: bytes, inner: IO[bytes]) -> None:
        super().__init__()
        self._head = head
        self._inner = inner

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            data, self._head = self._head + self._inner.read(), b""
            return data
        if self._head:
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._inner.read(size)

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def readinto(self, buf: Any) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()


def _peek_head(fileobj: IO[bytes], n: int = 8) -> tuple[bytes, IO[bytes]]:
    """The first ``n`` bytes of a stream without consuming them, and the stream to read."""
    peek = getattr(fileobj, "peek", None)
    if peek is not None:
        head = cast(bytes, peek(n))[:n]
        if len(head) >= n or not head:
            return head, fileobj
    head = b""
    while len(head) < n:  # a pipe may deliver the magic in pieces
        more = fileobj.read(n - len(head))
        if not more:
            break
        head += more
    return head, cast(IO[bytes], _Prepend(head, fileobj))


class _Inflater(Protocol):
    """What ``zlib.decompressobj()`` and ``isal.isal_zlib.decompressobj()`` both return."""

    @property
    def unused_data(self) -> bytes: ...
    @property
    def unconsumed_tail(self) -> bytes: ...
    @property
    def eof(self) -> bool: ...
    def decompress(self, data: bytes, /, max_length: int = 0) -> bytes: ...


#: gzip header flag bits (RFC 1952, 2.3.1)
_FHCRC, _FEXTRA, _FNAME, _FCOMMENT = 2, 4, 8, 16
#: compressed bytes read from the underlying stream per refill
_GZ_IN = 64 << 10
#: decoded bytes per call when the caller does not say how many it wants
_GZ_OUT = 128 << 10
_GZ_TRUNCATED = "compressed file ended before the end-of-stream marker was reached"


class _GzipReader(io.BufferedIOBase):
    """gzip decoding (every member of the file) that returns all decodable data before it
    reports a truncation.

    Why not ``isal.igzip.IGzipFile``: its C reader raises ``EOFError`` on a truncated stream
    without returning what it had already decoded into its buffer (all 187 bytes of a
    one-line file cut by 6 bytes; 41 KiB of a truncated 10 MB log). Here a read returns
    whatever the inflater can still produce from the input there is, and only the read after
    that raises ``EOFError``, so the scanner keeps every complete line before the cut. A
    read that fails keeps failing (never a quiet end of data). (At a cut, isal's inflater
    may keep back the very last byte zlib would decode: measured 0 or 1 byte over 4,000
    random cuts of log, binary and repetitive data at levels 0-9. One byte never changes a
    complete line, it is at most its newline or the last character of a line already cut.)

    Speed: the inflater is isal's (``isal_zlib.decompressobj``) when isal is importable
    (zlib's is 2x slower, see ``shared/notes/matcher-benchmark.md``); ``inflate``/``crc32``
    choose others. Output is handed over as the inflater returns it, without a copy.
    Measured on 80 MB of logs (14.5 MB gzip -6) read through :class:`_Guarded`: 0.112 s of
    CPU against 0.101 s for IGzipFile and 0.239 s for stdlib gzip; end to end (``scan()``,
    which decompresses in its prefetch thread) the same wall time as IGzipFile (0.162 s
    against 0.161 s, medians of 5).

    The gzip framing is handled here, as stdlib ``gzip`` does it, around raw deflate: the
    header is parsed here (isal's own gzip mode fails with "Incorrect checksum" on a header
    with FHCRC split across two input chunks), and the trailer's CRC-32 and length are
    checked after the member's data was returned (in gzip mode the inflater checks them
    inside the call that reaches the end and drops that call's output when they are wrong).
    Zero padding after a member is skipped and anything else there is an error, as in
    stdlib ``gzip``.
    """

    def __init__(self, fp: IO[bytes], *,
                 inflate: Callable[[int], _Inflater] | None = None,
                 crc32: Callable[[bytes, int], int] | None = None) -> None:
        super().__init__()
        self._fp = fp
        mod: Any = _isal_zlib if _isal_zlib is not None else zlib
        self._inflate: Callable[[int], _Inflater] = inflate or mod.decompressobj
        self._crc32: Callable[[bytes, int], int] = crc32 or mod.crc32
        self._crc = 0  # of the current member's data so far
        self._size = 0
        self._buf = b""  # compressed bytes read from fp and not given to the inflater yet
        self._fp_eof = False
        self._dec: _Inflater | None = None  # the current member's inflater; None between
        self._members = 0  # members started so far
        self._done = False
        self._failed: Exception | None = None
        self._out = b""  # decoded bytes not returned yet (left by peek / readline)

    # io ---------------------------------------------------------------------------------
    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:
        n = _GZ_OUT if size is None or size < 0 else size
        if self._out:
            data, self._out = self._out[:n], self._out[n:]
            return data
        return self._read(n)

    def read(self, size: int | None = -1) -> bytes:
        parts: list[bytes] = []
        got = 0
        while size is None or size < 0 or got < size:
            try:
                data = self.read1(_GZ_OUT if size is None or size < 0 else size - got)
            except Exception:
                if not parts:
                    raise
                break  # deliver what was decoded; the next read raises again
            if not data:
                break
            parts.append(data)
            got += len(data)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def readinto1(self, b: Any) -> int:
        return self.readinto(b)

    def peek(self, size: int = 0) -> bytes:
        if not self._out:
            self._out = self._read(max(size, _GZ_OUT))
        return self._out

    def readline(self, size: int | None = -1) -> bytes:
        limit = -1 if size is None else size
        parts: list[bytes] = []
        got = 0
        while limit < 0 or got < limit:
            if not self._out:
                try:
                    self._out = self._read(_GZ_OUT)
                except Exception:
                    self._out = b"".join(parts)  # handed out by the next read, then the error
                    raise
                if not self._out:
                    break
            end = self._out.find(b"\n") + 1 or len(self._out)
            if limit >= 0:
                end = min(end, limit - got)
            parts.append(self._out[:end])
            got += end
            self._out = self._out[end:]
            if parts[-1].endswith(b"\n"):
                break
        return b"".join(parts)

    # decoding ---------------------------------------------------------------------------
    def _read(self, size: int) -> bytes:
        if self._failed is not None:
            raise self._failed
        if size <= 0:
            return b""
        try:
            return self._decode(size)
        except Exception as e:
            self._failed = e
            raise

    def _more(self) -> bool:
        """Append the next compressed chunk to the buffer; False at the end of the input."""
        if self._fp_eof:
            return False
        chunk = self._fp.read(_GZ_IN)
        if not chunk:
            self._fp_eof = True
            return False
        self._buf += chunk
        return True

    def _need(self, n: int) -> None:
        while len(self._buf) < n:
            if not self._more():
                raise EOFError(_GZ_TRUNCATED)

    def _decode(self, size: int) -> bytes:
        while not self._done:
            dec = self._dec
            if dec is None:
                if not self._start_member():
                    self._done = True
                    break
                continue
            if dec.eof:
                self._end_member(dec.unused_data)
                continue
            data, self._buf = self._buf, b""
            if not data and not self._fp_eof:
                data = self._fp.read(_GZ_IN)
                self._fp_eof = not data
            # with no input left, this still drains what the inflater holds
            out = dec.decompress(data, size)
            if not dec.eof:  # (zlib leaves a stale unconsumed_tail once the stream ends)
                self._buf = dec.unconsumed_tail
            if out:
                self._crc = self._crc32(out, self._crc)
                self._size += len(out)
                return out
            if not data and not dec.eof:
                raise EOFError(_GZ_TRUNCATED)  # all that was decodable has been returned
        return b""

    def _start_member(self) -> bool:
        """Make sure the whole header of the next member is buffered and start its inflater;
        False at a clean end of the data."""
        if self._members:
            while True:  # members may be followed by zero padding
                self._buf = self._buf.lstrip(b"\0")
                if self._buf or not self._more():
                    break
            if not self._buf:
                return False
        while len(self._buf) < 2 and self._more():
            pass
        if self._buf == b"\x1f":
            raise EOFError(_GZ_TRUNCATED)
        if self._buf[:2] != b"\x1f\x8b":
            where = f"the data after gzip member {self._members}" if self._members else "data"
            raise gzip.BadGzipFile(f"{where} is not a gzip member (it starts with "
                                   f"{self._buf[:8]!r})")
        self._need(10)
        method, flags = self._buf[2], self._buf[3]
        if method != 8:
            raise gzip.BadGzipFile(f"unknown compression method {method} in the header of "
                                   f"gzip member {self._members + 1}")
        pos = 10
        if flags & _FEXTRA:
            self._need(pos + 2)
            pos += 2 + int.from_bytes(self._buf[pos: pos + 2], "little")
            self._need(pos)
        for flag in (_FNAME, _FCOMMENT):  # zero-terminated strings
            if flags & flag:
                start = pos
                while (end := self._buf.find(b"\0", start)) < 0:
                    start = len(self._buf)
                    if not self._more():
                        raise EOFError(_GZ_TRUNCATED)
                pos = end + 1
        if flags & _FHCRC:
            pos += 2
            self._need(pos)
        self._buf = self._buf[pos:]
        self._dec = self._inflate(-zlib.MAX_WBITS)  # raw deflate
        self._crc = self._size = 0
        self._members += 1
        return True

    def _end_member(self, rest: bytes) -> None:
        """Check the trailer (CRC-32, length mod 2**32) of the member that just ended."""
        self._dec = None
        self._buf = rest + self._buf
        self._need(8)
        crc = int.from_bytes(self._buf[:4], "little")
        isize = int.from_bytes(self._buf[4:8], "little")
        self._buf = self._buf[8:]
        if crc != self._crc:
            raise gzip.BadGzipFile(f"CRC check failed for gzip member {self._members}: the "
                                   f"trailer says {crc:#010x}, the data gives {self._crc:#010x}")
        if isize != self._size & 0xFFFFFFFF:
            raise gzip.BadGzipFile(f"length check failed for gzip member {self._members}: the "
                                   f"trailer says {isize} bytes (mod 2**32), the data gives "
                                   f"{self._size}")


def _decoder(fmt: str, stream: IO[bytes]) -> IO[bytes]:
    if fmt == "gzip":
        return cast(IO[bytes], _GzipReader(stream))
    if fmt == "bzip2":
        return cast(IO[bytes], bz2.BZ2File(stream, "rb"))
    if fmt == "xz":
        return cast(IO[bytes], lzma.LZMAFile(stream, "rb"))
    raise AssertionError(fmt)


def _tell(f: IO[bytes] | None) -> int | None:
    if f is None:
        return None
    try:
        return f.tell()
    except (OSError, ValueError, AttributeError):
        return None


#: What a decoder, an archive member or a disk may raise mid-stream.
_READ_ERRORS: tuple[type[BaseException], ...] = (
    EOFError, OSError, tarfile.TarError, zipfile.BadZipFile) + _DATA_ERRORS
#: Largest single decoder call. The decoders return what they decoded before they report a
#: truncation (:class:`_GzipReader`, stdlib bz2/lzma), but a buffered ``read(n)`` that
#: fails part-way drops what it collected: reading by small ``read1`` steps delivers it
#: (measured: 128 KiB steps cost nothing visible next to decompression itself).
_STEP = 128 << 10


class _Guarded(io.BufferedIOBase):
    """A read-only stream that turns decoder / archive / I/O errors into :class:`StreamReadError`.

    ``what`` names the data in messages ('gzip', 'tar member', ...); ``raw`` is the compressed
    stream (for the compressed offset); ``owned`` are closed with this object; ``valid`` is
    asked before each read and returns a reason when the stream may no longer be read.
    """

    def __init__(self, inner: IO[bytes], name: str, *, what: str, compressed: bool,
                 raw: IO[bytes] | None = None, owned: Sequence[IO[bytes]] = (),
                 valid: Callable[[], str | None] | None = None) -> None:
        super().__init__()
        self._inner = inner
        self._name = name
        self._what = what
        self._compressed = compressed
        self._raw = raw
        self._owned = list(owned)
        self._valid = valid
        self._pos = 0
        self._pending: StreamReadError | None = None

    # io plumbing ---------------------------------------------------------------------
    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if not self.closed:
            for f in self._owned:
                try:
                    f.close()
                except (OSError, ValueError) + _DATA_ERRORS:
                    pass  # closing a broken decoder must not hide the read error
        super().close()

    # reads ---------------------------------------------------------------------------
    def _check(self) -> None:
        if self._valid is not None:
            reason = self._valid()
            if reason is not None:
                raise StreamReadError(self._name, reason, self._pos)

    def _pieces(self, want: int | None) -> Iterator[bytes]:
        """Decoded pieces, ``read1`` step by step, up to ``want`` bytes (all with None).

        Reading in steps delivers the good data decoded before a failure first; the error is
        kept and raised by the next call: a buffered ``read(8 MiB)`` that fails part-way would
        otherwise drop up to 8 MiB of valid lines.
        """
        self._check()
        if self._pending is not None:
            raise self._pending
        read1 = getattr(self._inner, "read1", None) or self._inner.read
        got = 0
        while want is None or got < want:
            try:
                chunk = cast(bytes, read1(_STEP if want is None else min(_STEP, want - got)))
            except _READ_ERRORS as e:
                err = self._error(e, self._pos)
                if not got:
                    raise err from e
                self._pending = err
                return
            if not chunk:
                return
            got += len(chunk)
            self._pos += len(chunk)
            yield chunk

    def read(self, size: int | None = -1) -> bytes:
        parts = list(self._pieces(None if size is None or size < 0 else size))
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def read1(self, size: int = -1) -> bytes:
        self._check()
        if self._pending is not None:
            raise self._pending
        read1 = getattr(self._inner, "read1", None) or self._inner.read
        try:
            data = cast(bytes, read1(_STEP if size < 0 else min(size, _STEP)))
        except _READ_ERRORS as e:
            raise self._error(e, self._pos) from e
        self._pos += len(data)
        return data

    def readinto(self, buf: Any) -> int:
        """Like :meth:`read`, decoding piece by piece straight into ``buf``: no joined copy
        and no fresh multi-MiB allocation per call (they cost ~0.3 s/GiB on .gz input)."""
        view = memoryview(buf).cast("B")
        got = 0
        for chunk in self._pieces(len(view)):
            view[got:got + len(chunk)] = chunk
            got += len(chunk)
        return got

    def readinto1(self, buf: Any) -> int:
        return self.readinto(buf)

    def readline(self, size: int | None = -1) -> bytes:
        self._check()
        if self._pending is not None:
            raise self._pending
        try:
            data = self._inner.readline(-1 if size is None else size)
        except _READ_ERRORS as e:
            raise self._error(e, self._pos) from e
        self._pos += len(data)
        return data

    def peek(self, size: int = 0) -> bytes:
        peek = getattr(self._inner, "peek", None)
        if peek is None:
            return b""
        try:
            return cast(bytes, peek(size))
        except _READ_ERRORS as e:
            raise self._error(e, self._pos) from e

    def _error(self, e: BaseException, pos: int) -> StreamReadError:
        cpos = _tell(self._raw) if self._compressed else None
        if isinstance(e, CollectorError):  # an enclosing archive failed
            reason = f"{e.reason} (while reading {e.source}; {pos} bytes of this stream read)"
        elif isinstance(e, EOFError) and self._compressed:
            if cpos is not None:
                reason = (f"truncated {self._what} at byte {cpos} of the compressed data: it "
                          f"ends before the end-of-stream marker ({pos} bytes decompressed)")
            else:
                reason = (f"truncated {self._what}: the data ends before the end-of-stream "
                          f"marker, after {pos} decompressed bytes")
        elif isinstance(e, tarfile.TarError):
            reason = f"truncated or corrupt {self._what} at byte {pos}: {e}"
        elif isinstance(e, zipfile.BadZipFile):
            reason = f"corrupt {self._what} after {pos} bytes: {e}"
        elif isinstance(e, OSError) and e.errno is not None:
            reason = f"read error at byte {pos}: {e.strerror or e}"
        elif self._compressed:
            # decoders read ahead: cpos bounds where the damage is, it does not pinpoint it
            within = f"within the first {cpos} compressed bytes" if cpos is not None else \
                "in the compressed data"
            reason = f"corrupt {self._what} data {within}: {e} ({pos} bytes decompressed)"
        else:
            reason = f"read error in {self._what} at byte {pos}: {e}"
        return StreamReadError(self._name, reason, pos, cpos)


def _wrap(fileobj: IO[bytes], name: str, *, what: str, close_fileobj: bool = True,
          guard_plain: bool = False,
          valid: Callable[[], str | None] | None = None) -> IO[bytes]:
    head, stream = _peek_head(fileobj)
    fmt = sniff_compression(head)
    if fmt in _UNSUPPORTED:
        raise CollectorError(name, f"{fmt}-compressed data cannot be read here: decompress it "
                                   f"first ({_UNSUPPORTED[fmt]})")
    owned = [stream] if close_fileobj else []
    if fmt is None:
        if not guard_plain:
            return stream
        return cast(IO[bytes], _Guarded(stream, name, what=what, compressed=False,
                                        owned=owned, valid=valid))
    dec = _decoder(fmt, stream)
    label = fmt if what == "data" else f"{fmt} {what}"
    return cast(IO[bytes], _Guarded(dec, name, what=label, compressed=True, raw=stream,
                                    owned=[dec, *owned], valid=valid))


def open_decompressed(fileobj: IO[bytes], name: str, *, close_fileobj: bool = True) -> BinaryIO:
    """``fileobj`` decompressed according to its magic bytes (gzip, bzip2, xz), or as it is.

    ``name`` is used in error messages. Not compressed: ``fileobj`` itself is returned (or a
    thin wrapper when it could not be peeked). Compressed: a read-only stream that raises
    :class:`StreamReadError` (with the byte offsets) on truncated or corrupt data; closing it
    closes ``fileobj`` too unless ``close_fileobj`` is False. zstd / lz4 / compress data raise
    :class:`CollectorError` at once (no decoder in the standard library).

    >>> import gzip, io
    >>> open_decompressed(io.BytesIO(gzip.compress(b"hello\\n")), "x.gz").read()
    b'hello\\n'
    """
    return cast(BinaryIO, _wrap(fileobj, name, what="data", close_fileobj=close_fileobj))


# --------------------------------------------------------------------------- sources


class FileSource(LogSource):
    """A file on disk. ``compression``: None (plain: ``path`` is set for mmap), a format
    name from :func:`sniff_compression`, or ``'auto'`` (a pipe: sniffed when opened)."""

    def __init__(self, info: SourceInfo, disk_path: str, compression: str | None = None) -> None:
        self.info = info
        self.disk_path = disk_path
        self.compression = compression
        self.path = disk_path if compression is None else None

    def open(self) -> AbstractContextManager[BinaryIO]:
        try:
            fh = open(self.disk_path, "rb")
        except OSError as e:
            raise CollectorError(self.info.name, f"cannot open: {e.strerror or e}") from e
        if self.compression is None:
            return fh
        try:
            return open_decompressed(fh, self.info.name)
        except BaseException:
            fh.close()
            raise

    def __repr__(self) -> str:
        return f"FileSource({self.info.name!r}, compression={self.compression!r})"


#: Why '-' cannot be read when the process was started with fd 0 closed (``nma scan - <&-``).
STDIN_CLOSED = "standard input is closed: nothing to read for '-'"


def _stdin_buffer() -> IO[bytes] | None:
    """``sys.stdin.buffer``, or None when Python started without a standard input (fd 0
    closed: ``sys.stdin`` is then None) or it was replaced by something without a buffer."""
    stdin = sys.stdin
    return cast("IO[bytes] | None", getattr(stdin, "buffer", None)) if stdin is not None else None


#: pipe capacity asked for on a piped standard input (Linux's default is 64 KiB, and its
#: unprivileged ceiling /proc/sys/fs/pipe-max-size is 1 MiB by default)
PIPE_SIZE = 1 << 20


def _widen_pipe(stream: IO[bytes]) -> bool:
    """Ask for a 1 MiB pipe under a piped stdin: 16x fewer reads and writes on both sides.

    ``cat 1GiB.log | nma scan -`` measured 1.28 s with the 64 KiB default and 1.06 s with 1 MiB
    (medians, A/B interleaved, bench/results/2026-11-28-experiments.md). Only an optimisation:
    a pipe that is already as large is left alone (never shrunk), and where the system refuses
    (not Linux, not a pipe, no descriptor, over a limit) nothing changes and nothing is raised.
    """
    try:
        import fcntl

        getsz, setsz = fcntl.F_GETPIPE_SZ, fcntl.F_SETPIPE_SZ  # Linux only
        fd = stream.fileno()
        if not stat.S_ISFIFO(os.fstat(fd).st_mode) or fcntl.fcntl(fd, getsz) >= PIPE_SIZE:
            return False
        fcntl.fcntl(fd, setsz, PIPE_SIZE)
        return True
    except (ImportError, AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False


class StdinSource(LogSource):
    """Standard input (``-``), decompressed when its first bytes say so; never closed here."""

    def __init__(self, info: SourceInfo, stream: IO[bytes] | None = None) -> None:
        self.info = info
        self._stream = stream

    def open(self) -> AbstractContextManager[BinaryIO]:
        stream = self._stream if self._stream is not None else _stdin_buffer()
        if stream is None or stream.closed:
            raise CollectorError(self.info.name, STDIN_CLOSED)
        _widen_pipe(stream)
        try:
            out = open_decompressed(stream, self.info.name, close_fileobj=False)
        except OSError as e:  # fd 0 closed under a live sys.stdin: EBADF on the first read
            if e.errno == errno.EBADF:
                raise CollectorError(self.info.name, STDIN_CLOSED) from e
            raise CollectorError(self.info.name, f"cannot read: {e.strerror or e}") from e
        if out is stream:
            return nullcontext(out)
        return out

    def __repr__(self) -> str:
        return f"StdinSource({self.info.name!r})"


class _Cursor:
    """Which member of a streamed tar archive may be read right now."""

    __slots__ = ("current",)

    def __init__(self) -> None:
        self.current: TarMemberSource | None = None


class TarMemberSource(LogSource):
    """A member of a streamed tar archive: open and read it before advancing the collector."""

    def __init__(self, info: SourceInfo, fobj: IO[bytes], cursor: _Cursor) -> None:
        self.info = info
        self._fobj = fobj
        self._cursor = cursor
        self._opened = False

    def _why_invalid(self) -> str | None:
        if self._cursor.current is not self:
            return f"the collector has moved past this tar member: {_STALE}"
        return None

    def open(self) -> AbstractContextManager[BinaryIO]:
        reason = self._why_invalid()
        if reason is not None:
            raise CollectorError(self.info.name, f"cannot open: {reason}")
        if self._opened:
            raise CollectorError(self.info.name, "a tar member can be opened only once")
        self._opened = True
        try:
            return cast(BinaryIO, _wrap(self._fobj, self.info.name, what="tar member",
                                        guard_plain=True, valid=self._why_invalid))
        except (OSError, EOFError, tarfile.TarError) + _DATA_ERRORS as e:
            raise CollectorError(self.info.name, f"cannot open: {e}") from e

    def __repr__(self) -> str:
        return f"TarMemberSource({self.info.name!r})"


class ZipMemberSource(LogSource):
    """A member of a zip archive (random access: may be opened at any time, more than once)."""

    def __init__(self, info: SourceInfo, zf: zipfile.ZipFile, zinfo: zipfile.ZipInfo) -> None:
        self.info = info
        self._zf = zf  # shared by every member of the archive; closed when the last is dropped
        self._zinfo = zinfo

    def open(self) -> AbstractContextManager[BinaryIO]:
        try:
            fobj = self._zf.open(self._zinfo)
        except (RuntimeError, ValueError, OSError, zipfile.BadZipFile,
                NotImplementedError) as e:  # encrypted, closed, bad header, unknown method
            raise CollectorError(self.info.name, f"cannot open zip member: {e}") from e
        return cast(BinaryIO, _wrap(fobj, self.info.name, what="zip member", guard_plain=True))

    def __repr__(self) -> str:
        return f"ZipMemberSource({self.info.name!r})"


# --------------------------------------------------------------------------- tar plumbing


# tarfile's header errors are not in its __all__ (nor in typeshed) but are stable since 3.2
_EOFHeaderError = cast(type[Exception], getattr(tarfile, "EOFHeaderError"))
_BadHeaderErrors = (cast(type[Exception], getattr(tarfile, "InvalidHeaderError")),
                    cast(type[Exception], getattr(tarfile, "TruncatedHeaderError")))


def _forget_members(tf: tarfile.TarFile) -> None:
    """Drop the TarInfo list tarfile keeps: bounded memory on archives of 100k members
    (only getmembers() and link resolution use it; neither is used on these objects)."""
    cast(Any, tf).members.clear()


class _TarInfo(tarfile.TarInfo):
    """Records the corrupt and end-of-archive headers ``tarfile`` would otherwise skip silently."""

    @classmethod
    def fromtarfile(cls, tarfile_: tarfile.TarFile) -> Self:
        try:
            return super().fromtarfile(tarfile_)
        except _EOFHeaderError:
            if isinstance(tarfile_, _TarFile):
                tarfile_.nma_eof = True
            raise
        except _BadHeaderErrors as e:
            if isinstance(tarfile_, _TarFile):
                tarfile_.note_bad(tarfile_.offset, str(e))
            raise


class _TarFile(tarfile.TarFile):
    """TarFile that keeps what :class:`_TarInfo` records (bad header ranges, end marker)."""

    tarinfo = _TarInfo

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # set before super().__init__, which already reads the first header
        self.nma_bad: list[list[Any]] = []  # [start, end, reason]
        self.nma_eof = False
        super().__init__(*args, **kwargs)

    def note_bad(self, offset: int, reason: str) -> None:
        if self.nma_bad and self.nma_bad[-1][1] == offset:
            self.nma_bad[-1][1] = offset + tarfile.BLOCKSIZE  # coalesce consecutive blocks
        else:
            self.nma_bad.append([offset, offset + tarfile.BLOCKSIZE, reason])
        if self.nma_bad[0][0] == 0 and self.nma_bad[0][1] >= _NOT_TAR_AFTER:
            # nothing header-shaped at the start: not a tar (a mis-named .tar.gz log), and
            # ignore_zeros would otherwise hunt through all of it, 512 bytes at a time
            raise tarfile.ReadError(f"no valid tar header in the first {_NOT_TAR_AFTER} bytes")


def _norm_member(name: str) -> str | None:
    """A member name relative to the archive root, or None when it escapes the archive."""
    if name.startswith("/") or name.startswith("\\") or (len(name) > 1 and name[1] == ":"):
        return None
    norm = posixpath.normpath(name.replace("\\", "/"))
    if norm == ".." or norm.startswith("../"):
        return None
    return "" if norm == "." else norm


def _identity_candidate(name: str) -> bool:
    for f in IDENTITY_FILES:
        if name == f or name.endswith("/" + f):
            return name.count("/") - f.count("/") <= 3
    return False


@dataclass
class _Listing:
    """What a header-only pass learned about an archive."""

    names: list[str] = field(default_factory=list)
    identity: dict[str, bytes] = field(default_factory=dict)
    manifest: dict[str, ManifestEntry] | None = None
    nested: dict[str, _Listing] = field(default_factory=dict)
    complete: bool = True


def _tar_listing(stream: IO[bytes], name: str, *, seekable: bool, depth: int) -> _Listing:
    """Header pass over a tar stream: member names, identity files, manifest, nested listings.

    Never raises for bad data: the content pass reports it; this pass just stops.
    """
    out = _Listing()
    top: str | None = None
    try:
        with _TarFile.open(fileobj=stream, mode="r:" if seekable else "r|",
                           ignore_zeros=True) as tf:
            while True:
                m = tf.next()
                if m is None:
                    break
                _forget_members(tf)
                if not m.isfile():
                    continue
                rel = _norm_member(m.name)
                if not rel:
                    continue
                out.names.append(rel)
                first = rel.split("/", 1)[0]
                top = first if top is None else (top if top == first else "")
                if _identity_candidate(rel) and m.size <= _IDENTITY_MAX:
                    f = tf.extractfile(m)
                    if f is not None:
                        out.identity[rel] = f.read(_IDENTITY_MAX)
                elif rel == "manifest.json" and m.size <= _MANIFEST_MAX:
                    f = tf.extractfile(m)
                    if f is not None:
                        out.manifest = read_nma_manifest(f.read())
                elif (depth < _MAX_DEPTH and archive_suffix(rel) not in (None, ".zip")):
                    f = tf.extractfile(m)
                    if f is not None:
                        try:
                            inner = _wrap(f, f"{name}!{rel}", what="data", close_fileobj=False)
                        except CollectorError:
                            continue
                        out.nested[rel] = _tar_listing(inner, f"{name}!{rel}",
                                                       seekable=False, depth=depth + 1)
                # A sosreport is one bundle: once its hostname is known, the rest of the
                # headers add nothing and cost a full decompression.
                if top and top.startswith("sosreport") and (
                        f"{top}/sos_commands/host/hostname" in out.identity):
                    out.complete = False
                    break
    except (tarfile.TarError, CollectorError, OSError, EOFError) + _DATA_ERRORS:
        out.complete = False
    return out


# --------------------------------------------------------------------------- collector


@dataclass
class _BundleState:
    origin: str
    host: str | None
    host_from: str
    layout: str
    deployment: str | None
    kinds: set[SourceKind] = field(default_factory=set)
    journal_files: list[str] = field(default_factory=list)
    sources: int = 0
    leftover: bool = False  # files of a collection outside every host bundle


@dataclass
class _Tree:
    """A directory or archive being read: its bundle roots and their states."""

    display: str
    roots: list[BundleRoot]
    states: dict[str, _BundleState]
    override: str | None
    origin_for: Callable[[BundleRoot], str]
    container_name: str
    manifest: dict[str, ManifestEntry] | None = None
    journals: dict[str, list[str]] = field(default_factory=dict)
    #: binary journal files of a directory tree (path on disk, name shown, bundle), read with
    #: the journal collector at the end
    journal_paths: list[tuple[str, str, _BundleState]] = field(default_factory=list)


@dataclass
class _Entry:
    rel: str
    full: str
    st: os.stat_result


@dataclass
class _Sniff:
    fmt: str | None
    head: bytes  # decompressed
    archive: str | None  # 'tar' | 'zip' | None


def _display_join(base: str, rel: str) -> str:
    return rel if base in ("", ".") else (base.rstrip("/") + "/" + rel if rel else base)


def _split_override(raw: str) -> tuple[str | None, str]:
    """``HOST=PATH`` -> (HOST, PATH); anything that exists as a path is a path."""
    if "=" in raw and not os.path.lexists(raw):
        host, _, rest = raw.partition("=")
        if host and rest and all(c.isalnum() or c in "._-" for c in host):
            return host, rest
    return None, raw


def _read_small(path: str, limit: int) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read(limit)
    except OSError:
        return None


def _dir_identity(root_dir: str) -> tuple[str, str] | None:
    """(host, file) from the identity files of a directory bundle (see bundles docstring)."""
    bases = [root_dir]
    real = os.path.realpath(root_dir)
    if real == "/var/log" or real.endswith("/var/log"):
        bases.append(real[: -len("var/log")] or "/")
    for base in bases:
        for rel in IDENTITY_FILES:
            p = os.path.join(base, rel)
            data = _read_small(p, _IDENTITY_MAX)
            host = parse_hostname_file(data) if data is not None else None
            if host:
                return host, p
    return None


def _loose_identity(path: str) -> tuple[str, str] | None:
    """Identity for a file named on its own: look above a ``var/log`` or ``sos_commands``."""
    parts = os.path.abspath(path).split(os.sep)
    for i in range(len(parts) - 2, 0, -1):
        if (parts[i] == "var" and parts[i + 1] == "log") or parts[i] == "sos_commands":
            return _dir_identity(os.sep.join(parts[:i]) or os.sep)
    return None


_S = TypeVar("_S", bound=LogSource)


@dataclass
class _Pick:
    """How one path of a tree is to be read."""

    state: _BundleState | None
    inner: str  # path relative to its bundle root
    action: str  # 'log' | 'structured' | 'journal' | 'archive'
    kind: SourceKind | None
    host: str | None
    known: bool = False  # listed in an nma manifest: take it as it is
    structured: str | None = None  # 'json' | 'export' for export candidates


def _admit(pick: _Pick, shown: str, head: bytes) -> tuple[bool, Problem | None, SourceKind | None]:
    """Decide from a file's first bytes: (take it?, problem to report, kind)."""
    if pick.known:
        return True, None, pick.kind
    if sniff_compression(head) is not None:
        return True, None, pick.kind  # content checks need decompression: let the scanner judge
    if pick.structured is not None:
        if not looks_structured(head, pick.structured):
            return False, None, None  # an ordinary .json file: not a log
        kind = pick.kind or (SourceKind.JOURNAL if pick.structured == "export" else None)
        if pick.structured == "text":
            nul = head.find(b"\0")
            if nul >= 0:
                return False, None, None
        return True, None, kind
    nul = head.find(b"\0")
    if nul >= 0:
        return False, Problem(shown, f"binary file skipped: NUL byte at offset {nul} in the "
                                     f"first {SNIFF_BYTES} bytes", offset=nul), None
    return True, None, pick.kind


class Collector:
    """Turns inputs into sources, remembering the bundles it saw (:meth:`bundles`).

    ``inputs`` items: a file, a directory (recursive), a glob, ``-`` (stdin), ``HOST=PATH``
    (HOST for everything under PATH, overriding detection), compressed files and archives.
    ``default_host`` applies where no hostname file or bundle name says better (see
    :mod:`analyzer.sources.bundles` for the precedence). Never raises for bad input: every
    unreadable thing becomes a :class:`Problem` and the rest is still collected.
    """

    def __init__(self, *, default_host: str | None = None, read_journals: bool = True) -> None:
        self.default_host = default_host
        self.read_journals = read_journals
        self._bundles: dict[str, _BundleState] = {}
        self._seen: set[tuple[int, int]] = set()
        self._stdin_taken = False

    # public ----------------------------------------------------------------------------
    def collect(self, inputs: Sequence[str]) -> Iterator[LogSource | Problem]:
        if isinstance(inputs, str):
            inputs = [inputs]
        for raw in inputs:
            yield from self._input(raw)

    def bundles(self) -> list[Bundle]:
        """Every bundle seen so far, with its host, layout and the evidence it held."""
        return [Bundle(s.origin, s.host, s.host_from, s.layout, s.deployment,
                       frozenset(s.kinds), tuple(s.journal_files), s.sources)
                for s in self._bundles.values()
                # a collection's loose files that turned out not to be logs are no bundle
                if not (s.leftover and not s.sources and not s.journal_files)]

    # inputs ----------------------------------------------------------------------------
    def _input(self, raw: str) -> Iterator[LogSource | Problem]:
        if raw == "-":
            if self._stdin_taken:
                yield Problem("<stdin>", "'-' given more than once: standard input is read once")
                return
            self._stdin_taken = True
            if _stdin_buffer() is None:
                yield Problem("<stdin>", STDIN_CLOSED, severity="error")
                return
            yield StdinSource(SourceInfo("<stdin>", host=self.default_host))
            return
        override, target = _split_override(raw)
        if os.path.lexists(target):
            yield from self._path(target, target, override)
            return
        if glob.has_magic(target):
            matches = glob.glob(target, recursive=True)
            if not matches:
                yield Problem(raw, "glob matched nothing", severity="error")
            for m in sorted(matches, key=lambda p: (os.path.dirname(p),
                                                    rotation_key(os.path.basename(p)))):
                yield from self._path(m, m, override)
            return
        yield Problem(raw, "no such file or directory", severity="error")

    def _path(self, path: str, display: str, override: str | None) -> Iterator[LogSource | Problem]:
        try:
            st = os.stat(path)
        except OSError as e:
            if e.errno == errno.ELOOP:
                msg = "symlink loop: the path cannot be resolved"
            elif os.path.islink(path):
                msg = f"broken symlink (points to {os.readlink(path)!r})"
            else:
                msg = f"cannot access: {e.strerror or e}"
            yield Problem(display, msg, severity="error")
            return
        if stat.S_ISDIR(st.st_mode):
            yield from self._directory(path, display, override)
        elif stat.S_ISREG(st.st_mode):
            yield from self._loose_file(path, display, st, override)
        elif stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode):
            # a pipe (process substitution, mkfifo): cannot be sniffed without consuming it
            host = override or self.default_host
            yield FileSource(SourceInfo(display, host=host, kind=kind_from_path(path)),
                             path, compression="auto")
        else:
            try:
                with open(path, "rb"):
                    pass
                msg = "not a regular file, directory or pipe"
            except OSError as e:
                msg = f"cannot open: {e.strerror or e}"
            yield Problem(display, msg, offset=0, severity="error")

    # single files ----------------------------------------------------------------------
    def _sniff(self, path: str, display: str) -> _Sniff | Problem:
        try:
            with open(path, "rb") as fh:
                raw = fh.read(SNIFF_BYTES)
                fmt = sniff_compression(raw)
                head = raw
                if fmt in _UNSUPPORTED:
                    return Problem(display, f"{fmt}-compressed file cannot be read here: "
                                            f"decompress it first ({_UNSUPPORTED[fmt]})",
                                   offset=0, severity="error")
                if fmt is not None:
                    fh.seek(0)
                    try:
                        head = open_decompressed(fh, display, close_fileobj=False).read(
                            SNIFF_BYTES)
                    except StreamReadError as e:
                        return Problem(display, e.reason, offset=e.offset, severity="error")
        except OSError as e:
            return Problem(display, f"cannot open: {e.strerror or e}", offset=0,
                           severity="error")
        archive = None
        if raw[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
            archive = "zip"
        elif head[257:262] == b"ustar":
            archive = "tar"
        return _Sniff(fmt, head, archive)

    def _loose_file(self, path: str, display: str, st: os.stat_result,
                    override: str | None) -> Iterator[LogSource | Problem]:
        key = (st.st_dev, st.st_ino)
        if key in self._seen:
            return  # named twice (or also found in a directory): read once
        sniff = self._sniff(path, display)
        if isinstance(sniff, Problem):
            yield sniff
            return
        if sniff.archive is not None or archive_suffix(path) is not None:
            self._seen.add(key)
            yield from self._archive(path, display, sniff, override)
            return
        self._seen.add(key)
        if st.st_size == 0 or not sniff.head:
            yield Problem(display, "empty file: nothing to scan", offset=0)
            return
        host = override
        if host is None:
            ident = _loose_identity(path)
            host = ident[0] if ident else self.default_host
        kind = kind_from_path(path)
        yield FileSource(SourceInfo(display, host=host, kind=kind), path, sniff.fmt)

    # bundles ---------------------------------------------------------------------------
    def _state(self, tree: _Tree, root: BundleRoot | None, *, origin: str,
               identity: tuple[str, str] | None, name: str | None) -> _BundleState:
        state = self._bundles.get(origin)
        if state is None:
            host, how = choose_host(override=tree.override, identity=identity, bundle_name=name,
                                    in_collection=bool(root and root.in_collection),
                                    default_host=self.default_host)
            state = _BundleState(origin, host, how, root.layout if root else "files",
                                 root.deployment if root else None)
            self._bundles[origin] = state
        tree.states[root.prefix if root else ""] = state
        return state

    def _open_roots(self, tree: _Tree,
                    identity_for: Callable[[BundleRoot], tuple[str, str] | None]) -> None:
        """Register recognised bundle roots eagerly, so a bundle with no log at all still
        shows up in :meth:`bundles` (that is what "what each bundle lacked" is about).
        Leftovers and unrecognisable trees are registered when a file is taken from them."""
        for root in tree.roots:
            if root.leftover or root.layout == "files":
                continue
            name = posixpath.basename(root.prefix) if root.prefix else tree.container_name
            self._state(tree, root, origin=tree.origin_for(root), identity=identity_for(root),
                        name=name)

    def _state_for(self, tree: _Tree, root: BundleRoot | None) -> _BundleState:
        key = root.prefix if root else ""
        state = tree.states.get(key)
        if state is None:
            if root is not None and root.leftover:
                name = None  # the collection's own name is not a host name
            else:
                name = posixpath.basename(key) if key else tree.container_name
            state = self._state(tree, root, origin=tree.origin_for(root) if root
                                else tree.display, identity=None, name=name)
            state.leftover = bool(root is not None and root.leftover)
        return state

    def _pick(self, tree: _Tree, rel: str) -> _Pick | None:
        """Classify a path of a tree; None when it is not something to read."""
        base = posixpath.basename(rel)
        entry = tree.manifest.get(rel) if tree.manifest else None
        root, inner = find_root(rel, tree.roots)
        if entry is not None:
            action = "log"
        elif is_journal_file(base):
            action = "journal"
        elif archive_suffix(base):
            return _Pick(None, inner, "archive", None, tree.override)
        elif is_log_name(inner):
            action = "log"
        elif structured_candidate(inner):
            action = "structured"
        else:
            return None
        state = self._state_for(tree, root)
        if entry is not None:
            return _Pick(state, inner, action, entry.kind or kind_from_path(inner),
                         tree.override or entry.host or state.host, known=True)
        return _Pick(state, inner, action, kind_from_path(inner), tree.override or state.host,
                     structured=structured_candidate(inner) if action == "structured" else None)

    def _flush_journals(self, tree: _Tree) -> Iterator[Problem]:
        for where, files in sorted(tree.journals.items()):
            example = ", ".join(files[:3]) + (", ..." if len(files) > 3 else "")
            yield Problem(where, f"journal file: read it with --journal ({len(files)} "
                                 f"file(s): {example})")
        tree.journals.clear()

    # directories -----------------------------------------------------------------------
    def _walk(self, top: str, display: str) -> tuple[list[_Entry], list[Problem]]:
        entries: list[_Entry] = []
        problems: list[Problem] = []
        try:
            top_st = os.stat(top)
        except OSError as e:  # pragma: no cover - checked by the caller
            return entries, [Problem(display, f"cannot access: {e.strerror}", severity="error")]
        visited = {(top_st.st_dev, top_st.st_ino)}
        stack: list[tuple[str, str, frozenset[tuple[int, int]]]] = [
            (top, "", frozenset(visited))]
        while stack:
            path, rel, ancestors = stack.pop()
            try:
                it = os.scandir(path)
            except OSError as e:
                problems.append(Problem(_display_join(display, rel),
                                        f"cannot list directory: {e.strerror or e}",
                                        severity="error"))
                continue
            with it:
                for de in it:
                    relp = f"{rel}/{de.name}" if rel else de.name
                    try:
                        if de.is_symlink():
                            try:
                                st = os.stat(de.path)
                            except OSError as e:
                                if e.errno == errno.ELOOP:
                                    problems.append(Problem(
                                        _display_join(display, relp),
                                        "symlink loop: the link cannot be resolved; not followed"))
                                elif is_log_name(de.name):
                                    problems.append(Problem(
                                        _display_join(display, relp),
                                        f"broken symlink (points to {os.readlink(de.path)!r})"))
                                continue
                        else:
                            st = de.stat(follow_symlinks=False)
                    except OSError as e:
                        problems.append(Problem(_display_join(display, relp),
                                                f"cannot stat: {e.strerror or e}"))
                        continue
                    if stat.S_ISDIR(st.st_mode):
                        key = (st.st_dev, st.st_ino)
                        if key in ancestors:
                            problems.append(Problem(
                                _display_join(display, relp),
                                f"symlink loop: points back to its ancestor "
                                f"{os.path.realpath(de.path)!r}; not followed"))
                            continue
                        if key in visited:
                            continue  # one directory reached by two paths: read it once
                        visited.add(key)
                        stack.append((de.path, relp, ancestors | {key}))
                    elif stat.S_ISREG(st.st_mode):
                        entries.append(_Entry(relp, de.path, st))
                    elif is_log_name(de.name):
                        problems.append(Problem(_display_join(display, relp),
                                                "not a regular file: skipped"))
        entries.sort(key=lambda e: (posixpath.dirname(e.rel),
                                    rotation_key(posixpath.basename(e.rel))))
        return entries, problems

    def _directory(self, path: str, display: str,
                   override: str | None) -> Iterator[LogSource | Problem]:
        display = display.rstrip("/") or "/"
        entries, problems = self._walk(path, display)
        yield from problems
        manifest = None
        if any(e.rel == "manifest.json" for e in entries):
            data = _read_small(os.path.join(path, "manifest.json"), _MANIFEST_MAX)
            manifest = read_nma_manifest(data) if data else None
        roots = detect_bundles(e.rel for e in entries) or [BundleRoot("")]
        single = sum(1 for r in roots if not r.leftover) <= 1
        tree = _Tree(display, roots, {}, override,
                     origin_for=lambda r: display if single or not r.prefix
                     else _display_join(display, r.prefix),
                     container_name=os.path.basename(os.path.realpath(path)), manifest=manifest)
        self._open_roots(tree, lambda r: _dir_identity(os.path.join(path, r.prefix)))
        for e in entries:
            pick = self._pick(tree, e.rel)
            if pick is None:
                continue
            shown = _display_join(display, e.rel)
            if pick.action == "archive":
                yield from self._loose_file(e.full, shown, e.st, override)
                continue
            assert pick.state is not None
            key = (e.st.st_dev, e.st.st_ino)
            if pick.action == "journal":
                # read once, like any file: the same bundle given twice, or a directory and
                # one of its subdirectories, must not yield the journal's entries twice
                if key in self._seen:
                    continue
                self._seen.add(key)
                self._note_journal(tree, pick.state, shown, posixpath.dirname(shown) or shown)
                tree.journal_paths.append((e.full, shown, pick.state))
                continue
            if key in self._seen:
                continue
            self._seen.add(key)
            if e.st.st_size == 0:
                yield Problem(shown, "empty file: nothing to scan", offset=0)
                continue
            sniff = self._sniff(e.full, shown)
            if isinstance(sniff, Problem):
                yield sniff
                continue
            take, problem, kind = _admit(pick, shown, sniff.head)
            if problem is not None:
                yield problem
            if not take:
                continue
            if not sniff.head:
                yield Problem(shown, "empty file: nothing to scan (after decompression)",
                              offset=0)
                continue
            yield self._source(pick, FileSource(
                SourceInfo(shown, host=pick.host, kind=kind, origin=pick.state.origin),
                e.full, sniff.fmt))
        yield from self._read_journals(tree)
        yield from self._flush_journals(tree)

    def _read_journals(self, tree: _Tree) -> Iterator[LogSource | Problem]:
        """Binary journal files inside a directory bundle (a sosreport's var/log/journal):
        read them with the journal collector (systemd-python), host from ``_HOSTNAME``.
        Without systemd-python they stay reported as "read it with --journal".

        One call of the journal collector per bundle, so each source carries the origin of
        the bundle its files came from (a directory of several sosreports has one journal
        per host). A bundle counts the system log as present (``JOURNAL``, plus the kinds of
        the streams) only when its journal yielded a stream: a corrupt or empty journal file
        leaves "system log" in what the bundle lacks, next to the collector's problem."""
        if not self.read_journals or not tree.journal_paths:
            return
        try:
            from systemd import journal as _sj  # noqa: F401
        except ImportError:
            return
        from .journal import journal_sources

        by_state: dict[int, tuple[_BundleState, list[str], set[str]]] = {}
        for path, shown, state in tree.journal_paths:
            group = by_state.setdefault(id(state), (state, [], set()))
            group[1].append(path)
            group[2].add(shown)
        tree.journal_paths.clear()
        for state, paths, shown_names in by_state.values():
            n = 0
            for item in journal_sources(paths, since=None, until=None):
                if not isinstance(item, Problem):
                    n += 1
                    item.info = SourceInfo(item.info.name, host=item.info.host,
                                           kind=item.info.kind, origin=state.origin)
                    state.kinds.add(item.info.kind or SourceKind.UNKNOWN)
                yield item
            if n:
                state.kinds.add(SourceKind.JOURNAL)
                state.sources += n
            # tried either way: no "read them with --journal" hint for these files (a
            # failure is reported by the journal collector, naming the file)
            state.journal_files[:] = [f for f in state.journal_files if f not in shown_names]
        tree.journals.clear()  # read: no "read it with --journal" notice

    @staticmethod
    def _note_journal(tree: _Tree, state: _BundleState, shown: str, where: str) -> None:
        state.journal_files.append(shown)
        tree.journals.setdefault(where, []).append(posixpath.basename(shown))

    @staticmethod
    def _source(pick: _Pick, src: _S) -> _S:
        assert pick.state is not None
        pick.state.kinds.add(src.info.kind or SourceKind.UNKNOWN)
        pick.state.sources += 1
        return src

    # archives --------------------------------------------------------------------------
    def _archive(self, path: str, display: str, sniff: _Sniff,
                 override: str | None) -> Iterator[LogSource | Problem]:
        if sniff.archive == "zip" or (sniff.archive is None and archive_suffix(path) == ".zip"):
            yield from self._zip(path, display, override)
        elif sniff.archive == "tar" or archive_suffix(path) not in (None, ".zip"):
            yield from self._tar_file(path, display, override)
        else:  # pragma: no cover - callers only come here for archives
            yield Problem(display, "not an archive", offset=0)

    def _tar_file(self, path: str, display: str,
                  override: str | None) -> Iterator[LogSource | Problem]:
        listing: _Listing | None = None
        try:
            with open(path, "rb") as fh:
                stream = _wrap(fh, display, what="data", close_fileobj=False)
                listing = _tar_listing(stream, display, seekable=stream is fh, depth=0)
                stream.close()
        except (OSError, CollectorError):
            listing = None  # the content pass below reports it
        try:
            fh = open(path, "rb")
        except OSError as e:
            yield Problem(display, f"cannot open: {e.strerror or e}", offset=0, severity="error")
            return
        try:
            stream = _wrap(fh, display, what="data")
        except CollectorError as e:
            fh.close()
            yield Problem(display, e.reason, offset=0, severity="error")
            return
        try:
            yield from self._tar_stream(stream, display, listing, override,
                                        os.path.basename(display), 0)
        finally:
            stream.close()
            fh.close()

    def _tar_stream(self, stream: IO[bytes], display: str, listing: _Listing | None,
                    override: str | None, container_name: str,
                    depth: int) -> Iterator[LogSource | Problem]:
        roots = (detect_bundles(listing.names) if listing and listing.names else []) or [
            BundleRoot("")]
        single = sum(1 for r in roots if not r.leftover) <= 1
        tree = _Tree(display, roots, {}, override,
                     origin_for=lambda r: display if single or not r.prefix
                     else f"{display}!{r.prefix}",
                     container_name=container_name,
                     manifest=listing.manifest if listing else None)
        ident = listing.identity if listing else {}

        def identity_for(root: BundleRoot) -> tuple[str, str] | None:
            for rel in IDENTITY_FILES:
                key = posixpath.join(root.prefix, rel) if root.prefix else rel
                host = parse_hostname_file(ident[key]) if key in ident else None
                if host:
                    return host, f"{display}!{key}"
            return None

        self._open_roots(tree, identity_for)
        cursor = _Cursor()
        try:
            tf = _TarFile.open(fileobj=stream, mode="r|", ignore_zeros=True)
        except (tarfile.TarError, CollectorError, OSError, EOFError) + _DATA_ERRORS as e:
            yield Problem(display, f"cannot read as a tar archive: {_reason(e)}", offset=0,
                          severity="error")
            return
        assert isinstance(tf, _TarFile)
        if tf.nma_bad and tf.nma_bad[0][0] == 0 and cast(Any, tf).firstmember is None:
            tf.close()
            yield Problem(display, "not a tar archive: no valid tar header at byte 0",
                          offset=0, severity="error")
            return
        last = "(start of archive)"
        try:
            while True:
                cursor.current = None
                # after the end, tarfile's next() would seek backwards on a stream
                member = None if cast(Any, tf)._loaded else tf.next()
                for start, end, why in tf.nma_bad:
                    yield Problem(display, f"corrupt tar data at bytes {start}-{end} after "
                                           f"member {last!r} ({why}): skipped to the next "
                                           f"valid header", offset=start)
                tf.nma_bad.clear()
                if member is None:
                    break
                _forget_members(tf)
                if not member.isfile():
                    continue  # directories, links (never followed), devices
                shown = f"{display}!{member.name}"
                rel = _norm_member(member.name)
                if rel is None:
                    yield Problem(shown, f"member path escapes the archive "
                                         f"({member.name!r}): not read", offset=member.offset)
                    continue
                if not rel:
                    continue
                last = rel
                pick = self._pick(tree, rel)
                if pick is None:
                    continue
                if pick.action == "archive":
                    if archive_suffix(rel) == ".zip":
                        yield Problem(shown, "zip archive inside a tar stream cannot be read in "
                                             "one pass: extract it first", offset=member.offset)
                        continue
                    if depth >= _MAX_DEPTH:
                        yield Problem(shown, f"archive nested deeper than {_MAX_DEPTH}: not read",
                                      offset=member.offset)
                        continue
                    fobj = tf.extractfile(member)
                    if fobj is None:
                        continue
                    try:
                        inner_stream = _wrap(fobj, shown, what="tar member", guard_plain=True)
                    except CollectorError as e:
                        yield Problem(shown, e.reason, offset=0, severity="error")
                        continue
                    nested = listing.nested.get(rel) if listing else None
                    yield from self._tar_stream(inner_stream, shown, nested, override,
                                                posixpath.basename(rel), depth + 1)
                    continue
                assert pick.state is not None
                if pick.action == "journal":
                    self._note_journal(tree, pick.state, shown,
                                       f"{display}!{posixpath.dirname(rel)}")
                    continue
                if member.size == 0:
                    yield Problem(shown, "empty file: nothing to scan", offset=0)
                    continue
                fobj = tf.extractfile(member)
                if fobj is None:
                    continue
                # the peeked bytes stay buffered in fobj, which the source hands out as is
                peek = cast(Callable[[int], bytes], getattr(fobj, "peek"))
                head = peek(SNIFF_BYTES)[:SNIFF_BYTES]
                take, problem, kind = _admit(pick, shown, head)
                if problem is not None:
                    yield problem
                if not take:
                    continue
                src = self._source(pick, TarMemberSource(
                    SourceInfo(shown, host=pick.host, kind=kind, origin=pick.state.origin),
                    fobj, cursor))
                cursor.current = src
                yield src
            if not tf.nma_eof:
                yield Problem(display, "archive ends without its end-of-archive marker: it may "
                                       "be truncated", offset=tf.offset)
        except (tarfile.TarError, CollectorError, OSError, EOFError) + _DATA_ERRORS as e:
            offset = e.offset if isinstance(e, StreamReadError) else tf.offset
            yield Problem(display, f"archive reading stopped after member {last!r}: "
                                   f"{_reason(e)}", offset=offset)
        finally:
            cursor.current = None
            tf.close()  # does not close ``stream``: the caller owns it
        yield from self._flush_journals(tree)

    def _zip(self, path: str, display: str, override: str | None) -> Iterator[LogSource | Problem]:
        try:
            zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as e:
            yield Problem(display, f"cannot read as a zip archive: {_reason(e)}", offset=0,
                          severity="error")
            return
        infos: list[tuple[str, zipfile.ZipInfo]] = []
        for zi in zf.infolist():
            if zi.is_dir():
                continue
            rel = _norm_member(zi.filename)
            if rel is None:
                yield Problem(f"{display}!{zi.filename}", f"member path escapes the archive "
                                                          f"({zi.filename!r}): not read",
                              offset=zi.header_offset)
                continue
            if rel:
                infos.append((rel, zi))
        infos.sort(key=lambda t: (posixpath.dirname(t[0]), rotation_key(posixpath.basename(t[0]))))
        by_name = dict(infos)

        def small(rel: str, limit: int) -> bytes | None:
            zi = by_name.get(rel)
            if zi is None or zi.file_size > limit:
                return None
            try:
                with zf.open(zi) as f:
                    return f.read(limit)
            except (zipfile.BadZipFile, OSError, RuntimeError, ValueError,
                    NotImplementedError) + _DATA_ERRORS:
                return None

        def identity_for(root: BundleRoot) -> tuple[str, str] | None:
            for rel in IDENTITY_FILES:
                key = posixpath.join(root.prefix, rel) if root.prefix else rel
                data = small(key, _IDENTITY_MAX)
                host = parse_hostname_file(data) if data else None
                if host:
                    return host, f"{display}!{key}"
            return None

        manifest_data = small("manifest.json", _MANIFEST_MAX)
        roots = detect_bundles(rel for rel, _ in infos) or [BundleRoot("")]
        single = sum(1 for r in roots if not r.leftover) <= 1
        tree = _Tree(display, roots, {}, override,
                     origin_for=lambda r: display if single or not r.prefix
                     else f"{display}!{r.prefix}",
                     container_name=os.path.basename(display),
                     manifest=read_nma_manifest(manifest_data) if manifest_data else None)
        self._open_roots(tree, identity_for)
        for rel, zi in infos:
            shown = f"{display}!{zi.filename}"
            pick = self._pick(tree, rel)
            if pick is None:
                continue
            if pick.action == "archive":
                if archive_suffix(rel) == ".zip":
                    yield Problem(shown, "zip archive inside a zip archive: extract it first",
                                  offset=zi.header_offset)
                    continue
                yield from self._zip_nested_tar(zf, zi, shown, override)
                continue
            assert pick.state is not None
            if pick.action == "journal":
                self._note_journal(tree, pick.state, shown, f"{display}!{posixpath.dirname(rel)}")
                continue
            if zi.file_size == 0:
                yield Problem(shown, "empty file: nothing to scan", offset=0)
                continue
            try:
                with zf.open(zi) as f:
                    head = f.read(SNIFF_BYTES)
            except (zipfile.BadZipFile, OSError, RuntimeError, ValueError,
                    NotImplementedError) + _DATA_ERRORS as e:
                yield Problem(shown, f"cannot read zip member: {_reason(e)}",
                              offset=zi.header_offset, severity="error")
                continue
            take, problem, kind = _admit(pick, shown, head)
            if problem is not None:
                yield problem
            if not take:
                continue
            yield self._source(pick, ZipMemberSource(
                SourceInfo(shown, host=pick.host, kind=kind, origin=pick.state.origin), zf, zi))
        yield from self._flush_journals(tree)

    def _zip_nested_tar(self, zf: zipfile.ZipFile, zi: zipfile.ZipInfo, shown: str,
                        override: str | None) -> Iterator[LogSource | Problem]:
        try:
            with zf.open(zi) as f:
                listing = _tar_listing(_wrap(f, shown, what="data", close_fileobj=False),
                                       shown, seekable=False, depth=1)
            fobj = zf.open(zi)
        except (zipfile.BadZipFile, OSError, RuntimeError, ValueError, CollectorError,
                NotImplementedError) as e:
            yield Problem(shown, f"cannot read zip member: {_reason(e)}",
                          offset=zi.header_offset, severity="error")
            return
        try:
            stream = _wrap(fobj, shown, what="zip member", guard_plain=True)
        except CollectorError as e:
            fobj.close()
            yield Problem(shown, e.reason, offset=0, severity="error")
            return
        try:
            yield from self._tar_stream(stream, shown, listing, override,
                                        posixpath.basename(zi.filename), 1)
        finally:
            stream.close()


def _reason(e: BaseException) -> str:
    if isinstance(e, CollectorError):
        return e.reason
    if isinstance(e, tarfile.ReadError) and "unexpected end of data" in str(e):
        return "truncated archive (unexpected end of data)"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return str(e) or type(e).__name__
