"""Physical lines -> :class:`analyzer.records.Record`: format detection and field merging.

:func:`parse_record` cleans the first line (capture artefacts, :mod:`.prefixes`), then tries
the line formats directly (:mod:`.oslo`, :mod:`.libvirt`, :mod:`.kernel`, CLI errors) and,
failing that, as the payload of an envelope (syslog, journal, docker). Continuation lines
are cleaned the same way, de-indented when journalctl aligned them under the message, and
appended to ``message`` with ``"\\n"``.

Field precedence (documented because several sources can disagree):

* ``timestamp``: the inner line's explicit stamp, else the envelope's explicit stamp, else
  the inner naive stamp read in ``tz``, else the envelope's naive stamp (syslog: year from
  the clock, rolled back one year if that would put the line in the future);
* ``host``: ``SourceInfo.host``, else the envelope's host, else the line (QEMU
  ``hostname:``, auditd ``node=``);
* ``kind``: ``SourceInfo.kind``, then the kind hinted by a ``grep -r`` path (stdin only),
  then the envelope's program, then the line itself -- the first that names a program
  (not ``None``/UNKNOWN/SYSLOG/JOURNAL) wins; a generic ``nova`` is refined by a later
  ``nova-*``. Otherwise the line's own kind, the stated kind, the envelope's (``syslog``,
  ``journal``) or UNKNOWN.
* ``fmt``: the inner format when recognised (``oslo`` inside syslog is ``oslo``), else the
  envelope's (``syslog``/``journal``/``docker``), else ``raw``.

``text`` is the physical lines joined with ``"\\n"`` after removing capture artefacts (ANSI
escapes, ``#033[..m``, grep prefixes, a trailing CR); nothing else is changed.

Sample input::

    Jul 11 18:10:59 compute-1 nova_compute[129891]: 2024-07-11 22:10:59.946 2 ERROR nova.virt.libvirt.driver [None req-590602d0-9d5a-4c1e-9d3b-4c5d86bbf0c5 u p - - default default] [instance: 7b7edae6-2b8c-4a3e-9c1d-0e5f6a7b8c9d] Live Migration failure: operation failed: domain is not running#033[00m

Examples:

    >>> from analyzer.records import SourceInfo
    >>> from datetime import timezone
    >>> r = parse_record(["2024-07-11 22:10:59.946 2 ERROR nova.virt.libvirt.driver [-] "
    ...                   "[instance: 7b7edae6-2b8c-4a3e-9c1d-0e5f6a7b8c9d] Live Migration failure: x"],
    ...                  SourceInfo("nova-compute.log"), 7, timezone.utc)
    >>> r.fmt, r.kind.value, r.line, r.timestamp.isoformat(), r.tz_assumption
    ('oslo', 'nova-compute', 7, '2024-07-11T22:10:59.946000+00:00', 'assumed UTC (--tz)')
    >>> r = parse_record(["Jul 11 18:10:59 compute-1 libvirtd[984]: internal error: End of file from qemu monitor"],
    ...                  SourceInfo("/var/log/syslog"), 1, timezone.utc)
    >>> r.fmt, r.kind.value, r.host, r.logger, r.pid, r.message
    ('syslog', 'libvirtd', 'compute-1', 'libvirtd', 984, 'internal error: End of file from qemu monitor')
    >>> parse_record(["error: operation failed: domain is not running"], SourceInfo("-"), 1, timezone.utc).kind.value
    'cli'
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo

from ..records import Record, SourceInfo, SourceKind
from . import kernel, libvirt, oslo
from ._common import (NONSPECIFIC_KINDS, UTC, Parsed, kind_for_path, kind_for_program,
                      localize, parse_iso, tz_label)
from .prefixes import (EMBEDDED_CLASSES, ISO_PREFIX, JOURNAL_REST, START, SYSLOG, Envelope,
                       clean, clean_first, continuation_stripper)

__all__ = ["is_record_start", "parse_record"]

_NOVA_FAMILY = frozenset({SourceKind.NOVA, SourceKind.NOVA_COMPUTE, SourceKind.NOVA_CONDUCTOR,
                          SourceKind.NOVA_API, SourceKind.NOVA_SCHEDULER})
#: Kinds whose multi-line messages embed QEMU/libvirt-note lines (see EMBEDDED_CLASSES).
_EMBEDDING_KINDS = _NOVA_FAMILY | {SourceKind.LIBVIRTD, SourceKind.NEUTRON}
_STDIN_NAMES = frozenset({"-", "<stdin>", "stdin", "/dev/stdin", "(standard input)"})
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_ENVELOPE_KIND = {"syslog": SourceKind.SYSLOG, "journal": SourceKind.JOURNAL}
_CLI_PREFIXES = ("error: ", "ERROR (", "ERROR: ")
_CRI_STREAMS = ("stdout ", "stderr ")


# --------------------------------------------------------------------------- record starts

def is_record_start(line: str, kind: SourceKind | None = None) -> bool:
    """True when ``line`` begins a new record (has a recognised prefix/timestamp).

    ``kind`` (optional, an extension of the contract) is the source's kind: inside nova and
    libvirtd logs, QEMU-log lines (``…Z qemu-system-x86_64: …``, ``…+0000: …``, bare
    ``qemu-kvm: …``) and ``error: …`` are parts of a multi-line message (libvirt embeds the
    QEMU log tail in its error) and are reported as continuation lines.
    """
    if not line:
        return False
    m = START.match(line)
    if m is None:
        if "\x1b" not in line and ":" not in line[:1100] and "-" not in line[:1100]:
            return False  # no escape to strip, no possible grep prefix
        line, _path = clean_first(line)
        m = START.match(line)
        if m is None:
            return False
    if kind is not None and kind in _EMBEDDING_KINDS and m.lastgroup in EMBEDDED_CLASSES:
        return False
    return True


# --------------------------------------------------------------------------- one line

def _parse_inner(line: str) -> Parsed | None:
    """The line formats proper (no envelope), dispatched on the first character."""
    c = line[:1]
    if not c:
        return None
    if c.isdigit():
        if line[10:11] == " ":  # oslo and libvirt share "YYYY-MM-DD "; QEMU/ISO have "T"
            p = oslo.parse(line)
            if p is not None:
                return p
        return libvirt.parse_libvirtd(line) or libvirt.parse_qemu(line)
    if c in "tn":
        return kernel.parse_audit(line)
    if c == "a":
        return kernel.parse_audit(line)
    if c == "[":
        return kernel.parse_kernel(line)
    if c == "k":
        return kernel.parse_kernel(line) or libvirt.parse_qemu(line)
    if c in "Lq":
        return libvirt.parse_qemu(line)
    if c in "eE" and line.startswith(_CLI_PREFIXES):
        return Parsed(fmt="raw", message=line, kind=SourceKind.CLI, level="ERROR")
    return None


def _parse_line(line: str) -> tuple[Parsed | None, Envelope | None, str]:
    """``(inner, envelope, payload)`` for one cleaned line; payload is the wrapped text."""
    inner = _parse_inner(line)
    if inner is not None:
        return inner, None, line
    c = line[:1]
    if c.isdigit():
        return _parse_iso_envelope(line)
    if c in "JFMASOND":
        return _parse_syslog_envelope(line)
    return None, None, line


def _parse_iso_envelope(line: str) -> tuple[Parsed | None, Envelope | None, str]:
    """journal short-iso / RFC 5424 (``host ident[pid]:`` follows) or docker/podman."""
    m = ISO_PREFIX.match(line)
    if m is None:
        return None, None, line
    ts = parse_iso(m["ts"].replace(",", "."))
    start = m.end()
    if line.startswith(_CRI_STREAMS, start) and line[start + 7:start + 9] in ("F ", "P "):
        start += 9  # CRI log files (podman k8s-file, containerd, CRI-O): "<ts> stdout F <line>"
    rest = line[start:]
    inner = _parse_inner(rest)
    if inner is None:  # a recognised inner line means docker, whatever follows it
        j = JOURNAL_REST.match(rest)
        if j is not None:
            env = Envelope("journal", start + j.end(), ts, ts is not None, host=j["host"],
                           program=j["prog"], pid=int(j["pid"]) if j["pid"] else None)
            payload = rest[j.end():]
            return _parse_payload(payload, env), env, payload
    return inner, Envelope("docker", start, ts, ts is not None), rest


def _parse_syslog_envelope(line: str) -> tuple[Parsed | None, Envelope | None, str]:
    """RFC 3164 syslog / ``journalctl -o short``: no year, local time."""
    m = SYSLOG.match(line)
    if m is None:
        return None, None, line
    ts: datetime | None
    try:
        hh, mm, ss = (int(x) for x in m["time"].split(":"))
        micros = int((m["frac"] + "00000")[:6]) if m["frac"] else 0
        # year 2000 is a placeholder (a leap year, so Feb 29 survives); see _syslog_year
        ts = datetime(2000, _MONTHS[m["mon"]], int(m["day"]), hh, mm, ss, micros)
    except ValueError:
        ts = None
    env = Envelope("syslog", m.end(), ts, False, year_known=False, host=m["host"],
                   program=m["prog"], pid=int(m["pid"]) if m["pid"] else None)
    payload = line[m.end():]
    return _parse_payload(payload, env), env, payload


def _parse_payload(payload: str, env: Envelope) -> Parsed | None:
    """The text a syslog/journal envelope wraps; kernel messages are never QEMU lines
    (``kvm: …`` from the kvm module would otherwise look like QEMU stderr)."""
    if env.program == "kernel":
        return kernel.parse_kernel(payload) or kernel.parse_kernel("kernel: " + payload)
    return _parse_inner(payload)


def _syslog_year(ts: datetime, tz: tzinfo) -> tuple[datetime, int]:
    """Give a year-less syslog stamp the current year, or the previous one if it would be
    more than a day in the future (a December line read in January)."""
    now = datetime.now(tz).replace(tzinfo=None)
    for year in (now.year, now.year - 1, now.year - 2, now.year - 3, now.year - 4):
        try:
            candidate = ts.replace(year=year)
        except ValueError:  # Feb 29 in a non-leap year
            continue
        if candidate <= now + timedelta(days=1):
            return candidate, year
    return ts.replace(year=now.year - 4), now.year - 4


def _leading_stamp(line: str) -> Parsed | None:
    """A raw line that at least starts with a timestamp (e.g. a line that is only one)."""
    m = START.match(line)
    if m is None or m.lastgroup != "stamp":
        return None
    end = 19
    while end < len(line) and (line[end].isdigit() or line[end] in ".,"):
        end += 1
    zone_end = end
    if line[end:end + 1] == "Z":
        zone_end = end + 1
    elif line[end:end + 1] in ("+", "-") and line[end + 1:end + 3].isdigit():
        zone_end = end + (6 if line[end + 3:end + 4] == ":" else 5)
    ts = parse_iso(line[:zone_end].replace(",", "."))
    if ts is None:
        return None
    return Parsed(fmt="raw", message=line, ts=ts, explicit=ts.tzinfo is not None)


# --------------------------------------------------------------------------- merge

def _choose_kind(info: SourceInfo, hint: SourceKind | None, env: Envelope | None,
                 inner: Parsed | None) -> SourceKind:
    env_kind = kind_for_program(env.program) if env is not None and env.program else None
    line_kind = inner.kind if inner is not None else None
    chosen: SourceKind | None = None
    for k in (info.kind, hint, env_kind, line_kind):
        if k is None or k in NONSPECIFIC_KINDS:
            continue
        if chosen is None:
            chosen = k
        elif chosen is SourceKind.NOVA and k in _NOVA_FAMILY:
            chosen = k
            break
    if chosen is not None:
        return chosen
    if line_kind is not None and line_kind is not SourceKind.UNKNOWN:
        return line_kind
    if info.kind is not None and info.kind is not SourceKind.UNKNOWN:
        return info.kind
    if env is not None and env.fmt in _ENVELOPE_KIND:
        return _ENVELOPE_KIND[env.fmt]
    return SourceKind.UNKNOWN


def _choose_time(inner: Parsed | None, env: Envelope | None,
                 tz: tzinfo) -> tuple[datetime | None, str | None]:
    try:
        return _convert_time(inner, env, tz)
    except OverflowError:  # year 1 or 9999 pushed out of range by the zone: no usable time
        return None, None


def _convert_time(inner: Parsed | None, env: Envelope | None,
                  tz: tzinfo) -> tuple[datetime | None, str | None]:
    if inner is not None and inner.ts is not None and inner.explicit:
        return inner.ts.astimezone(UTC), "explicit"
    if env is not None and env.ts is not None and env.explicit:
        return env.ts.astimezone(UTC), "explicit"
    if inner is not None and inner.ts is not None:
        return localize(inner.ts, tz), tz_label(tz, inner.ts)
    if env is not None and env.ts is not None:
        naive, year = _syslog_year(env.ts, tz) if not env.year_known else (env.ts, 0)
        label = tz_label(tz, naive)
        if not env.year_known:
            label += f", year assumed {year}"
        return localize(naive, tz), label
    return None, None


def _decode_rsyslog(text: str) -> str:
    # rsyslog escapes control characters as #ooo (octal): newline #012, tab #011.
    if "#" not in text or "#01" not in text:
        return text
    return text.replace("#012", "\n").replace("#011", "\t")


def _build(lines: Sequence[str], info: SourceInfo, line_no: int, tz: tzinfo) -> Record:
    first, grep_path = clean_first(lines[0] if lines else "")
    hint: SourceKind | None = None
    if grep_path and info.name in _STDIN_NAMES:
        hint = kind_for_path(grep_path)
    inner, env, payload = _parse_line(first)
    if inner is None and env is None:
        inner = _leading_stamp(first)

    stripper = continuation_stripper(grep_path)
    physical = [first]
    indent = env.offset if env is not None and env.fmt != "docker" else 0
    conts: list[str] = []
    for raw in lines[1:]:
        line = clean(raw)
        if stripper is not None:
            if line == "--":  # grep's separator between context groups: not log text
                continue
            g = stripper.match(line)
            if g is not None:
                line = line[g.end():]
        physical.append(line)
        if indent:
            # journalctl aligns continuation lines under the message: undo that.
            lead = len(line) - len(line.lstrip(" "))
            line = line[min(lead, indent):]
        conts.append(line)

    if inner is not None and inner.fmt != "raw":
        fmt = inner.fmt
    elif env is not None:
        fmt = env.fmt
    else:
        fmt = "raw"
    message = inner.message if inner is not None else payload
    if conts:
        message = message + "\n" + "\n".join(conts)
    if env is not None and env.fmt != "docker":
        message = _decode_rsyslog(message)
    if inner is not None and inner.fmt == "oslo" and inner.level == "DEBUG":
        message = oslo.strip_debug_suffix(message)

    timestamp, assumption = _choose_time(inner, env, tz)
    env_host = env.host if env is not None and env.host not in (None, "-") else None
    host = info.host or env_host or (inner.host if inner is not None else None)
    return Record(
        source=info.name,
        line=line_no,
        end_line=line_no + max(len(lines), 1) - 1,
        text="\n".join(physical),
        message=message,
        fmt=fmt,
        kind=_choose_kind(info, hint, env, inner),
        timestamp=timestamp,
        tz_assumption=assumption,
        host=host,
        level=inner.level if inner is not None else None,
        logger=(inner.logger if inner is not None and inner.logger else
                (env.program if env is not None else None)),
        pid=(inner.pid if inner is not None and inner.pid is not None else
             (env.pid if env is not None else None)),
        thread=inner.thread if inner is not None else None,
        global_request_id=inner.global_request_id if inner is not None else None,
        request_id=inner.request_id if inner is not None else None,
        instance_uuid=inner.instance_uuid if inner is not None else None,
    )


def parse_record(lines: Sequence[str], info: SourceInfo, line_no: int, tz: tzinfo) -> Record:
    """One logical record from its physical lines (``lines[0]`` first, then continuations).

    Never raises on odd input: anything unrecognised becomes a ``fmt="raw"`` record whose
    message is the (cleaned) text.
    """
    try:
        return _build(lines, info, line_no, tz)
    except Exception:  # noqa: BLE001 - contract: odd input must never stop a scan
        text = "\n".join(lines)
        return Record(source=info.name, line=line_no, end_line=line_no + max(len(lines), 1) - 1,
                      text=text, message=text, kind=info.kind or SourceKind.UNKNOWN,
                      host=info.host)
