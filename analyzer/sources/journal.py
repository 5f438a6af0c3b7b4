"""The systemd journal, read with systemd-python (``systemd.journal.Reader``).

``journal_sources(paths, since=..., until=...)`` reads the local journal (``paths=None``),
journal directories (``Reader(path=dir)``: ``/var/log/journal``, a sosreport's
``var/log/journal`` with its ``<machine-id>/`` subdirectories, a live journald namespace's
``/run/log/journal/<machine-id>.<ns>``) and single journal files (``Reader(files=[f])``),
several at once; each path is one journal set.

Only entries that can carry live-migration evidence are read, in four *unit groups*:

=============== ============== ===========================================================
group           kind           entries (any of)
=============== ============== ===========================================================
nova-compute    nova-compute   ``_SYSTEMD_UNIT`` nova-compute.service,
                               openstack-nova-compute.service; ``SYSLOG_IDENTIFIER``
                               nova-compute, nova_compute; ``CONTAINER_NAME`` nova_compute
nova-conductor  nova-conductor ``_SYSTEMD_UNIT`` nova-conductor.service,
                               openstack-nova-conductor.service; ``SYSLOG_IDENTIFIER``
                               nova-conductor, nova_conductor; ``CONTAINER_NAME`` nova_conductor
libvirtd        libvirtd       ``_SYSTEMD_UNIT`` libvirtd/virtqemud/virtproxyd.service;
                               ``SYSLOG_IDENTIFIER`` libvirtd, virtqemud, virtproxyd,
                               nova_libvirt; ``CONTAINER_NAME`` nova_libvirt, nova_virtqemud
kernel          kernel         ``_TRANSPORT`` kernel or audit (AppArmor/SELinux AVC lines);
                               ``SYSLOG_IDENTIFIER`` kernel
=============== ============== ===========================================================

(``CONTAINER_NAME`` catches containers run with docker's/podman's ``journald`` log
driver, whose ``SYSLOG_IDENTIFIER`` is the container id.)

One :class:`~analyzer.records.LogSource` is yielded per (``_HOSTNAME``, group) that has
entries in the window, named ``journal:<path>#<host>/<group>``. Its ``open()`` streams
canonical text lines, the ``journalctl -o short-iso-precise --utc`` form of
``docs/CONTRACTS.md``::

    2026-01-02T03:04:05.123456+00:00 compute-1 nova-compute[1234]: Live Migration failure: ...

built from the journal's own ``__REALTIME_TIMESTAMP`` (UTC, microseconds, exact integer
arithmetic), ``_HOSTNAME``, ``SYSLOG_IDENTIFIER`` (else ``_COMM``; ``kernel`` for the
kernel transport) and ``_PID`` (else ``SYSLOG_PID``; omitted with the brackets when
absent). Continuation lines of a multi-line ``MESSAGE`` follow bare. Message bytes are
passed through undecoded.

``since``/``until`` (aware datetimes; a naive one is taken as UTC) are applied in the
reader: ``seek_realtime(since)`` (inclusive) and a stop at the first entry after
``until`` (inclusive, like ``journalctl --until``).

A journal file that libsystemd cannot open (garbled header, truncated) becomes a
:class:`~analyzer.records.Problem` naming the file; the other files of the set are still
read (libsystemd skips such files in a directory). A path that does not exist, a set
without journal files, and a set without any entry of the four groups are problems too.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, BinaryIO, cast

from analyzer.errors import CollectorError
from analyzer.records import LogSource, Problem, SourceInfo, SourceKind
from analyzer._streams import ChunkReader
from analyzer.sources.docker import CHUNK_SIZE

if TYPE_CHECKING:
    from systemd import journal as _journal

__all__ = ["UnitGroup", "GROUPS", "journal_sources", "format_entry"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: largest field value libsystemd hands over (its default of 64 KiB would cut long
#: tracebacks short); also the memory bound of one entry
DATA_THRESHOLD = 8 * 1024 * 1024
#: lines are handed on in batches of about this many bytes
_BATCH = 64 * 1024


@dataclass(frozen=True, slots=True)
class UnitGroup:
    """Journal entries of one program family, read as one stream per host."""

    name: str
    kind: SourceKind
    units: tuple[str, ...] = ()
    idents: tuple[str, ...] = ()
    containers: tuple[str, ...] = ()
    transports: tuple[str, ...] = ()

    def terms(self) -> list[tuple[str, tuple[str, ...]]]:
        """(field, values) alternatives: an entry matching any one belongs to the group."""
        pairs = [("_SYSTEMD_UNIT", self.units), ("SYSLOG_IDENTIFIER", self.idents),
                 ("CONTAINER_NAME", self.containers), ("_TRANSPORT", self.transports)]
        return [(f, v) for f, v in pairs if v]


GROUPS: tuple[UnitGroup, ...] = (
    UnitGroup("nova-compute", SourceKind.NOVA_COMPUTE,
              units=("nova-compute.service", "openstack-nova-compute.service"),
              idents=("nova-compute", "nova_compute"), containers=("nova_compute",)),
    UnitGroup("nova-conductor", SourceKind.NOVA_CONDUCTOR,
              units=("nova-conductor.service", "openstack-nova-conductor.service"),
              idents=("nova-conductor", "nova_conductor"), containers=("nova_conductor",)),
    UnitGroup("libvirtd", SourceKind.LIBVIRTD,
              units=("libvirtd.service", "virtqemud.service", "virtproxyd.service"),
              idents=("libvirtd", "virtqemud", "virtproxyd", "nova_libvirt"),
              containers=("nova_libvirt", "nova_virtqemud")),
    UnitGroup("kernel", SourceKind.KERNEL, idents=("kernel",), transports=("kernel", "audit")),
)


def _us(dt: datetime) -> int:
    """Microseconds since the epoch, exactly (a naive datetime is taken as UTC)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return (dt - _EPOCH) // timedelta(microseconds=1)


