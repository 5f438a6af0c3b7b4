"""Sources x catalogue -> findings: the streaming classification stage.

``iter_scan`` reads every source once with the :class:`~analyzer.matcher.Matcher`, parses only
the matched records, applies each pattern's ``where`` filter, extracts the named fields and
yields :class:`~analyzer.records.Finding` objects as they are found (for ``nma scan``), plus a
:class:`~analyzer.model.InputSummary` after each source and a
:class:`~analyzer.records.Problem` for anything that could not be read.
"""

from __future__ import annotations

import io
import lzma
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from typing import Any, BinaryIO

import re

from . import parsers
from ._streams import ChunkReader
from .catalogue import Catalogue
from .errors import CollectorError
from .matcher import Matcher, RawHit
from .parsers.oslo import strip_debug_suffix
from .records import Finding, InputSummary, LogSource, Problem, Record, SourceInfo, SourceKind

__all__ = ["ScanResult", "scan", "iter_scan", "classify_lines", "ScanItem"]

ScanItem = Finding | Problem | InputSummary

# Errors a stream may raise mid-read: truncated gzip (EOFError), corrupt deflate (zlib.error),
# corrupt xz (LZMAError), broken tar member (TarError), unreadable file (OSError).
# (bz2 and isal's gzip errors are OSErrors; the isal inflater's own error type is turned into
# a StreamReadError by sources.files.)
_READ_ERRORS: tuple[type[BaseException], ...] = (
    OSError, EOFError, zlib.error, lzma.LZMAError, tarfile.TarError, CollectorError, ValueError)


@dataclass
class ScanResult:
    findings: list[Finding] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    inputs: list[InputSummary] = field(default_factory=list)
    engine: str = ""


class _PrefixedStream(io.RawIOBase):
    """A stream whose first bytes were already read for sniffing."""

    def __init__(self, head: bytes, rest: BinaryIO, error: BaseException | None = None) -> None:
        self._head = memoryview(head)
        self._rest = rest
        self._error = error  # raised once the head is consumed (the stream broke inside it)

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head.nbytes:
            n = min(len(b), self._head.nbytes)
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        if self._error is not None:
            err, self._error = self._error, None
            raise err
        ri = getattr(self._rest, "readinto", None)
        if ri is not None:
            return int(ri(b) or 0)
        data = self._rest.read(len(b))
        b[:len(data)] = data
        return len(data)


class _Prefetch(io.RawIOBase):
    """Reads the underlying stream in a background thread, a few MiB ahead of the scanner.

    Decompression (isal, bz2, lzma) and pipe reads release the GIL, so on two cores the
    decompressing of chunk k+1 overlaps the scanning of chunk k (bench/README: .gz input).
    Chunks are read into a small ring of reused buffers (no fresh multi-MiB allocation per
    chunk). A read error is handed over in order, after the data read before it.
    """

    CHUNK = 4 << 20

    def __init__(self, raw: BinaryIO, depth: int = 4) -> None:
        import queue
        import threading

        self._q: queue.Queue[tuple[Any, int] | BaseException | None] = queue.Queue(maxsize=depth)
        self._free: queue.Queue[bytearray] = queue.Queue()
        # buffers are made on demand, small first: most sources are small files, and a
        # fresh 4 MiB buffer per source made 10,000-file bundles several times slower
        self._made = 0
        self._max_bufs = depth + 2
        self._next_size = 64 << 10
        self._stop = threading.Event()
        self._cur: Any = None
        self._cur_n = 0
        self._cur_pos = 0
        self._done = False
        self._raw = raw
        self._t = threading.Thread(target=self._run, name="nma-prefetch", daemon=True)
        self._t.start()

    def _put(self, item: tuple[Any, int] | BaseException | None) -> bool:
        import queue

        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _take_free(self) -> bytearray | None:
        import queue

        if self._made < self._max_bufs and self._free.empty():
            self._made += 1
            size, self._next_size = self._next_size, min(self.CHUNK, self._next_size * 4)
            return bytearray(size)
        while not self._stop.is_set():
            try:
                buf = self._free.get(timeout=0.1)
            except queue.Empty:
                continue
            if len(buf) < self._next_size:  # a long stream: replace the small starters
                size, self._next_size = self._next_size, min(self.CHUNK, self._next_size * 4)
                buf = bytearray(size)
            return buf
        return None

    def _run(self) -> None:
        readinto = getattr(self._raw, "readinto", None)
        try:
            while not self._stop.is_set():
                if readinto is not None:
                    buf = self._take_free()
                    if buf is None:
                        return
                    n = readinto(buf)
                    if not n:
                        break
                    if not self._put((buf, n)):
                        return
                else:
                    data = self._raw.read(self.CHUNK)
                    if not data:
                        break
                    if not self._put((data, len(data))):
                        return
        except BaseException as e:  # noqa: BLE001 - forwarded to the reader, raised there
            self._put(e)
            return
        self._put(None)

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        while self._cur is None or self._cur_pos >= self._cur_n:
            if isinstance(self._cur, bytearray):
                self._free.put(self._cur)  # consumed: back to the producer
            self._cur = None
            if self._done:
                return 0
            item = self._q.get()
            if item is None:
                self._done = True
                return 0
            if isinstance(item, BaseException):
                self._done = True
                raise item
            self._cur, self._cur_n = item
            self._cur_pos = 0
        k = min(len(b), self._cur_n - self._cur_pos)
        b[:k] = memoryview(self._cur)[self._cur_pos:self._cur_pos + k]
        self._cur_pos += k
        return k

    def close(self) -> None:
        self._stop.set()
        self._t.join(timeout=5)
        super().close()


