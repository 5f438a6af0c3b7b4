"""Structured log streams -> canonical text lines the line parsers and the matcher read.

Three inputs are recognised by :func:`sniff_structured` from the first bytes of a stream:

``journal-json``
    ``journalctl -o json`` (also ``json-seq``: a leading RS byte per entry). One object per
    line; ``MESSAGE`` is a string, a list of byte values (non-UTF-8 data), ``null`` (field
    larger than 4096 bytes without ``--all``) or a list of those when a field repeats (the
    last value is used, as journalctl's text output does).
``journal-export``
    ``journalctl -o export``: ``KEY=VALUE`` lines; a value with non-printable bytes is
    ``KEY\\n<le64 length><data>\\n``; a blank line ends an entry.
``docker-json``
    Docker's json-file driver: ``{"log":"…\\n","stream":"stdout","time":"…Z"}`` per line. A
    ``log`` without a trailing newline is a partial line (Docker splits at 16 KiB) that the
    next object continues.

:func:`transcode` turns each entry into ``journalctl -o short-iso-precise`` lines::

    2026-01-02T03:04:05.123456+00:00 HOST IDENT[PID]: MESSAGE

``HOST`` is ``_HOSTNAME`` (``-`` when unknown). ``IDENT`` is ``CONTAINER_NAME`` when present
(Docker's journald driver: ``SYSLOG_IDENTIFIER`` is then just the container id), else
``SYSLOG_IDENTIFIER``, ``_COMM``, the unit name, or ``-``; ``[PID]`` from ``_PID`` or
``SYSLOG_PID`` is omitted when absent. Time is ``_SOURCE_REALTIME_TIMESTAMP`` when present
(as journalctl shows it), else ``__REALTIME_TIMESTAMP``. For Docker, ``HOST`` is ``-`` and
``IDENT`` is the stream name (``stdout``/``stderr``): the collector knows the container.

Further lines of a multi-line ``MESSAGE`` follow *bare*, indented by the prefix width exactly
as journalctl prints them, so :func:`analyzer.parsers.is_record_start` sees them as
continuation lines even when they begin with a timestamp of their own (a QEMU log tail
inside a libvirt error), and :func:`analyzer.parsers.parse_record` removes the indent.
Every yielded item is one physical line ending in ``b"\\n"``; messages are passed through as
bytes (no decoding), so invalid UTF-8 reaches the line decoder unchanged.

**Bad input is never dropped silently.** An entry that cannot be decoded (malformed JSON, a
non-object, a bad export field, an over-long line) is still emitted, as a canonical line
with ``HOST`` ``-`` and ``IDENT`` ``nma-unparsed`` whose message is the raw input text; its
time is the previous good entry's (``1970-01-01T00:00:00.000000+00:00`` before the first).
In addition ``on_problem(line_no, message)`` is called, ``line_no`` being the 1-based line
of the input where the bad entry starts and ``message`` saying what was wrong and what was
done (it does not repeat the format name); the caller turns that into a
:class:`analyzer.records.Problem`. Memory is bounded: one entry at a time, lines and fields
capped at :data:`MAX_FIELD` bytes (the rest is skipped and reported).

Sample input (journal-json, one line)::

    {"__REALTIME_TIMESTAMP":"1767323045123456","_HOSTNAME":"compute-1","SYSLOG_IDENTIFIER":"nova-compute","_PID":"42","MESSAGE":"entry 0"}

Examples:

    >>> import io
    >>> sniff_structured(b'{"__CURSOR":"s=1","__REALTIME_TIMESTAMP":"1767323045123456","MESSAGE":"x"}\\n')
    'journal-json'
    >>> sniff_structured(b'{"log":"hello\\\\n","stream":"stdout","time":"2024-07-11T22:10:59.946123456Z"}\\n')
    'docker-json'
    >>> sniff_structured(b"2024-07-11 22:10:59.946 2 INFO nova.compute.manager [-] x\\n") is None
    True
    >>> data = (b'{"__REALTIME_TIMESTAMP":"1767323045123456","_HOSTNAME":"compute-1",'
    ...         b'"SYSLOG_IDENTIFIER":"nova-compute","_PID":"42","MESSAGE":"CPU doesn\\'t have compatibility.\\\\n\\\\n0"}\\n'
    ...         b'{not json\\n')
    >>> problems = []
    >>> for out in transcode("journal-json", io.BytesIO(data), lambda n, m: problems.append((n, m))):
    ...     print(out.decode().rstrip("\\n"))
    2026-01-02T03:04:05.123456+00:00 compute-1 nova-compute[42]: CPU doesn't have compatibility.
    <BLANKLINE>
                                                                 0
    2026-01-02T03:04:05.123456+00:00 - nma-unparsed: {not json
    >>> problems
    [(2, 'not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1)); emitted as raw text')]
"""