def _apply_matches(reader: _journal.Reader, group: UnitGroup, host: str | None) -> None:
    """(term1 AND host) OR (term2 AND host) ...; values of one field are ORed by libsystemd."""
    reader.flush_matches()
    for i, (field, values) in enumerate(group.terms()):
        if i:
            reader.add_disjunction()
        for v in values:
            reader.add_match(f"{field}={v}")
        if host is not None:
            reader.add_match(f"_HOSTNAME={host}")


class _Fields:
    """Field access on the reader's current entry, without building a dict per entry.

    ``Reader.get_next()`` copies *every* field of every entry and converts timestamps and
    UUIDs; reading only the six printed fields through the C reader's ``_get`` is about
    6x faster (measured: 2000 entries in 5 ms instead of 31 ms).
    """

    __slots__ = ("_get",)

    def __init__(self, reader: _journal.Reader) -> None:
        self._get = reader._get

    def __call__(self, name: str) -> bytes | None:
        try:
            value = self._get(name)
        except KeyError:
            return None
        return value if isinstance(value, bytes) else str(value).encode()


_stamp_cache: tuple[int, bytes] = (-1, b"")


def _stamp(us: int) -> bytes:
    """``2026-01-02T03:04:05.123456+00:00`` from epoch microseconds (UTC)."""
    global _stamp_cache
    secs, frac = divmod(us, 1_000_000)
    cached_secs, prefix = _stamp_cache
    if cached_secs != secs:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)).encode()
        _stamp_cache = (secs, prefix)
    return b"%s.%06d+00:00" % (prefix, frac)


def format_entry(us: int, host: bytes | None, ident: bytes | None, pid: bytes | None,
                 message: bytes | None) -> bytes:
    """One entry as canonical lines (each ending in ``\\n``).

    >>> format_entry(1767323045123456, b"compute-1", b"nova-compute", b"1234", b"a\\nb\\n")
    b'2026-01-02T03:04:05.123456+00:00 compute-1 nova-compute[1234]: a\\nb\\n'
    """
    head = b"%s %s %s%s: " % (_stamp(us), host or b"-", ident or b"-",
                              b"[" + pid + b"]" if pid else b"")
    body = message or b""
    if body.endswith(b"\n"):
        body = body[:-1]
    return head + body + b"\n"


class JournalSource(LogSource):
    """The entries of one unit group of one host in one journal set, as canonical text."""

    def __init__(self, open_reader: _ReaderFactory, group: UnitGroup, host: str | None,
                 info: SourceInfo, *, since_us: int | None, until_us: int | None) -> None:
        self.info = info
        self.path = None
        self._open_reader = open_reader
        self._group = group
        self._host = host
        self._since = since_us
        self._until = until_us

    def open(self) -> AbstractContextManager[BinaryIO]:
        try:
            reader = self._open_reader()
        except OSError as exc:
            raise CollectorError(self.info.name, f"cannot open the journal: {exc.strerror or exc}") from exc
        _apply_matches(reader, self._group, self._host)
        if self._since is not None:
            reader.seek_realtime(self._since)  # int: exact microseconds (no float round trip)
        else:
            reader.seek_head()
        raw = ChunkReader(self._lines(reader), self.info.name, on_close=reader.close)
        return cast(BinaryIO, io.BufferedReader(raw, CHUNK_SIZE))

    def _lines(self, reader: _journal.Reader) -> Iterator[bytes]:
        get = _Fields(reader)
        until = self._until
        batch: list[bytes] = []
        size = n = 0
        while True:
            try:
                if not reader._next():
                    break
                us = reader._get_realtime()
            except OSError as exc:
                raise CollectorError(self.info.name,
                                     f"journal read failed after {n} entries: {exc.strerror or exc}") from exc
            if until is not None and us > until:
                break
            n += 1
            transport = get("_TRANSPORT")
            ident = get("SYSLOG_IDENTIFIER") or (b"kernel" if transport == b"kernel" else get("_COMM"))
            line = format_entry(us, get("_HOSTNAME"), ident, get("_PID") or get("SYSLOG_PID"), get("MESSAGE"))
            batch.append(line)
            size += len(line)
            if size >= _BATCH:
                yield b"".join(batch)
                batch, size = [], 0
        if batch:
            yield b"".join(batch)


