"""Terminal reporter: verdict first, then the evidence trail, then what was read.

Layout (every line at most ``width`` columns, 100 by default, except that a single word longer
than that, a path or a URL, is never split so it can still be copied; colour is ANSI and only
when asked for, and it is applied after wrapping so it never changes the layout)::

    2 live migrations, 1 failed; primary cause: cpu_incompatible

    ✖ m-1  rolled back  instance 6f1c2d3e-…
      route     compute-01 (source) → compute-02 (destination)
      cause     cpu_incompatible  confidence 0.95  [LM071] …
      evidence  compute-02  2024-05-14 10:21:06.350Z (logged 10:21:03.950Z, clock +2.40s)
                /var/log/libvirt/libvirtd.log:4711
                operation failed: guest CPU doesn't match specification: …
      fix       …
    Timeline · Secondary causes · Convergence · Missing evidence · Inputs · Problems
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from ..model import CauseVerdict, ClockOffset, Migration, Outcome, Report
from ._common import (
    Row,
    applied_offset,
    as_utc,
    duration_s,
    evidence_groups,
    fmt_bytes,
    fmt_offset,
    headline,
    hms,
    impact,
    key_evidence,
    line_span,
    locator,
    logged_time,
    offsets_by_host,
    outcome_label,
    problem_place,
    route_text,
    single_instant,
    sparkline,
    stamp,
    timeline_rows,
)

__all__ = ["render_text", "DEFAULT_WIDTH"]

DEFAULT_WIDTH = 100

_BOLD, _DIM, _RED, _GREEN, _YELLOW, _CYAN = "1", "2", "31", "32", "33", "36"
_LABEL_W = 10  # width of the label column in a verdict block
_ROLE_ABBR = {"source": "src", "destination": "dst", "conductor": "cond"}
_MAX_EVIDENCE_LINES = 8  # a joined traceback can be long; the verdict block stays compact
_LABEL_CAP = 24  # stage names reach 38 chars; clipped so the short text keeps room
_MIN_TEXT = 24  # columns the timeline's event text keeps before label and host are clipped


class _Paint:
    """ANSI styling that is the identity when colour is off."""

    def __init__(self, on: bool) -> None:
        self.on = on

    def __call__(self, text: str, *codes: str) -> str:
        if not self.on or not codes or not text:
            return text
        return f"\x1b[{';'.join(codes)}m{text}\x1b[0m"


_INI_SECTION = re.compile(r"\[[A-Za-z_][\w.-]*\] ")


def _is_snippet(body: str) -> bool:
    """A line that is configuration or aligned output rather than prose.

    ``[libvirt] live_migration_permit_post_copy = True   (needs userfaultfd)`` written under a
    list item is indented like a continuation of the item's sentence; joined into it, three
    settings read as one run-on sentence. An ini section prefix or a run of spaces inside the
    line (column alignment) marks it as a snippet to keep on its own line.
    """
    return bool(_INI_SECTION.match(body)) or "   " in body


def _list_marker(line: str) -> int:
    """Length of a leading list marker (``- ``, ``* ``, ``1. ``, ``2) ``) or 0."""
    if line[:2] in ("- ", "* "):
        return 2
    digits = len(line) - len(line.lstrip("0123456789"))
    if 0 < digits < 4 and line[digits:digits + 2] in (". ", ") "):
        return digits + 2
    return 0


@dataclass
class _Block:
    text: str
    indent: int
    cont: int  # indent of wrapped continuation lines
    verbatim: bool  # a snippet line: never joined with others


def _blocks(text: str) -> list[_Block]:
    """Split author text into blocks to wrap one by one.

    Catalogue prose arrives hard-wrapped near 95 columns; re-wrapping it line by line would
    leave orphan words, so a line that continues a paragraph or list item (same indent as the
    item's text, no list marker) is joined back to it. Snippets stay as written: a line
    indented deeper than the text around it, and a line that heads such a deeper block
    (``[libvirt] cpu_mode = custom`` above an aligned ``cpu_models = ...``).
    """
    lines = text.splitlines()
    indents = [len(ln) - len(ln.lstrip()) if ln.strip() else -1 for ln in lines]
    blocks: list[_Block] = []
    for i, raw in enumerate(lines):
        body, indent = raw.strip(), indents[i]
        if not body:
            blocks.append(_Block("", 0, 0, True))
            continue
        nxt = next((d for d in indents[i + 1:] if d >= 0), -1)
        heads_snippet = nxt > indent
        marker = _list_marker(body)
        snippet = not marker and _is_snippet(body)
        cur = blocks[-1] if blocks and blocks[-1].text else None
        if (cur is not None and not cur.verbatim and not marker and not heads_snippet
                and not snippet and indent == cur.cont):
            cur.text = f"{cur.text} {body}"
            continue
        if cur is None:
            verbatim = (indent > 0 and not marker) or snippet
        elif cur.verbatim:
            verbatim = not marker and (indent >= cur.indent or snippet)
        else:
            verbatim = not marker and (indent > cur.cont or heads_snippet or snippet)
        blocks.append(_Block(body, indent, indent + marker, verbatim))
    return blocks


def _wrap(text: str, width: int) -> list[str]:
    """Wrap author text to ``width``: paragraphs reflowed, list items hang, snippets kept."""
    out: list[str] = []
    for b in _blocks(text):
        if not b.text:
            out.append("")
            continue
        first, rest = " " * b.indent, " " * (b.indent + 2 if b.verbatim else b.cont)
        # break_long_words=False: a path or URL longer than the column stays whole (copyable)
        # and overflows, rather than being cut mid-name
        wrapped = textwrap.wrap(
            b.text, width=max(10 + len(rest), width), break_long_words=False,
            break_on_hyphens=False, initial_indent=first, subsequent_indent=rest,
        )
        out.extend(wrapped)
    while out and not out[-1]:
        out.pop()
    return out or [""]


def _wrap_log(text: str, width: int) -> list[str]:
    """Wrap log text line by line: a long line hangs under itself, lines are never joined.

    Author prose is reflowed (:func:`_wrap`), but two log lines are two events: joining them
    into one paragraph would invent a line that is in no file.
    """
    out: list[str] = []
    for raw in text.splitlines() or [""]:
        body = raw.rstrip()
        if not body:
            out.append("")
            continue
        lead = len(body) - len(body.lstrip())
        out.extend(textwrap.wrap(
            body.lstrip(), width=max(12 + lead, width), initial_indent=" " * lead,
            subsequent_indent=" " * (lead + 2), break_long_words=False,
            break_on_hyphens=False))
    while out and not out[-1]:
        out.pop()
    return out or [""]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _clip(text: str, width: int) -> str:
    """First non-empty line of ``text``, cut to ``width`` with an ellipsis."""
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if len(first) <= width:
        return first
    return first[: max(0, width - 1)] + "…"


class _Writer:
    def __init__(self, paint: _Paint, width: int) -> None:
        self.p = paint
        self.width = width
        self.lines: list[str] = []

    def add(self, line: str = "") -> None:
        self.lines.append(line)

    def heading(self, title: str) -> None:
        if self.lines and self.lines[-1]:
            self.add()
        self.add(self.p(title, _BOLD))

    def field(self, label: str, value: str, *codes: str, indent: int = 2,
              max_lines: int | None = None, log: bool = False) -> None:
        """``  label     value`` with the value wrapped under itself (``log``: line by line)."""
        pad = " " * indent
        body_w = self.width - indent - _LABEL_W - 2
        lines = _wrap_log(value, body_w) if log else _wrap(value, body_w)
        if max_lines is not None and len(lines) > max_lines:
            lines = lines[: max_lines - 1] + [f"… ({len(lines) - max_lines + 1} more lines)"]
        for i, ln in enumerate(lines):
            lab = self.p(label.ljust(_LABEL_W), _DIM) if i == 0 else " " * _LABEL_W
            self.add((pad + lab + "  " + self.p(ln, *codes)).rstrip())

    def para(self, text: str, indent: int, *codes: str) -> None:
        for ln in _wrap(text, self.width - indent):
            self.add((" " * indent + self.p(ln, *codes)).rstrip())


def _marker(m: Migration, p: _Paint) -> str:
    if m.outcome is Outcome.COMPLETED:
        return p("✔", _GREEN, _BOLD)
    if m.outcome.failed:
        return p("✖", _RED, _BOLD)
    return p("?", _YELLOW, _BOLD)


def _when(m: Migration) -> str:
    if m.start is None and m.end is None:
        return "no timestamps"
    if single_instant(m):
        return f"{stamp(m.start)}  (one timestamped line: duration unknown)"
    text = stamp(m.start) + " → "
    if m.end is not None and m.start is not None and as_utc(m.end).date() == as_utc(m.start).date():
        text += hms(m.end) + "Z"
    else:
        text += stamp(m.end)
    d = duration_s(m)
    if d is not None:
        text += f"  ({d:.1f} s)"
    return text


def _evidence_head(host: str | None, ts_text: str, logged: tuple[datetime, float] | None) -> str:
    head = f"{host or '(unknown host)'}  {ts_text}"
    if logged is not None:
        raw, shift = logged
        head += f" (logged {hms(raw)}Z, clock {fmt_offset(shift)})"
    return head


def _verdict_block(w: _Writer, m: Migration, offsets: dict[str, ClockOffset]) -> None:
    p = w.p
    state_codes = (_GREEN,) if m.outcome is Outcome.COMPLETED else (
        (_RED, _BOLD) if m.outcome.failed else (_YELLOW,))
    head = (f"{_marker(m, p)} {p(m.id, _BOLD)}  {p(outcome_label(m.outcome), *state_codes)}"
            f"  instance {m.instance_uuid or '(unknown)'}")
    w.add(head)
    w.field("route", route_text(m))
    w.field("time", _when(m))
    w.field("impact", impact(m).note)
    rc = m.root_cause
    if rc is None:
        if m.outcome.failed:
            w.field("cause", "not attributed: no classified failure line for this migration",
                    _YELLOW)
        else:
            w.field("cause", "none")
        return
    w.field("cause", f"{rc.cause}  confidence {rc.confidence:.2f}  [{rc.pattern_id}] {rc.title}",
            _RED, _BOLD)
    if rc.summary:
        w.field("", rc.summary)
    ev = key_evidence(rc)
    if ev is not None:
        # the key line and the lines right after it in the same file for the same reason
        # (five "host doesn't support requested feature" warnings) are shown as one range
        group = next((g for g in evidence_groups(rc.evidence) if g[0] is ev), [ev])
        w.field("evidence", _evidence_head(ev.host, stamp(ev.timestamp),
                                           logged_time(ev, offsets)))
        w.field("", line_span(group[0], group[-1], len(group)))
        w.field("", "\n".join(x.text.rstrip("\n") for x in group), _CYAN,
                max_lines=_MAX_EVIDENCE_LINES, log=True)
        more = sum(1 for x in rc.evidence if x.role == "cause") - sum(
            1 for x in group if x.role == "cause")
        if more > 0:
            w.field("", f"{more} other line{'s support' if more > 1 else ' supports'} this cause: "
                        "marked ! in the timeline", _DIM)
    if rc.fix:
        w.field("fix", rc.fix)
    for step in m.remediation:
        if step.strip() != rc.fix.strip():
            w.field("then", step)


def _offset_note(w: _Writer, offsets: Sequence[ClockOffset]) -> None:
    """Which hosts' times were shifted, by how much and why; unshifted hosts on one line.

    The basis of a zero offset (the reference clock, or bounds that include 0) changes
    nothing in the timeline; its reasoning is in the JSON and Markdown appendix.
    """
    unshifted = [o.host for o in offsets if not fmt_offset(o.offset_s)]
    for o in offsets:
        if not fmt_offset(o.offset_s):
            continue
        bounds = ""
        if o.lower_s is not None or o.upper_s is not None:
            lo = "-∞" if o.lower_s is None else f"{o.lower_s:+.2f}s"
            hi = "+∞" if o.upper_s is None else f"{o.upper_s:+.2f}s"
            bounds = f" (between {lo} and {hi})"
        w.field("clock", f"{o.host}: {fmt_offset(o.offset_s)} added to its logged times"
                         f"{bounds}; {o.basis}")
    if unshifted:
        w.field("clock", f"not shifted: {', '.join(unshifted)}")


def _wrap_column(text: str, width: int) -> list[str]:
    """Wrap a short text into a fixed column; every line fits.

    A word too long for the column (a method name such as
    ``(check_can_live_migrate_destination)``) starts a line of its own and is split after an
    underscore where possible, so it reads ``(check_can_live_migrate_`` / ``destination)``
    rather than ``finished (ch`` / ``eck_can_live_migrate_destination)``.
    """
    out: list[str] = []
    cur = ""
    for word in text.split():
        while word:
            joined = f"{cur} {word}" if cur else word
            if len(joined) <= width:
                cur, word = joined, ""
            elif cur:
                out.append(cur)
                cur = ""
            else:  # alone and still too long: split it
                cut = word.rfind("_", 0, width) + 1 or width
                out.append(word[:cut])
                word = word[cut:]
    out.append(cur)
    return out


def _row_label(r: Row) -> str:
    e = r.entry
    if e.kind == "cause":
        return ("! " if r.primary else "* ") + (e.cause or "other")
    return e.stage or "-"


def _timeline(w: _Writer, m: Migration, offsets: dict[str, ClockOffset]) -> None:
    p = w.p
    entries = m.timeline
    first_day: date | None = next(
        (as_utc(e.timestamp).date() for e in entries if e.timestamp is not None), None)
    w.add(p(f"── {m.id}", _BOLD) + f"  instance {m.instance_uuid or '(unknown)'}"
          + (f"  {first_day.isoformat()}" if first_day else ""))
    if not entries:
        w.add("  (no classified lines)")
        return
    rows = timeline_rows(m)
    offs = [fmt_offset(applied_offset(r.entry, offsets)) for r in rows]
    off_w = max(len(o) for o in offs)
    host_w = min(20, max(len(r.entry.host or "?") for r in rows))
    role_w = 4
    labels = [_row_label(r) for r in rows]
    label_w = min(_LABEL_CAP, max(len(lb) for lb in labels))
    # on a narrow terminal the event text keeps _MIN_TEXT columns: the stage/cause label and
    # then the host name are clipped first (both stay recognisable at 14 and 10 columns)
    base = 2 + 12 + 1 + (off_w + 1 if off_w else 0) + 1 + role_w + 1 + 1
    while w.width - base - host_w - label_w < _MIN_TEXT and label_w > 14:
        label_w -= 1
    while w.width - base - host_w - label_w < _MIN_TEXT and host_w > 10:
        host_w -= 1
    fixed = base + host_w + label_w
    text_w = max(12, w.width - fixed)
    day = first_day
    for r, off, label in zip(rows, offs, labels):
        e = r.entry
        if e.timestamp is not None and as_utc(e.timestamp).date() != day:
            day = as_utc(e.timestamp).date()
            w.add("  " + p(day.isoformat(), _DIM))
        host = _clip(e.host or "?", host_w).ljust(host_w)
        role = _ROLE_ABBR.get(e.role or "", "-").ljust(role_w)
        parts = ["  " + hms(e.timestamp)]
        if off_w:
            parts.append(p(off.rjust(off_w), _YELLOW) if off else " " * off_w)
        lab = _clip(label, label_w).ljust(label_w)
        if e.kind == "cause":
            lab = p(lab, _RED, _BOLD) if label.startswith("!") else p(lab, _YELLOW)
        # the pattern title is the short text: the raw line's prefix would fill the column
        short_text = e.title or _clip(e.text, 200)
        if r.count > 1:
            until = r.until
            short_text += f" (×{r.count}" + (f", until {hms(until)})" if until else ")")
        short = _wrap_column(short_text, text_w)
        codes = (_DIM,) if e.severity == "debug" else ()
        parts += [host, role, lab, p(short[0], *codes)]
        w.add(" ".join(parts).rstrip())
        for cont in short[1:]:
            w.add((" " * fixed + p(cont, *codes)).rstrip())


def _secondary(w: _Writer, m: Migration, v: CauseVerdict) -> None:
    w.add(f"  {w.p(m.id, _BOLD)}  {w.p(v.cause, _YELLOW)}  confidence {v.confidence:.2f}")
    w.para(f"[{v.pattern_id}] {v.title}", 6)
    if v.ranked_lower_because:
        w.para(f"ranked lower because: {v.ranked_lower_because}", 6)
    ev = key_evidence(v)
    if ev is not None:
        w.para(f"evidence: {ev.host or '(unknown host)'}  {stamp(ev.timestamp)}", 6)
        w.para(locator(ev.source, ev.line), 16)


def _convergence(w: _Writer, m: Migration) -> None:
    c = m.convergence
    if c is None:
        return
    pts = c.points
    head = f"  {w.p(m.id, _BOLD)}  {c.trend}"
    if pts:
        values = [pt.memory_remaining_pct for pt in pts]
        span = pts[-1].elapsed_s - pts[0].elapsed_s
        spark = sparkline(values, max_len=max(8, min(60, w.width - 50)))
        head += (f"  {values[0]}% {w.p(spark, _CYAN)} {values[-1]}%"
                 f"  ({_plural(len(pts), 'sample')} over {span} s)")
    w.add(head)
    if c.summary:
        w.para(c.summary, 6)


def _clip_path(path: str, width: int) -> str:
    """The end of ``path`` in ``width`` columns, cut at a directory boundary when one is near.

    ``…/kolla/libvirt/libvirtd.log`` reads as a path; ``…og/kolla/libvirt/libvirtd.log`` does
    not. A boundary far into the tail is not used: the column would be mostly empty.
    """
    tail = path[-(width - 1):]
    cut = tail.find("/")
    if 0 <= cut <= min(12, len(tail) - 2):  # near: do not give up a third of the column
        return "…" + tail[cut:]
    return "…" + tail


def _inputs(w: _Writer, report: Report) -> None:
    ins = report.inputs
    total_b = sum(i.bytes_read for i in ins)
    w.heading(f"Inputs: {_plural(len(ins), 'file')}, {fmt_bytes(total_b)}, "
              f"{_plural(sum(i.lines for i in ins), 'line')}, "
              f"{_plural(sum(i.findings for i in ins), 'finding')}")
    if not ins:
        return
    host_w = min(20, max(4, *(len(i.host or "-") for i in ins)))
    kind_w = min(14, max(4, *(len(i.kind or "-") for i in ins)))
    nums_w = 10 + 1 + 9 + 1 + 8 + 1 + 8
    name_w = w.width - 2 - host_w - 1 - kind_w - 1 - nums_w - 1
    if name_w < 16:  # narrow terminal: give the path some room before clipping host and kind
        cut = min(16 - name_w, max(0, host_w - 6) + max(0, kind_w - 6))
        kind_cut = min(max(0, kind_w - 6), cut)  # the kind is the least needed column
        kind_w -= kind_cut
        host_w -= min(max(0, host_w - 6), cut - kind_cut)
        name_w = max(8, w.width - 2 - host_w - 1 - kind_w - 1 - nums_w - 1)
    # a header aligned with the columns (the numbers are right-aligned, so are their names)
    w.add(w.p("  " + " ".join([
        "input".ljust(name_w), "host".ljust(host_w), "kind".ljust(kind_w), "bytes".rjust(10),
        "lines".rjust(9), "matched".rjust(8), "findings".rjust(8)]), _DIM))
    for i in ins:
        name = i.name if len(i.name) <= name_w else _clip_path(i.name, name_w)
        w.add("  " + " ".join([
            name.ljust(name_w), _clip(i.host or "-", host_w).ljust(host_w),
            _clip(i.kind or "-", kind_w).ljust(kind_w), fmt_bytes(i.bytes_read).rjust(10),
            f"{i.lines}".rjust(9), f"{i.matched_lines}".rjust(8), f"{i.findings}".rjust(8),
        ]).rstrip())


def _problems(w: _Writer, report: Report) -> None:
    if not report.problems:
        return
    w.heading(f"Problems ({len(report.problems)})")
    for pr in report.problems:
        where, scope = problem_place(pr)
        codes = (_RED,) if pr.severity == "error" else (_YELLOW,)
        lines = _wrap(f"could not read: {where}: {pr.message} ({scope})", w.width - 4)
        w.add("  " + w.p(lines[0], *codes))
        for ln in lines[1:]:
            w.add("    " + w.p(ln, *codes))


def render_text(report: Report, *, color: bool = False, width: int = DEFAULT_WIDTH) -> str:
    """The terminal report; ANSI colour only when ``color`` is true."""
    paint = _Paint(color)
    w = _Writer(paint, width)
    head = headline(report)
    for ln in _wrap(head, width):
        w.add(paint(ln, _BOLD))
    extra = report.summary.headline
    if extra and extra.strip() != head:
        w.para(extra, 0)
    offsets = offsets_by_host(report.clock_offsets)

    if not report.migrations:
        w.add()
        w.add("No live migration found in the input.")
    for m in report.migrations:
        w.add()
        _verdict_block(w, m, offsets)

    if report.migrations:
        w.heading("Timeline (UTC, corrected for clock offsets)")
        _offset_note(w, report.clock_offsets)
        for m in report.migrations:
            _timeline(w, m, offsets)

    with_secondary = [(m, v) for m in report.migrations for v in m.secondary_causes]
    if with_secondary:
        w.heading("Secondary causes")
        for m, v in with_secondary:
            _secondary(w, m, v)

    if any(m.convergence is not None for m in report.migrations):
        w.heading("Convergence (memory remaining)")
        for m in report.migrations:
            _convergence(w, m)

    if any(m.missing_evidence for m in report.migrations):
        w.heading("Missing evidence")
    for m in report.migrations:
        for i, x in enumerate(m.missing_evidence):
            if i == 0:
                w.add(f"  {paint(m.id, _BOLD)}")
            else:
                w.add()
            w.field("what", x.what, indent=4)
            w.field("why", x.why, indent=4)
            w.field("how", x.how, _CYAN, indent=4)

    _inputs(w, report)
    _problems(w, report)
    return "\n".join(w.lines).rstrip("\n") + "\n"
