"""libvirt daemon log files and QEMU instance logs (``/var/log/libvirt/qemu/<name>.log``).

libvirtd / virtqemud / virtproxyd file output (``virLogFormatString``, messages.md §1.2)::

    <YYYY-MM-DD HH:MM:SS.mmm+0000>: <thread-id>: <debug|info|warning|error> : <function>:<line> : <message>

The QEMU instance log (messages.md §1.3) mixes lines written by libvirt (a UTC stamp with
``+0000`` and no thread id), QEMU's stderr (``-msg timestamp=on``: ISO-8601 ``Z`` stamp and
the executable name) and untimestamped lines: the command line (``LC_ALL=C PATH=…``, with
``\\``-continued argument lines in newer libvirt) and stderr lines printed before the
timestamp option took effect (``qemu-system-x86_64: …``).

Sample input::

    2024-01-15 10:23:45.123+0000: 1234: error : qemuMigrationJobCheckStatus:1774 : operation failed: job 'migration out' failed: Unable to write to socket: Broken pipe
    2024-01-15 10:23:40.010+0000: starting up libvirt version: 8.0.0, package: 1ubuntu7, qemu version: 6.2.0, kernel: 5.15.0-91-generic, hostname: dst-host
    LC_ALL=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin /usr/bin/qemu-system-x86_64 -name guest=instance-0000002a,debug-threads=on -incoming defer
    2024-01-15T10:23:40.512345Z qemu-system-x86_64: load of migration failed: Invalid argument

Examples:

    >>> p = parse_libvirtd("2024-01-15 10:23:45.123+0000: 1234: error : qemuMigrationJobCheckStatus:1774 : "
    ...                    "operation failed: job 'migration out' failed: Unable to write to socket: Broken pipe")
    >>> p.level, p.logger, p.thread, p.ts.isoformat()
    ('ERROR', 'qemuMigrationJobCheckStatus', '1234', '2024-01-15T10:23:45.123000+00:00')
    >>> p = parse_qemu("2024-01-15 10:23:40.010+0000: starting up libvirt version: 8.0.0, "
    ...                "package: 1ubuntu7, qemu version: 6.2.0, kernel: 5.15.0-91-generic, hostname: dst-host")
    >>> p.fmt, p.host, p.kind.value
    ('qemu', 'dst-host', 'qemu')
    >>> p = parse_qemu("2024-01-15T10:23:40.512345Z qemu-kvm: load of migration failed: Invalid argument")
    >>> p.logger, p.message
    ('qemu-kvm', 'load of migration failed: Invalid argument')
    >>> parse_qemu("qemu-system-x86_64: terminating on signal 15 from pid 1234 (/usr/sbin/libvirtd)").ts is None
    True
"""

from __future__ import annotations

import re
from datetime import datetime

from ..records import SourceKind
from ._common import Parsed, parse_iso

__all__ = ["LIBVIRTD", "QEMU_STDERR", "LIBVIRT_NOTE", "QEMU_BARE", "parse_libvirtd", "parse_qemu"]

_TS = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}[+-]\d{4}"
#: messages.md §5 ``libvirt_file`` (VIR_LOG_REGEX plus the function:line part).
LIBVIRTD = re.compile(
    rf"(?P<ts>{_TS}): (?P<tid>\d+): (?P<level>debug|info|warning|error) : "
    r"(?:(?P<func>\w+):(?P<line>\d+) : )?(?P<msg>.*)"
)
#: messages.md §5 ``qemu_stderr``, restricted to QEMU executable names so that a Docker
#: ``--timestamps`` prefix (same ISO ``Z`` shape) followed by anything else is not taken.
QEMU_BIN = r"(?:qemu[\w.+-]{0,64}|kvm)"
QEMU_STDERR = re.compile(rf"(?P<ts>\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{6}}Z) (?P<bin>{QEMU_BIN}): (?P<msg>.*)")
#: messages.md §5 ``qemu_libvirt_note`` generalised to any note (``Domain id=5 is tainted``…).
LIBVIRT_NOTE = re.compile(rf"(?P<ts>{_TS}): (?P<msg>.*)")
QEMU_BARE = re.compile(rf"(?P<bin>{QEMU_BIN}): (?P<msg>.*)")
_HOSTNAME = re.compile(r", hostname: (?P<host>[^\s,]+)")

_LEVELS = {"debug": "DEBUG", "info": "INFO", "warning": "WARNING", "error": "ERROR"}


def _qemu_level(msg: str) -> str | None:
    # warn_report()/error_report() with an explicit prefix; plain error_report() has none.
    if msg.startswith("warning: "):
        return "WARNING"
    if msg.startswith("error: "):
        return "ERROR"
    return None


def _stamp(text: str) -> datetime | None:
    return parse_iso(text)


def parse_libvirtd(line: str) -> Parsed | None:
    """A libvirtd/virtqemud/virtproxyd log-file line, or ``None``."""
    m = LIBVIRTD.match(line)
    if m is None:
        return None
    ts = _stamp(m["ts"])
    if ts is None:
        return None
    return Parsed(fmt="libvirtd", message=m["msg"], kind=SourceKind.LIBVIRTD, ts=ts,
                  explicit=True, level=_LEVELS[m["level"]], logger=m["func"], thread=m["tid"])


def parse_qemu(line: str) -> Parsed | None:
    """A QEMU instance-log line (libvirt note, QEMU stderr, command line), or ``None``."""
    first = line[:1]
    if first.isdigit():
        m = QEMU_STDERR.match(line)
        if m is not None:
            ts = _stamp(m["ts"])
            if ts is None:
                return None
            return Parsed(fmt="qemu", message=m["msg"], kind=SourceKind.QEMU, ts=ts,
                          explicit=True, logger=m["bin"], level=_qemu_level(m["msg"]))
        m = LIBVIRT_NOTE.match(line)
        if m is None:
            return None
        ts = _stamp(m["ts"])
        if ts is None:
            return None
        msg = m["msg"]
        parsed = Parsed(fmt="qemu", message=msg, kind=SourceKind.QEMU, ts=ts, explicit=True,
                        logger="libvirt")
        if msg.startswith("starting up"):
            h = _HOSTNAME.search(msg)
            if h is not None:
                parsed.host = h["host"]
        return parsed
    if line.startswith("LC_ALL="):
        return Parsed(fmt="qemu", message=line, kind=SourceKind.QEMU, logger="libvirt")
    m = QEMU_BARE.match(line)
    if m is not None:
        return Parsed(fmt="qemu", message=m["msg"], kind=SourceKind.QEMU, logger=m["bin"],
                      level=_qemu_level(m["msg"]))
    return None
