"""Shared pieces of the record parsers: the per-line parse result, timestamps, kind mapping.

Every format module (:mod:`.oslo`, :mod:`.libvirt`, :mod:`.kernel`, :mod:`.envelope`) turns
*one cleaned physical line* into a :class:`Parsed` (or ``None`` when the line is not in its
format). :mod:`.record` then merges envelope and inner results, applies the time zone and the
source-kind precedence, and builds the frozen :class:`analyzer.records.Record`.

Timestamps are kept in :class:`Parsed` exactly as the line gave them:

* ``ts`` aware (any offset) and ``explicit=True`` when the line carried a zone or an epoch;
* ``ts`` naive and ``explicit=False`` for local-time stamps (oslo.log, syslog, ``dmesg -T``);
  :func:`localize` interprets them in the ``--tz`` zone;
* ``year_known=False`` for RFC 3164 syslog stamps (``Jul 11 18:10:59``), which have no year.

Examples:

    >>> from datetime import timezone, timedelta
    >>> tz_label(timezone.utc, None)
    'assumed UTC (--tz)'
    >>> tz_label(timezone(timedelta(hours=2)), None)
    'assumed +02:00 (--tz)'
    >>> kind_for_program("nova_compute"), kind_for_program("virtqemud")
    (<SourceKind.NOVA_COMPUTE: 'nova-compute'>, <SourceKind.LIBVIRTD: 'libvirtd'>)
    >>> kind_for_logger("nova.conductor.tasks.live_migrate")
    <SourceKind.NOVA_CONDUCTOR: 'nova-conductor'>
    >>> kind_for_path("/var/log/libvirt/qemu/instance-0000002a.log")
    <SourceKind.QEMU: 'qemu'>
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

from ..records import SourceKind

__all__ = [
    "UTC",
    "Parsed",
    "NONSPECIFIC_KINDS",
    "localize",
    "tz_label",
    "kind_for_logger",
    "kind_for_program",
    "kind_for_path",
    "parse_iso",
    "epoch_to_utc",
]

UTC = timezone.utc

#: kinds that say where a line was *stored*, not which program wrote it: a line-derived kind
#: beats them (brief: SourceInfo.kind wins "except when it is UNKNOWN/SYSLOG/JOURNAL").
NONSPECIFIC_KINDS = frozenset({SourceKind.UNKNOWN, SourceKind.SYSLOG, SourceKind.JOURNAL})


@dataclass(slots=True)
class Parsed:
    """What one format parser learnt from one physical line (mutable, internal only)."""

    fmt: str
    message: str
    kind: SourceKind = SourceKind.UNKNOWN
    ts: datetime | None = None
    explicit: bool = False
    year_known: bool = True
    level: str | None = None
    logger: str | None = None
    pid: int | None = None
    thread: str | None = None
    global_request_id: str | None = None
    request_id: str | None = None
    instance_uuid: str | None = None
    host: str | None = None


# --------------------------------------------------------------------------- timestamps

def parse_iso(text: str) -> datetime | None:
    """``datetime.fromisoformat`` that also takes nanoseconds (Docker) by truncating to µs.

    >>> parse_iso("2024-07-11T22:10:59.946123456Z")
    datetime.datetime(2024, 7, 11, 22, 10, 59, 946123, tzinfo=datetime.timezone.utc)
    >>> parse_iso("2024-13-45 99:00:00") is None
    True
    """
    dot = text.find(".")
    if dot != -1:
        end = dot + 1
        while end < len(text) and text[end].isdigit():
            end += 1
        if end - dot - 1 > 6:  # Python parses at most 6 fraction digits
            text = text[: dot + 7] + text[end:]
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def epoch_to_utc(seconds: str, fraction: str = "") -> datetime | None:
    """Epoch seconds (and a decimal fraction string) as an aware UTC datetime, µs exact.

    >>> epoch_to_utc("1705314225", "123")
    datetime.datetime(2024, 1, 15, 10, 23, 45, 123000, tzinfo=datetime.timezone.utc)
    """
    try:
        micros = int((fraction + "000000")[:6]) if fraction else 0
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=int(seconds), microseconds=micros)
    except (ValueError, OverflowError):
        return None


def _offset_text(off: timedelta | None) -> str:
    total = int((off or timedelta()).total_seconds())
    sign = "-" if total < 0 else "+"
    total = abs(total)
    return f"{sign}{total // 3600:02d}:{total % 3600 // 60:02d}"


@functools.lru_cache(maxsize=256)
def _label(zone_name: str | None, offset: timedelta | None) -> str:
    if not offset:
        return "assumed UTC (--tz)"
    off = _offset_text(offset)
    return f"assumed {off} {zone_name} (--tz)" if zone_name else f"assumed {off} (--tz)"


def tz_label(tz: tzinfo, naive: datetime | None) -> str:
    """How a naive stamp was interpreted: ``assumed UTC (--tz)``, ``assumed +02:00 (--tz)``.

    Named zones (``zoneinfo``) also carry their name because the offset changes with DST:
    ``assumed +02:00 Europe/Paris (--tz)``.
    """
    sample = naive.replace(tzinfo=tz) if naive is not None else datetime.now(tz)
    offset = sample.utcoffset()
    name = getattr(tz, "key", None)  # ZoneInfo exposes its IANA name as .key
    return _label(name, offset)


def localize(naive: datetime, tz: tzinfo) -> datetime:
    """A naive local stamp read in ``tz``, converted to UTC."""
    return naive.replace(tzinfo=tz).astimezone(UTC)


# --------------------------------------------------------------------------- source kinds

def kind_for_logger(logger: str) -> SourceKind:
    """The Nova service an oslo.log logger name points at.

    ``nova.scheduler.utils`` and ``nova.scheduler.client.*`` are *libraries* that conductor
    and compute call (``Failed to compute_task_migrate_server`` is logged by conductor under
    ``nova.scheduler.utils``, messages.md §2), so they give :attr:`SourceKind.NOVA`, not
    the scheduler.
    """
    if logger.startswith("nova."):
        rest = logger[5:]
        head = rest.split(".", 1)[0]
        if head == "conductor":
            return SourceKind.NOVA_CONDUCTOR
        if head == "api":
            return SourceKind.NOVA_API
        if head == "scheduler":
            if rest.startswith(("scheduler.utils", "scheduler.client")):
                return SourceKind.NOVA
            return SourceKind.NOVA_SCHEDULER
        if head in _COMPUTE_PACKAGES:
            return SourceKind.NOVA_COMPUTE
        return SourceKind.NOVA
    if logger.startswith(("os_brick", "os_vif", "vif_plug_")):
        return SourceKind.NOVA_COMPUTE  # libraries only nova-compute loads
    if logger.startswith("neutron"):
        return SourceKind.NEUTRON
    return SourceKind.NOVA  # oslo_messaging, oslo_service, …: some nova service, unknown which


_COMPUTE_PACKAGES = frozenset({"compute", "virt", "network", "volume", "image", "storage",
                               "privsep", "pci", "console", "keymgr"})

_PROGRAM_KINDS: dict[str, SourceKind] = {
    "nova-compute": SourceKind.NOVA_COMPUTE,
    "nova-conductor": SourceKind.NOVA_CONDUCTOR,
    "nova-api": SourceKind.NOVA_API,
    "nova-api-wsgi": SourceKind.NOVA_API,
    "nova-api-os-compute": SourceKind.NOVA_API,
    "nova-scheduler": SourceKind.NOVA_SCHEDULER,
    "nova-libvirt": SourceKind.LIBVIRTD,  # Kolla's libvirt container
    "libvirtd": SourceKind.LIBVIRTD,
    "virtqemud": SourceKind.LIBVIRTD,
    "virtproxyd": SourceKind.LIBVIRTD,
    "kernel": SourceKind.KERNEL,
    "audit": SourceKind.AUDIT,
    "auditd": SourceKind.AUDIT,
    "audispd": SourceKind.AUDIT,
    "virsh": SourceKind.CLI,
    "openstack": SourceKind.CLI,
}


@functools.lru_cache(maxsize=1024)
def kind_for_program(program: str) -> SourceKind:
    """Kind of a syslog tag / journal identifier / container name (``nova_compute``, …).

    Unknown programs give :attr:`SourceKind.UNKNOWN` (the caller then falls back).
    """
    name = program.lower().replace("_", "-")
    if name.endswith(".service"):
        name = name[:-8]
    kind = _PROGRAM_KINDS.get(name)
    if kind is not None:
        return kind
    if name.startswith("nova-"):
        for prefix, k in (("nova-compute", SourceKind.NOVA_COMPUTE),
                          ("nova-conductor", SourceKind.NOVA_CONDUCTOR),
                          ("nova-api", SourceKind.NOVA_API),
                          ("nova-scheduler", SourceKind.NOVA_SCHEDULER)):
            if name.startswith(prefix):
                return k
        return SourceKind.NOVA
    if name.startswith("neutron"):
        return SourceKind.NEUTRON
    if name.startswith("qemu") or name == "kvm":
        return SourceKind.QEMU
    return SourceKind.UNKNOWN


_ROTATION = re.compile(r"(?:[.-]\d+)*(?:\.gz|\.xz|\.bz2|\.zst)?$")


@functools.lru_cache(maxsize=256)
def kind_for_path(path: str) -> SourceKind:
    """Kind hinted by a log file path (used for ``grep -r`` prefixes read from stdin)."""
    lowered = path.lower()
    if "/libvirt/qemu/" in lowered or lowered.startswith("libvirt/qemu/"):
        return SourceKind.QEMU
    base = _ROTATION.sub("", lowered.rsplit("/", 1)[-1])
    if base.endswith(".log"):
        base = base[:-4]
    if base == "audit":
        return SourceKind.AUDIT
    if base in ("kern", "dmesg"):
        return SourceKind.KERNEL
    if base in ("syslog", "messages"):
        return SourceKind.SYSLOG
    return kind_for_program(base)
