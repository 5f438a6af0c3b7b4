"""Line starts, and the prefixes other tools put in front of a log line.

*Record starts.* :data:`START` recognises every format's first characters in one anchored
``re.match`` (each alternative is a named group so :func:`start_class` can say which one
matched). Lines it does not recognise are continuation lines of the previous record.

*Capture artefacts* (how the operator got the lines; stripped from ``text`` and ``message``):

* ANSI colour escapes (``grep --color=always``, ``less -R`` copies, oslo ``log_color``);
* rsyslog's escaped colour residue ``#033[00m`` (oslo ``ColorHandler`` through syslog);
* ``grep -r`` / ``grep -n`` / ``grep -rn`` prefixes ``path:``, ``path:NN:``, context lines
  ``path-NN-``, and ``NN:`` / ``NN-`` for a single file. A prefix is only taken when a
  recognised line start follows it, so an oslo stamp's colons are never mistaken for one.

*Envelopes* (another logger wrapped the line; fields come from both):

* RFC 3164 syslog / ``journalctl -o short[-precise]``: ``Jul 11 18:10:59 host prog[pid]: …``;
* ``journalctl -o short-iso[-precise]`` / RFC 5424-ish / the canonical form
  :func:`analyzer.parsers.transcode` emits: ``2026-01-02T03:04:05.123456+00:00 host ident[pid]: …``;
* ``docker logs --timestamps`` (``…Z`` with 0–9 fraction digits) and podman (``…Z``, no fraction);
  CRI log files (podman ``k8s-file``, containerd, CRI-O) add ``stdout F `` / ``stderr P ``
  after the stamp, which is skipped too (all three are ``fmt="docker"``).

Sample input::

    /var/log/nova/nova-compute.log:12:2024-07-11 22:10:59.946 2 ERROR nova.virt.libvirt.driver [-] boom
    Jul 11 18:10:59 compute-1 nova_compute[129891]: 2024-07-11 22:10:59.946 2 ERROR nova.compute.manager [-] x#033[00m
    2024-07-11T22:10:59.946123456Z 2024-07-11 22:10:59.946 2 INFO nova.compute.manager [-] y

Examples:

    >>> start_class("2024-07-11 22:10:59.946 2 ERROR nova.virt.libvirt.driver [-] boom")
    'stamp'
    >>> start_class("2024-01-15T10:23:40.512345Z qemu-system-x86_64: load of migration failed")
    'qemu'
    >>> start_class("  File \\"/usr/lib/python3/dist-packages/nova/compute/manager.py\\", line 1, in f") is None
    True
    >>> clean_first("/var/log/nova/nova-compute.log:12:2024-07-11 22:10:59.946 2 ERROR n [-] boom")
    ('2024-07-11 22:10:59.946 2 ERROR n [-] boom', '/var/log/nova/nova-compute.log')
    >>> clean("\\x1b[01;31m\\x1b[Kerror: \\x1b[m\\x1b[Kx#033[00m")
    'error: x'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from .libvirt import QEMU_BIN

__all__ = [
    "START",
    "EMBEDDED_CLASSES",
    "Envelope",
    "start_class",
    "clean",
    "clean_first",
    "continuation_stripper",
    "SYSLOG",
    "ISO_PREFIX",
    "JOURNAL_REST",
]

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_STARTS: tuple[tuple[str, str], ...] = (
    ("qemu", rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{6}}Z {QEMU_BIN}: "),
    ("libvirtd", r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}[+-]\d{4}: \d+: (?:debug|info|warning|error) : "),
    ("note", r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}[+-]\d{4}: "),
    ("stamp", r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d"),
    ("syslog", rf"{_MONTH} [ \d]?\d \d\d:\d\d:\d\d[. ]"),
    ("audit", r"(?:node=\S+ )?type=\w+ msg=audit\("),
    ("kernel", r"(?:kernel: )?\[ *\d+\.\d+\] |\[\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4}\] |kernel: "),
    ("avc", r"avc:  "),
    ("cmdline", r"LC_ALL="),
    ("qemubare", rf"{QEMU_BIN}: "),
    ("cli", r"error: |ERROR \(|ERROR: "),
)
#: One anchored alternation: a single C-level ``match`` per line, failing on the first
#: character for the vast majority of continuation lines.
START = re.compile("|".join(f"(?P<{name}>{src})" for name, src in _STARTS))
_START_ANON = "|".join(f"(?:{src})" for _, src in _STARTS)

#: Start classes that, inside a nova or libvirtd log, are text *embedded* in a multi-line
#: message (libvirt copies the QEMU log tail into its error, nova logs that error), not a
#: record of their own. See :func:`analyzer.parsers.is_record_start` ``kind=``.
EMBEDDED_CLASSES = frozenset({"qemu", "note", "qemubare", "cmdline", "cli"})

_ANSI = re.compile(r"\x1b\[[0-9;:?]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Z0-9]")
_SYSLOG_COLOR = re.compile(r"#033\[[0-9;]*m")
#: grep prefix followed by a recognised start. The path may not contain blanks or ``:``
#: (bounded to 1024 chars so a huge blank-free line fails fast).
_GREP = re.compile(
    rf"(?:(?P<path>[^\s:]{{1,1024}}?)(?::\d+[:-]|-\d+-|:)|\d+[:-])(?={_START_ANON})"
)

#: RFC 3164 syslog and ``journalctl -o short``/``short-precise`` (no year, local time).
SYSLOG = re.compile(
    rf"(?P<mon>{_MONTH}) (?P<day>[ \d]?\d) (?P<time>\d\d:\d\d:\d\d)(?:\.(?P<frac>\d{{1,6}}))? "
    r"(?P<host>\S+) (?:(?P<prog>[^\s\[\]:]+)(?:\[(?P<pid>\d+)\])?:(?: |$))?"
)
#: An ISO-8601 stamp with a zone followed by a blank: journal short-iso, RFC 5424, docker, podman.
ISO_PREFIX = re.compile(r"(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)) ")
#: What follows the ISO stamp in journal/RFC 5424 output: ``host ident[pid]: ``.
JOURNAL_REST = re.compile(r"(?P<host>\S+) (?P<prog>[^\s\[\]:]+)(?:\[(?P<pid>\d+)\])?:(?: |$)")


@dataclass(slots=True)
class Envelope:
    """The outer logger's part of a wrapped line."""

    fmt: str  # "syslog" | "journal" | "docker"
    offset: int  # index in the cleaned line where the wrapped text starts
    ts: datetime | None
    explicit: bool
    year_known: bool = True
    host: str | None = None
    program: str | None = None
    pid: int | None = None