from __future__ import annotations

import io
import json
import re
import struct
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from ._common import UTC, parse_iso

__all__ = ["FORMATS", "MAX_FIELD", "ProblemCallback", "sniff_structured", "transcode"]

FORMATS = ("journal-json", "journal-export", "docker-json")
#: Largest line / field / joined Docker partial line kept (bytes); the rest is skipped and
#: reported. journald's own default cap for a field is far below this (48 KiB lines).
MAX_FIELD = 8 * 1024 * 1024

ProblemCallback = Callable[[int, str], None]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNPARSED = b"nma-unparsed"
_FIELD_NAME = re.compile(rb"[A-Z0-9_]+")
_EXPORT_HEAD = re.compile(rb"(?:__CURSOR|__REALTIME_TIMESTAMP|__MONOTONIC_TIMESTAMP|_BOOT_ID)=")
_WANTED = frozenset({b"MESSAGE", b"__REALTIME_TIMESTAMP", b"_SOURCE_REALTIME_TIMESTAMP",
                     b"_HOSTNAME", b"SYSLOG_IDENTIFIER", b"_COMM", b"_SYSTEMD_UNIT", b"_PID",
                     b"SYSLOG_PID", b"CONTAINER_NAME"})


# --------------------------------------------------------------------------- sniffing

def sniff_structured(head: bytes) -> str | None:
    """``'journal-json' | 'journal-export' | 'docker-json' | None`` from a stream's first bytes."""
    text = head.lstrip(b"\xef\xbb\xbf\x1e \t\r\n")
    if not text:
        return None
    if text[:1] == b"{":
        first = text.split(b"\n", 1)[0]
        keys: set[str] = set()
        try:
            obj = json.loads(first.lstrip(b"\x1e"))
            if isinstance(obj, dict):
                keys = set(obj)
        except ValueError:  # head cut inside the first object: look at the raw text
            keys = {k.decode() for k in re.findall(rb'"([A-Za-z_][A-Za-z0-9_]*)"\s*:', first)}
        if keys & {"__CURSOR", "__REALTIME_TIMESTAMP", "__MONOTONIC_TIMESTAMP", "_BOOT_ID"} or (
                "MESSAGE" in keys and "log" not in keys):
            return "journal-json"
        if "log" in keys and ("time" in keys or "stream" in keys):
            return "docker-json"
        return None
    # Export format: KEY=VALUE lines, one of journald's address fields near the top. Plain
    # text that happens to start with KEY= (the QEMU log's "LC_ALL=C PATH=…") has none.
    if _FIELD_NAME.match(text):
        for line in text.split(b"\n", 16)[:16]:
            if _EXPORT_HEAD.match(line):
                return "journal-export"
    return None


# --------------------------------------------------------------------------- output

def _stamp(micros: int) -> bytes:
    return (_EPOCH + timedelta(microseconds=micros)).isoformat(timespec="microseconds").encode()


def _lines(stamp: bytes, host: bytes, ident: bytes, pid: bytes | None,
           message: bytes) -> Iterator[bytes]:
    prefix = b"%s %s %s[%s]: " % (stamp, host, ident, pid) if pid else b"%s %s %s: " % (stamp, host, ident)
    if message.endswith(b"\n"):
        message = message[:-1]
    parts = message.split(b"\n")
    yield prefix + parts[0].rstrip(b"\r") + b"\n"
    if len(parts) > 1:
        pad = b" " * len(prefix.decode("utf-8", "replace"))  # journalctl pads by display width
        for part in parts[1:]:
            yield pad + part.rstrip(b"\r") + b"\n"


def _token(value: bytes | None, default: bytes = b"-") -> bytes:
    """A host/ident value that cannot break the canonical line (no blanks, brackets, colons)."""
    if not value:
        return default
    value = value.split(b"\n", 1)[0].strip()
    return re.sub(rb"[\s\[\]:]", b"_", value) or default


class _Clock:
    """The last good entry time, used for entries that carry none (see module docstring)."""

    def __init__(self) -> None:
        self.last = 0

    def take(self, *candidates: bytes | None) -> tuple[int | None, bytes]:
        for c in candidates:
            if c and c.isdigit():
                self.last = int(c)
                return self.last, _stamp(self.last)
        return None, _stamp(self.last)


def _report(on_problem: ProblemCallback | None, line_no: int, message: str) -> None:
    if on_problem is not None:
        on_problem(line_no, message)


def _unparsed(clock: _Clock, raw: bytes) -> Iterator[bytes]:
    yield from _lines(_stamp(clock.last), b"-", _UNPARSED, None, raw.rstrip(b"\r\n"))