def _is_start(line: bytes) -> bool:
    return parsers.is_record_start(line.decode("latin-1"))


def _start_checker(kind: SourceKind | None) -> Callable[[bytes], bool]:
    """is_record_start bound to the source's kind (keeps embedded QEMU lines in nova records)."""
    def check(line: bytes) -> bool:
        return parsers.is_record_start(line.decode("latin-1"), kind)
    return check


class _Classifier:
    def __init__(self, matcher: Matcher, tz: tzinfo, since: datetime | None,
                 until: datetime | None) -> None:
        self.m = matcher
        self.tz = tz
        self.since = since
        self.until = until

    def records(self, hit: RawHit, info: SourceInfo,
                warn: Callable[[str, int | None, int | None], None],
                state: dict[str, bool]) -> tuple[Record, list[str]]:
        texts: list[str] = []
        for i, raw in enumerate(hit.lines):
            try:
                texts.append(raw.decode("utf-8"))
            except UnicodeDecodeError as e:
                if not state.get("utf8"):
                    state["utf8"] = True
                    warn(f"invalid UTF-8 (byte 0x{raw[e.start]:02x}); replaced with U+FFFD",
                         hit.line_no + i, hit.offset)
                texts.append(raw.decode("utf-8", "replace"))
        texts = [t[:-1] if t.endswith("\r") else t for t in texts]
        rec = parsers.parse_record(texts, info, hit.line_no, self.tz)
        return rec, texts

    def findings(self, hit: RawHit, rec: Record, texts: list[str]) -> list[Finding]:
        out: list[Finding] = []
        if rec.timestamp is not None:
            if self.since is not None and rec.timestamp < self.since:
                return out
            if self.until is not None and rec.timestamp > self.until:
                return out
        for idx in sorted(hit.pattern_idx):
            p = self.m.patterns[idx]
            if not _where_ok(p.where, rec):
                continue
            fields: dict[str, str] = {}
            rx = self.m.extractor(idx)
            for li in hit.hit_lines or (0,):
                mo = rx.search(texts[li]) if li < len(texts) else None
                if mo is not None:
                    fields = {k: v for k, v in mo.groupdict().items() if v is not None}
                    if rec.level == "DEBUG" and rec.fmt in _OSLO_LIKE:
                        # a capture that runs to the end of the line would swallow oslo's
                        # ` funcName path.py:NN` DEBUG suffix: cut it off
                        line_end = len(texts[li])
                        fields = {k: (strip_debug_suffix(v) if mo.end(k) == line_end else v)
                                  for k, v in fields.items()}
                    if rec.fmt in _OSLO_LIKE:
                        fields = {k: _ERROR_SUMMARY.sub("", v) for k, v in fields.items()}
                    break
            out.append(Finding(pattern_id=p.id, kind=p.kind, cause=p.cause, stage=p.stage,
                               severity=p.severity, record=rec, fields=fields))
        return out


