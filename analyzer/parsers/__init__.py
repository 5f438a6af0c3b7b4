"""Record parsers: raw matched line(s) -> :class:`analyzer.records.Record`.

Public API (docs/CONTRACTS.md, "Parsers API"):

``is_record_start(line, kind=None) -> bool``
    True when a physical line begins a new record; bare lines that follow are continuation
    lines. ``kind`` is an optional extension: pass the source's kind so that QEMU-log lines
    embedded in nova/libvirtd multi-line messages are not split off (see
    :func:`.record.is_record_start`).
``parse_record(lines, info, line_no, tz) -> Record``
    One record from its physical lines; auto-detects the format; never raises.
``sniff_structured(head) -> str | None``
    ``'journal-json' | 'journal-export' | 'docker-json' | None``.
``transcode(fmt, stream, on_problem=None) -> Iterator[bytes]``
    Structured stream -> canonical ``journalctl -o short-iso-precise`` lines (each ends in
    ``b"\\n"``); undecodable input is emitted as ``nma-unparsed`` lines *and* reported via
    ``on_problem(line_no, message)``.

Formats: oslo.log (:mod:`.oslo`), libvirtd and QEMU logs (:mod:`.libvirt`), audit and kernel
(:mod:`.kernel`), syslog / journal / docker envelopes and grep/ANSI artefacts
(:mod:`.prefixes`), structured streams (:mod:`.structured`); merging rules in :mod:`.record`.
"""

from __future__ import annotations

from ._common import kind_for_path, kind_for_program
from .record import is_record_start, parse_record
from .structured import ProblemCallback, sniff_structured, transcode

__all__ = [
    "is_record_start",
    "parse_record",
    "sniff_structured",
    "transcode",
    "ProblemCallback",
    "kind_for_path",
    "kind_for_program",
]