def _entry_lines(fields: dict[bytes, bytes], clock: _Clock, line_no: int,
                 on_problem: ProblemCallback | None) -> Iterator[bytes]:
    micros, stamp = clock.take(fields.get(b"_SOURCE_REALTIME_TIMESTAMP"),
                               fields.get(b"__REALTIME_TIMESTAMP"))
    if micros is None:
        _report(on_problem, line_no, "entry has no __REALTIME_TIMESTAMP; "
                                     "using the previous entry's time")
    if b"MESSAGE" not in fields:
        _report(on_problem, line_no, "entry has no MESSAGE")
    unit = fields.get(b"_SYSTEMD_UNIT")
    if unit and unit.endswith(b".service"):
        unit = unit[:-8]
    ident = (fields.get(b"CONTAINER_NAME") or fields.get(b"SYSLOG_IDENTIFIER")
             or fields.get(b"_COMM") or unit)
    pid = fields.get(b"_PID") or fields.get(b"SYSLOG_PID")
    yield from _lines(stamp, _token(fields.get(b"_HOSTNAME")), _token(ident),
                      pid if pid and pid.isdigit() else None, fields.get(b"MESSAGE", b""))


# --------------------------------------------------------------------------- readers

def _read_lines(stream: BinaryIO,
                on_problem: ProblemCallback | None) -> Iterator[tuple[int, bytes]]:
    """``(line_no, line)`` with each line capped at MAX_FIELD bytes (rest skipped, reported)."""
    line_no = 0
    while True:
        line = stream.readline(MAX_FIELD + 1)
        if not line:
            return
        line_no += 1
        if len(line) > MAX_FIELD and not line.endswith(b"\n"):
            skipped = 0
            while True:
                more = stream.readline(MAX_FIELD)
                skipped += len(more)
                if not more or more.endswith(b"\n"):
                    break
            _report(on_problem, line_no, f"line longer than {MAX_FIELD} bytes; "
                                         f"{skipped} bytes after the first {MAX_FIELD} skipped")
            line = line[:MAX_FIELD]
        yield line_no, line