_OSLO_LIKE = ("oslo", "syslog", "journal", "docker")
#: oslo.log appends ": <exception summary>" to WARNING+ records logged inside an except block
#: (messages.md §1.1); a capture running to the end of the line must not carry it twice.
_ERROR_SUMMARY = re.compile(
    r": (?:libvirt\.)?libvirtError: .*\Z|: nova\.exception(?:_Remote)?\.\w+: .*\Z"
    r"|: oslo_messaging\.[\w.]+: .*\Z")


def _where_ok(where: object, rec: Record) -> bool:
    w: dict[str, tuple[str, ...]] = where  # type: ignore[assignment]
    if not w:
        return True
    levels = w.get("level")
    if levels and rec.level is not None and rec.level not in levels:
        return False
    loggers = w.get("logger")
    if loggers and rec.logger is not None and rec.fmt in ("oslo", "syslog", "journal", "docker"):
        if not any(rec.logger == lg or rec.logger.startswith(lg + ".") for lg in loggers):
            return False
    kinds = w.get("kind")
    if kinds and rec.kind not in (SourceKind.UNKNOWN, SourceKind.CLI) and rec.kind.value not in kinds:
        return False
    return True


_ZIP_MAGIC = b"PK\x03\x04"  # a zip archive is a bundle, never scanned as text

#: a file modified more recently than this is read, not mapped: logrotate's copytruncate (or
#: any truncation) under a mapping would kill the process with SIGBUS, which Python cannot catch
MAP_QUIET_SECONDS = 120.0


def _mappable(path: str) -> bool:
    """A plain text file on disk (not compressed, not a journal/docker JSON export) that is
    not being written to (see :data:`MAP_QUIET_SECONDS`)."""
    import os
    import stat
    import time

    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or time.time() - st.st_mtime < MAP_QUIET_SECONDS:
            return False
        with open(path, "rb") as fh:
            head = fh.read(65536)
    except OSError:
        return False  # let the normal path open it and report the error
    from .sources.files import sniff_compression

    return (sniff_compression(head) is None and not head.startswith(_ZIP_MAGIC)
            and parsers.sniff_structured(head) is None)


def _open_stream(src: LogSource, warn: Callable[[str, int | None, int | None], None]) -> tuple[
        object, BinaryIO, _Prefetch]:
    cm = src.open()
    fh = _Prefetch(cm.__enter__())
    # a pipe may deliver its first bytes in small pieces: sniff on up to 64 KiB (or all of it)
    head = b""
    error: BaseException | None = None
    while len(head) < 65536:
        try:
            part = fh.read(65536 - len(head))
        except _READ_ERRORS as e:
            if not head:
                raise
            error = e  # scan what was read, then report where the stream broke
            break
        if not part:
            break
        head += part
    fmt = parsers.sniff_structured(head)
    stream: BinaryIO = _PrefixedStream(head, fh, error)  # type: ignore[arg-type,assignment]
    if fmt is not None:
        def on_problem(line: int, msg: str) -> None:
            warn(f"{fmt}: {msg}", line, None)

        stream = ChunkReader(parsers.transcode(fmt, stream, on_problem),  # type: ignore[assignment]
                             src.info.name)
    return cm, stream, fh


