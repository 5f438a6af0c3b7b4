"""Typed, frozen records that cross layer boundaries.

The pipeline is ``sources -> matcher -> parsers -> findings -> correlate -> report``:

* a *source* (:class:`LogSource`) is one readable byte stream with what we know of it
  (display name, host, source kind);
* the matcher finds candidate lines in the raw bytes and hands only those lines to the
  parsers, which build a :class:`Record`;
* a :class:`Finding` is a record classified by one catalogue pattern;
* anything that could not be read becomes a :class:`Problem` and is reported, never dropped.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

__all__ = [
    "SourceKind",
    "SourceInfo",
    "LogSource",
    "Record",
    "Finding",
    "Problem",
    "InputSummary",
]


class SourceKind(str, enum.Enum):
    """What program wrote a stream (or a line). Values are stable strings used in JSON."""

    NOVA_COMPUTE = "nova-compute"
    NOVA_CONDUCTOR = "nova-conductor"
    NOVA_API = "nova-api"
    NOVA_SCHEDULER = "nova-scheduler"
    NOVA = "nova"  # an oslo.log nova line whose service is not known
    NEUTRON = "neutron"
    LIBVIRTD = "libvirtd"  # libvirtd, virtqemud, virtproxyd
    QEMU = "qemu"  # /var/log/libvirt/qemu/<instance>.log
    AUDIT = "audit"  # auditd's audit.log
    KERNEL = "kernel"  # dmesg / kern.log / journal kernel transport
    JOURNAL = "journal"  # a journal stream whose unit is not one of the above
    SYSLOG = "syslog"  # /var/log/messages, /var/log/syslog
    CLI = "cli"  # virsh / openstack client output
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What is known about a stream before any line is read.

    ``name`` is the display name used in every message and report: a path, or
    ``bundle.tar.gz!var/log/nova/nova-compute.log`` for an archive member, or
    ``docker://compute-02/nova_compute`` / ``journal:/var/log/journal`` for collectors.
    """

    name: str
    host: str | None = None
    kind: SourceKind | None = None
    #: the bundle / collector this stream came from, for "what each bundle lacked"
    origin: str | None = None


class LogSource(abc.ABC):
    """One readable stream of log bytes.

    Collectors yield these; the matcher reads them once. ``open`` returns a binary file
    object that is read sequentially in large chunks and closed by the caller. A source
    that is a regular file on disk sets ``path`` so the matcher may ``mmap`` it.
    """

    info: SourceInfo
    path: str | None = None

    @abc.abstractmethod
    def open(self) -> AbstractContextManager[BinaryIO]:
        """Open the stream for reading; raises :class:`analyzer.errors.CollectorError`."""


@dataclass(frozen=True, slots=True)
class Record:
    """One logical log record (a physical line plus any joined continuation lines).

    ``timestamp`` is always timezone-aware (UTC) when present; ``tz_assumption`` says how
    it was obtained: ``"explicit"`` (the line carried a zone: libvirt ``+0000``, QEMU ``Z``,
    journal/epoch), or ``"assumed UTC+02:00 (--tz)"`` for naive oslo/syslog stamps.
    """

    source: str
    line: int
    text: str
    message: str
    fmt: str = "raw"
    kind: SourceKind = SourceKind.UNKNOWN
    end_line: int | None = None
    timestamp: datetime | None = None
    tz_assumption: str | None = None
    host: str | None = None
    level: str | None = None
    logger: str | None = None
    pid: int | None = None
    thread: str | None = None
    global_request_id: str | None = None
    request_id: str | None = None
    instance_uuid: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """A record classified by one catalogue pattern, with the pattern's named captures."""

    pattern_id: str
    kind: str  # "cause" | "event"
    cause: str | None  # taxonomy id when kind == "cause"
    stage: str | None  # Nova method name when kind == "event" (or the stage a cause hits)
    severity: str
    record: Record
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Problem:
    """Input that could not be (fully) read: named source, position, and what happened."""

    source: str
    message: str
    line: int | None = None
    offset: int | None = None
    severity: str = "warning"  # "warning": part skipped; "error": the whole source is unreadable

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
        elif self.offset is not None:
            where += f" @byte {self.offset}"
        return f"{self.severity}: {where}: {self.message}"


@dataclass(frozen=True, slots=True)
class InputSummary:
    """What the scan read of one input (also re-exported by ``analyzer.model``)."""

    name: str
    host: str | None
    kind: str | None
    bytes_read: int
    lines: int
    findings: int
    matched_lines: int = 0  # lines the catalogue's regexes matched (what `grep -c` would count)