def _json_value(value: Any) -> bytes | None:
    """A journal JSON field value as bytes (string, byte array, or repeated field)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode("utf-8", "replace")  # lone surrogates: not in real output
    if isinstance(value, list):
        if all(isinstance(v, int) for v in value):
            try:
                return bytes(value)
            except ValueError:
                return None
        # a repeated field: journalctl's text output shows the last value; so do we
        for item in reversed(value):
            v = _json_value(item)
            if v is not None:
                return v
        return None
    return str(value).encode()


def _journal_json(stream: BinaryIO, on_problem: ProblemCallback | None) -> Iterator[bytes]:
    clock = _Clock()
    for line_no, raw in _read_lines(stream, on_problem):
        text = raw.lstrip(b"\x1e").strip()
        if not text:
            continue
        try:
            obj = json.loads(text)
        except ValueError as exc:
            _report(on_problem, line_no, f"not valid JSON ({exc}); emitted as raw text")
            yield from _unparsed(clock, text)
            continue
        if not isinstance(obj, dict):
            _report(on_problem, line_no, "not a JSON object; emitted as raw text")
            yield from _unparsed(clock, text)
            continue
        fields: dict[bytes, bytes] = {}
        for key, value in obj.items():
            k = key.encode()
            if k in _WANTED:
                v = _json_value(value)
                if v is not None:
                    fields[k] = v
                elif k == b"MESSAGE":
                    _report(on_problem, line_no, "MESSAGE is null (larger than "
                                                 "4096 bytes; export with journalctl --all)")
                    fields[k] = b""
        yield from _entry_lines(fields, clock, line_no, on_problem)


def _journal_export(stream: BinaryIO, on_problem: ProblemCallback | None) -> Iterator[bytes]:
    clock = _Clock()
    fields: dict[bytes, bytes] = {}
    line_no = 0  # physical input lines consumed so far
    start = 0  # line where the current entry began
    while True:
        line = stream.readline(MAX_FIELD + 1)
        if not line:
            break
        line_no += 1
        if not start:
            start = line_no
        if line in (b"\n", b"\r\n"):  # end of entry
            if fields:
                yield from _entry_lines(fields, clock, start, on_problem)
            fields, start = {}, 0
            continue
        if not line.endswith(b"\n") and len(line) > MAX_FIELD:
            while True:
                more = stream.readline(MAX_FIELD)
                if not more or more.endswith(b"\n"):
                    break
            _report(on_problem, line_no, f"field longer than {MAX_FIELD} bytes skipped")
            continue
        body = line.rstrip(b"\n")
        eq = body.find(b"=")
        name = body[:eq] if eq > 0 else body
        if not _FIELD_NAME.fullmatch(name):
            _report(on_problem, line_no, "not a KEY=VALUE field; emitted as raw text")
            yield from _unparsed(clock, body)
            continue
        if eq > 0:
            if name in _WANTED:
                fields[name] = body[eq + 1:]
            continue
        # binary field: NAME\n <le64 size> <data> \n
        size_raw = stream.read(8)
        if len(size_raw) < 8:
            _report(on_problem, line_no, f"stream ends inside binary field {name.decode()}")
            break
        (size,) = struct.unpack("<Q", size_raw)
        if size > MAX_FIELD:
            remaining = size + 1
            while remaining:
                chunk = stream.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                line_no += chunk.count(b"\n")
                remaining -= len(chunk)
            _report(on_problem, line_no, f"binary field {name.decode()} of "
                                         f"{size} bytes skipped (limit {MAX_FIELD})")
            continue
        data = stream.read(size)
        trailer = stream.read(1)
        line_no += data.count(b"\n") + (1 if trailer == b"\n" else 0)
        if len(data) < size or trailer != b"\n":
            _report(on_problem, line_no, f"binary field {name.decode()} is truncated")
            if len(data) < size or not trailer:
                fields[name] = data
                break
        if name in _WANTED:
            fields[name] = data
    if fields:
        yield from _entry_lines(fields, clock, start or line_no, on_problem)


class _Partial:
    """A Docker line split over several json-file objects (per stream: they interleave)."""

    __slots__ = ("parts", "size", "line_no", "stamp", "name")

    def __init__(self, line_no: int, stamp: bytes, name: bytes) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.line_no = line_no
        self.stamp = stamp
        self.name = name

    def lines(self) -> Iterator[bytes]:
        return _lines(self.stamp, b"-", self.name, None, b"".join(self.parts))


def _docker_json(stream: BinaryIO, on_problem: ProblemCallback | None) -> Iterator[bytes]:
    clock = _Clock()
    pending: dict[bytes, _Partial] = {}  # stream name -> unfinished line
    for line_no, raw in _read_lines(stream, on_problem):
        text = raw.strip()
        if not text:
            continue
        try:
            obj = json.loads(text)
            log = obj["log"]
            if not isinstance(log, str):
                raise TypeError("log is not a string")
        except (ValueError, TypeError, KeyError) as exc:
            _report(on_problem, line_no, f"not a json-file log entry ({exc!r}); "
                                         "emitted as raw text")
            yield from _unparsed(clock, text)
            continue
        ts = parse_iso(str(obj.get("time", "")))
        if ts is not None:
            delta = ts.astimezone(UTC) - _EPOCH
            clock.last = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
        else:
            _report(on_problem, line_no, "entry has no valid time; "
                                         "using the previous entry's time")
        name = _token(str(obj.get("stream", "")).encode())
        part = pending.get(name)
        if part is None:
            part = pending[name] = _Partial(line_no, _stamp(clock.last), name)
        data = log.encode("utf-8", "replace")
        part.parts.append(data)
        part.size += len(data)
        if data.endswith(b"\n"):
            del pending[name]
            yield from part.lines()
        elif part.size > MAX_FIELD:
            _report(on_problem, part.line_no, f"partial line longer than "
                                              f"{MAX_FIELD} bytes; split")
            del pending[name]
            yield from part.lines()
    for part in pending.values():  # the stream ended inside a line: keep what we have
        yield from part.lines()


def transcode(fmt: str, stream: BinaryIO,
              on_problem: ProblemCallback | None = None) -> Iterator[bytes]:
    """Canonical short-iso-precise lines (each ending in ``b"\\n"``) from a structured stream.

    ``fmt`` is a :func:`sniff_structured` result; ``stream`` is read sequentially (a raw,
    unbuffered stream is wrapped in a buffer). Undecodable input is emitted as
    ``nma-unparsed`` lines and reported through ``on_problem(line_no, message)``.
    Raises ``ValueError`` for an unknown ``fmt`` (a caller bug, not bad input).
    """
    if isinstance(stream, io.RawIOBase):
        # readline() on a raw stream reads one byte per call: buffer it (1 MiB reads)
        stream = io.BufferedReader(stream, 1 << 20)
    if fmt == "journal-json":
        return _journal_json(stream, on_problem)
    if fmt == "journal-export":
        return _journal_export(stream, on_problem)
    if fmt == "docker-json":
        return _docker_json(stream, on_problem)
    raise ValueError(f"unknown structured format {fmt!r}; expected one of {', '.join(FORMATS)}")