def start_class(line: str) -> str | None:
    """Name of the recognised start of an already cleaned line, or ``None``."""
    m = START.match(line)
    return m.lastgroup if m is not None else None


def clean(line: str) -> str:
    """``line`` without a trailing CR, ANSI escapes and ``#033[..m`` residue."""
    if line.endswith("\r"):
        line = line[:-1]
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    if "#" in line and "#033[" in line:  # single-char test first: memchr-fast on 1 MB lines
        line = _SYSLOG_COLOR.sub("", line)
    return line


def clean_first(line: str) -> tuple[str, str | None]:
    """Clean the first line of a record and strip a grep prefix.

    Returns ``(line, grep_path)``; ``grep_path`` is ``""`` for a bare ``grep -n`` number
    prefix and ``None`` when there was no grep prefix.
    """
    line = clean(line)
    if not line or START.match(line) is not None:
        return line, None
    g = _GREP.match(line)
    if g is None:
        return line, None
    return line[g.end():], g["path"] or ""


def continuation_stripper(grep_path: str | None) -> re.Pattern[str] | None:
    """Regex removing the grep prefix that ``grep`` put on a record's continuation lines."""
    if grep_path is None:
        return None
    if grep_path == "":
        return re.compile(r"\d+[:-]")
    return re.compile(re.escape(grep_path) + r"(?::\d+[:-]|-\d+-|[:-])")