class _ReaderFactory:
    """Opens a fresh ``Reader`` on one journal set (each stream gets its own cursor)."""

    def __init__(self, path: str | None, files: Sequence[str] | None) -> None:
        self.path = path
        self.files = list(files) if files is not None else None

    def __call__(self) -> _journal.Reader:
        from systemd import journal

        if self.files is not None:
            reader = journal.Reader(files=self.files)
        elif self.path is not None:
            reader = journal.Reader(path=self.path)
        else:
            reader = journal.Reader()  # local journal (system + users)
        reader.data_threshold = DATA_THRESHOLD
        return reader


def _journal_files(top: str) -> list[str]:
    found = []
    for root, _dirs, names in os.walk(top):
        found += [os.path.join(root, n) for n in names if n.endswith((".journal", ".journal~"))]
    return sorted(found)


def _check_file(path: str) -> str | None:
    """None when libsystemd opens the file and reads its first entry, else why not."""
    from systemd import journal

    try:
        reader = journal.Reader(files=[path])
    except OSError as exc:
        return f"corrupt or unreadable journal file ({exc.strerror or exc}): skipped, the other files are read"
    try:
        reader._next()
    except OSError as exc:
        return f"corrupt journal file ({exc.strerror or exc}) at its first entry: skipped"
    finally:
        reader.close()
    return None


def _journal_set(path: str | None) -> tuple[str, _ReaderFactory | None, list[Problem]]:
    """(display label, reader factory or None when nothing is readable, problems)."""
    if path is None:
        return "local", _ReaderFactory(None, None), []
    label = path
    if not os.path.exists(path):
        return label, None, [Problem(source=f"journal:{path}", message="no such file or directory", severity="error")]
    files = _journal_files(path) if os.path.isdir(path) else [path]
    problems: list[Problem] = []
    good = []
    for f in files:
        why = _check_file(f)
        if why is None:
            good.append(f)
        else:
            problems.append(Problem(source=f"journal:{f}", message=why, severity="error"))
    if not good:
        if not files:
            problems.append(Problem(source=f"journal:{path}", message="no journal files (*.journal) here",
                                    severity="error"))
        return label, None, problems
    if os.path.isdir(path):
        # libsystemd's own directory handling (machine-id subdirectories, online files);
        # it skips the corrupt files reported above.
        return label, _ReaderFactory(path, None), problems
    return label, _ReaderFactory(None, good), problems


def journal_sources(paths: Sequence[str] | None, *, since: datetime | None,
                    until: datetime | None) -> Iterator[LogSource | Problem]:
    """Yield one stream per (host, unit group) of each journal set (see the module docstring).

    ``paths``: None for the local journal, else journal directories and/or files.
    """
    try:
        from systemd import journal  # noqa: F401  (fail early with a clear message)
    except ImportError:
        yield Problem(source="journal", severity="error",
                      message="systemd-python is not installed (pip install systemd-python; needs libsystemd-dev)")
        return
    since_us = _us(since) if since is not None else None
    until_us = _us(until) if until is not None else None
    for path in ([None] if paths is None else list(paths)):
        label, factory, problems = _journal_set(path)
        yield from problems
        if factory is None:
            continue
        yield from _set_sources(label, factory, since_us=since_us, until_us=until_us)


def _set_sources(label: str, factory: _ReaderFactory, *, since_us: int | None,
                 until_us: int | None) -> Iterator[LogSource | Problem]:
    origin = f"journal:{label}"
    try:
        reader = factory()
    except OSError as exc:
        yield Problem(source=origin, message=f"cannot open the journal: {exc.strerror or exc}", severity="error")
        return
    try:
        if label == "local" and not (reader.has_persistent_files() or reader.has_runtime_files()):
            yield Problem(source=origin, message="no journal files on this machine (journald not running, "
                                                 "or Storage=none)")
            return
        hosts: list[str | None] = [*sorted(
            h.decode("utf-8", "replace") if isinstance(h, bytes) else str(h)
            for h in reader.query_unique("_HOSTNAME"))]
        found = 0
        for host in hosts or [None]:
            for group in GROUPS:
                # Cheap probe through the field indexes: is there one entry in the window?
                _apply_matches(reader, group, host)
                try:
                    if since_us is not None:
                        reader.seek_realtime(since_us)
                    else:
                        reader.seek_head()
                    if not reader._next() or (until_us is not None and reader._get_realtime() > until_us):
                        continue
                except OSError as exc:
                    yield Problem(source=f"{origin}#{host}/{group.name}",
                                  message=f"journal read failed: {exc.strerror or exc}")
                    continue
                found += 1
                yield JournalSource(factory, group, host,
                                    SourceInfo(name=f"{origin}#{host or '-'}/{group.name}", host=host,
                                               kind=group.kind, origin=origin),
                                    since_us=since_us, until_us=until_us)
        if not found:
            yield Problem(source=origin, message=("no nova-compute, nova-conductor, libvirtd or kernel entries "
                                                  "in the requested time window"))
    finally:
        reader.close()