def iter_scan(sources: Iterable[LogSource | Problem], catalogue: Catalogue | Matcher, *,
              tz: tzinfo = timezone.utc, since: datetime | None = None,
              until: datetime | None = None, engine: str | None = None,
              on_source: Callable[[SourceInfo], None] | None = None) -> Iterator[ScanItem]:
    """Scan every source once; yield findings as found, an InputSummary per source, problems.

    ``on_source`` is called as each source starts (progress display)."""
    matcher = catalogue if isinstance(catalogue, Matcher) else Matcher(catalogue, engine=engine)
    # naive --since/--until are in the same zone as naive log stamps (--tz)
    since = since.replace(tzinfo=tz) if since is not None and since.tzinfo is None else since
    until = until.replace(tzinfo=tz) if until is not None and until.tzinfo is None else until
    cls = _Classifier(matcher, tz, since, until)
    for src in sources:
        if isinstance(src, Problem):
            yield src
            continue
        info = src.info
        if on_source is not None:
            on_source(info)
        pending: list[Problem] = []

        def warn(msg: str, line: int | None, offset: int | None, _n: str = info.name) -> None:
            pending.append(Problem(source=_n, message=msg, line=line, offset=offset))

        stats: dict[str, int] = {"bytes": 0, "lines": 0}
        count = matched = 0
        state: dict[str, bool] = {}
        cm: object | None = None
        prefetch: _Prefetch | None = None
        try:
            hit_iter: Iterator[RawHit]
            if src.path is not None and _mappable(src.path):
                hit_iter = matcher.iter_hits_mapped(src.path, is_record_start=_start_checker(info.kind),
                                                    on_warning=warn, stats=stats)
            else:
                cm, stream, prefetch = _open_stream(src, warn)
                hit_iter = matcher.iter_hits(stream, is_record_start=_start_checker(info.kind),
                                             on_warning=warn, stats=stats)
            for hit in hit_iter:
                matched += len(hit.hit_lines)
                rec, texts = cls.records(hit, info, warn, state)
                for f in cls.findings(hit, rec, texts):
                    count += 1
                    yield f
                while pending:
                    yield pending.pop(0)
        except _READ_ERRORS as e:
            reason = getattr(e, "reason", None) or getattr(e, "strerror", None) or str(e) or type(e).__name__
            pending.append(Problem(
                source=info.name, severity="error" if not stats["bytes"] else "warning",
                message=(f"could not read: {reason}" if not stats["bytes"]
                         else f"read stopped: {reason}; the rest of this source was not analysed"),
                line=stats["lines"] + 1 if stats["bytes"] else None,
                offset=stats["bytes"] if stats["bytes"] else None))
        finally:
            if prefetch is not None:
                prefetch.close()  # stop reading ahead before the stream is closed under it
            if cm is not None:
                try:
                    cm.__exit__(None, None, None)  # type: ignore[attr-defined]
                except _READ_ERRORS:
                    pass
        yield from pending
        if stats["bytes"] == 0 and not any(p.severity == "error" for p in pending):
            yield Problem(source=info.name, message="empty input", severity="info")
        yield InputSummary(name=info.name, host=info.host,
                           kind=info.kind.value if info.kind else None,
                           bytes_read=stats["bytes"], lines=stats["lines"], findings=count,
                           matched_lines=matched)


def scan(sources: Iterable[LogSource | Problem], catalogue: Catalogue | Matcher, *,
         tz: tzinfo = timezone.utc, since: datetime | None = None, until: datetime | None = None,
         engine: str | None = None,
         on_source: Callable[[SourceInfo], None] | None = None) -> ScanResult:
    """Collect :func:`iter_scan` into a :class:`ScanResult`."""
    matcher = catalogue if isinstance(catalogue, Matcher) else Matcher(catalogue, engine=engine)
    res = ScanResult(engine=matcher.engine_name)
    for item in iter_scan(sources, matcher, tz=tz, since=since, until=until,
                          on_source=on_source):
        if isinstance(item, Finding):
            res.findings.append(item)
        elif isinstance(item, Problem):
            res.problems.append(item)
        else:
            res.inputs.append(item)
    return res


class _BytesSource(LogSource):
    def __init__(self, data: bytes, info: SourceInfo) -> None:
        self.info = info
        self._data = data

    def open(self):  # type: ignore[no-untyped-def]
        import contextlib

        return contextlib.nullcontext(io.BytesIO(self._data))


def classify_lines(text: str | bytes, matcher: Matcher, *, name: str = "<text>",
                   kind: SourceKind | None = None, host: str | None = None,
                   tz: tzinfo = timezone.utc) -> list[Finding]:
    """Classify an in-memory text (pattern samples, tests, a pasted line)."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    src = _BytesSource(data, SourceInfo(name=name, host=host, kind=kind))
    return [f for f in iter_scan([src], matcher, tz=tz) if isinstance(f, Finding)]
