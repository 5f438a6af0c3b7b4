"""HTML reporter: one self-contained file, no network, no script.

Everything is inline: CSS in one ``<style>``, charts as inline SVG (a timeline with one lane
per host and marks placed by clock-corrected time; a convergence chart of memory remaining
against elapsed seconds). A Content-Security-Policy meta tag forbids every external load, so
even a stray reference could not leak a request when an operator opens the file. All log
text is escaped with :func:`html.escape`.

Colours are named once (``COLORS``) so tests can look for them in a screenshot. In the
timeline chart every root-cause line is drawn in the cause colour, but only the key evidence
line gets the dashed rule and the label (kept inside the chart). Events tables fold lines
longer than a few hundred characters (Nova's DEBUG dumps) and the events of completed
migrations.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from datetime import datetime

from ..model import CauseVerdict, ClockOffset, Evidence, Migration, Outcome, Report
from ._common import (
    TOOL_NAME,
    applied_offset,
    as_utc,
    duration_s,
    evidence_groups,
    fmt_bytes,
    fmt_offset,
    headline,
    hms,
    impact,
    is_key_entry,
    is_primary_entry,
    key_evidence,
    lane_hosts,
    line_span,
    locator,
    logged_time,
    offsets_by_host,
    outcome_label,
    problem_place,
    route_text,
    single_instant,
    stamp,
)
from .guidance import prevention_for

__all__ = ["render_html", "COLORS"]

#: the palette; "cause" is the primary-cause highlight (also the badge colour)
COLORS: Mapping[str, str] = {
    "cause": "#d7191c",  # primary cause: red
    "symptom": "#fdae61",  # other cause lines (symptoms, contributing causes): orange
    "failure": "#7b3294",  # error/critical lifecycle events (failure, rollback): purple
    "warning": "#c2a5cf",  # warning events
    "event": "#2c7bb6",  # info events
    "debug": "#969696",  # debug events
    "ok": "#1a9641",  # completed migration
    "line": "#2c7bb6",  # convergence polyline
}

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_TITLE_CLIP = 400  # tooltip text; a joined traceback would make a useless tooltip
# an events-table cell shows this much of a log line; the rest folds away (Nova's DEBUG dumps
# of LibvirtLiveMigrateData run to several KB and made the table pages long)
_LINE_CLIP, _LINE_CLIP_LINES = 240, 3
_LABEL_CHAR_W = 7.2  # average advance of the 12px SVG label font, to keep labels inside

_CSS = """
:root { --cause: %(cause)s; --symptom: %(symptom)s; --failure: %(failure)s; --ok: %(ok)s; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
       color: #1f2328; background: #fff; margin: 0 auto; max-width: 1200px; padding: 16px 24px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; margin-top: 28px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
.headline { font-size: 16px; font-weight: 600; margin: 4px 0; }
.meta { color: #57606a; margin: 0; }
code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
                   font-size: 12.5px; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 4px; padding: 6px 8px;
      white-space: pre-wrap; overflow-wrap: anywhere; margin: 4px 0 8px; }
pre.log.cause { border-left: 4px solid var(--cause); }
pre.log.symptom { border-left: 4px solid var(--symptom); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600;
         font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
.badge.cause { background: var(--cause); color: #fff; }
.badge.secondary { background: var(--symptom); color: #1f2328; }
.badge.none { background: #eaeef2; color: #1f2328; }
.verdict { border: 1px solid #d0d7de; border-left: 6px solid #8c959f; border-radius: 6px;
           padding: 8px 14px; margin: 12px 0; }
.verdict.failed { border-left-color: var(--cause); }
.verdict.completed { border-left-color: var(--ok); }
.verdict h3 { margin-top: 4px; }
.outcome.failed { color: var(--cause); } .outcome.completed { color: var(--ok); }
dl { display: grid; grid-template-columns: 110px 1fr; gap: 4px 12px; margin: 6px 0; }
dt { color: #57606a; font-weight: 600; } dd { margin: 0; min-width: 0; }
table { border-collapse: collapse; width: 100%%; margin: 6px 0 12px; }
th, td { border: 1px solid #d0d7de; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.text { overflow-wrap: anywhere; width: 60%%; }
td.nowrap { white-space: nowrap; }
pre.line { margin: 2px 0; padding: 2px 6px; font-size: 12px; }
tr.primary-cause td { background: #fde0dd; }
tr.cause td { background: #fff5eb; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
svg { display: block; max-width: 100%%; height: auto; margin: 6px 0; }
svg text { font: 12px system-ui, "DejaVu Sans", sans-serif; fill: #1f2328; }
svg .lane-bg { fill: #f6f8fa; } svg .lane-bg.alt { fill: #ffffff; }
svg .axis { stroke: #57606a; stroke-width: 1; } svg .grid { stroke: #d0d7de; stroke-width: 1; }
svg .cause-line { stroke: var(--cause); stroke-width: 2; stroke-dasharray: 5 3; }
svg text.cause-label { fill: var(--cause); }  /* CSS beats a fill="" attribute */
svg text.lane-sub { fill: #57606a; }
.legend span { display: inline-block; margin-right: 14px; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 50%%;
          vertical-align: -1px; margin-right: 4px; }
.problems li.error { color: #a50f15; }  /* not the cause colour: that one marks the cause only */
.note { color: #57606a; }
details.more > summary { color: #57606a; cursor: pointer; font-size: 12px; }
p.step { margin: 4px 0; }
"""


def h(text: object) -> str:
    """Escape anything for HTML text and attribute values."""
    return html.escape(str(text), quote=True)


def _inline_code(text: str) -> str:
    """Our own guidance text: escape it, then turn `spans` into <code> (odd pieces)."""
    pieces = text.split("`")
    if len(pieces) % 2 == 0:  # unbalanced: show the backticks as they are
        return h(text)
    return "".join(f"<code>{h(p)}</code>" if i % 2 else h(p) for i, p in enumerate(pieces))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_line(text: str) -> str:
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), "")


# -- timeline SVG -------------------------------------------------------------------------

_TL_W, _TL_LEFT, _TL_RIGHT, _TL_TOP, _LANE_H, _TL_AXIS = 1100, 170, 40, 34, 46, 34
_NICE_STEPS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200,
               14400, 21600, 43200, 86400)


def _nice_step(span: float, max_ticks: int = 8) -> float:
    for step in _NICE_STEPS:
        if span / step <= max_ticks:
            return step
    return span / max_ticks


def _entry_color(kind: str, severity: str, primary: bool) -> str:
    if primary:
        return COLORS["cause"]
    if kind == "cause":
        return COLORS["symptom"]
    if severity in ("error", "critical"):
        return COLORS["failure"]
    if severity == "warning":
        return COLORS["warning"]
    return COLORS["debug"] if severity == "debug" else COLORS["event"]


def _timeline_svg(m: Migration, offsets: Mapping[str, ClockOffset]) -> str:
    timed = [e for e in m.timeline if e.timestamp is not None]
    lanes = lane_hosts(m)
    if not timed or not lanes:
        return '<p class="note">No timestamped lines to draw.</p>'
    t0 = min(as_utc(e.timestamp) for e in timed if e.timestamp is not None)
    t1 = max(as_utc(e.timestamp) for e in timed if e.timestamp is not None)
    span = max((t1 - t0).total_seconds(), 1.0)
    pad = span * 0.03  # keep the first and last marks off the lane edges
    start, total = t0.timestamp() - pad, span + 2 * pad
    plot_w = _TL_W - _TL_LEFT - _TL_RIGHT
    height = _TL_TOP + _LANE_H * len(lanes) + _TL_AXIS

    def x(ts: datetime) -> float:
        return _TL_LEFT + (as_utc(ts).timestamp() - start) / total * plot_w

    # the unknown-host lane (None) gets no role: with both ends unknown, None would be keyed
    # twice and the lane labelled "destination"
    roles = {h: r for h, r in ((m.source_host, "source"), (m.dest_host, "destination"))
             if h is not None}
    parts = [f'<svg class="timeline" viewBox="0 0 {_TL_W} {height}" width="{_TL_W}" '
             f'height="{height}" role="img" aria-label="Timeline of {h(m.id)} across hosts">']
    parts.append(f'<text x="{_TL_LEFT}" y="16">{h(stamp(t0)[:10])} (UTC, clock-corrected)</text>')
    lane_y: dict[str | None, float] = {}
    for i, host in enumerate(lanes):
        y0 = _TL_TOP + i * _LANE_H
        lane_y[host] = y0 + _LANE_H / 2
        role = (roles.get(host) if host is not None else None) or next(
            (e.role for e in m.timeline if e.host == host and e.role), None)
        label = host or "(unknown host)"
        off = offsets.get(host) if host else None
        parts.append(f'<g class="lane" data-host="{h(label)}">')
        parts.append(f'<rect class="lane-bg{" alt" if i % 2 else ""}" x="0" y="{y0}" '
                     f'width="{_TL_W}" height="{_LANE_H}"/>')
        parts.append(f'<text x="8" y="{y0 + 19}" font-weight="600">{h(_clip(label, 22))}</text>')
        sub = role or ""
        if off is not None and fmt_offset(off.offset_s):
            # SVG collapses runs of spaces: a visible separator keeps role and clock apart
            sub += f"{' · ' if sub else ''}clock {fmt_offset(off.offset_s)}"
        parts.append(f'<text class="lane-sub" x="8" y="{y0 + 35}">{h(sub)}</text>')
        parts.append("</g>")
    # ticks
    axis_y = _TL_TOP + _LANE_H * len(lanes)
    step = _nice_step(total)
    first = math.ceil(start / step) * step
    parts.append(f'<line class="axis" x1="{_TL_LEFT}" y1="{axis_y}" x2="{_TL_W - _TL_RIGHT}" '
                 f'y2="{axis_y}"/>')
    tick = first
    while tick <= start + total:
        tx = _TL_LEFT + (tick - start) / total * plot_w
        label = datetime.fromtimestamp(tick, tz=as_utc(t0).tzinfo).strftime("%H:%M:%S")
        if step < 1:
            label += f".{int(round(tick * 10)) % 10}"
        parts.append(f'<line class="grid" x1="{tx:.1f}" y1="{_TL_TOP}" x2="{tx:.1f}" '
                     f'y2="{axis_y}"/>')
        parts.append(f'<text x="{tx:.1f}" y="{axis_y + 16}" text-anchor="middle">{label}</text>')
        tick += step
    # marks: events first, causes on top, the primary cause last so nothing hides it; of the
    # primary lines only the key evidence line gets the dashed rule and the label (several
    # cause lines within milliseconds would stack their labels into an unreadable smear)
    ordered = sorted(timed, key=lambda e: (is_primary_entry(e, m), is_key_entry(e, m),
                                           e.kind == "cause"))
    for e in ordered:
        assert e.timestamp is not None
        primary = is_primary_entry(e, m)
        key = primary and is_key_entry(e, m)
        cx, cy = x(e.timestamp), lane_y.get(e.host, lane_y.get(None, _TL_TOP + _LANE_H / 2))
        color = _entry_color(e.kind, e.severity, primary)
        what = (f"cause {e.cause}" if e.kind == "cause" else (e.stage or "event"))
        shift = fmt_offset(applied_offset(e, offsets))
        tip = (f"{hms(e.timestamp)}Z{' (clock ' + shift + ')' if shift else ''} "
               f"{e.host or '?'} {what} [{e.pattern_id}] {_clip(_first_line(e.text), _TITLE_CLIP)}")
        cls = "mark primary-cause" if key else (
            "mark cause primary-line" if primary else f"mark {h(e.kind)}")
        if key:
            parts.append(f'<line class="cause-line" x1="{cx:.1f}" y1="{_TL_TOP}" x2="{cx:.1f}" '
                         f'y2="{axis_y}"/>')
            parts.append(f'<circle class="{cls}" cx="{cx:.1f}" cy="{cy:.1f}" r="9" fill="{color}" '
                         f'stroke="#fff" stroke-width="2"><title>{h(tip)}</title></circle>')
            label = e.cause or ""
            # right of the mark, or left of it when it would run off the chart
            if cx + 12 + len(label) * _LABEL_CHAR_W > _TL_W - 4:
                lx, anchor = cx - 12, "end"
            else:
                lx, anchor = cx + 12, "start"
            parts.append(f'<text class="cause-label" x="{lx:.1f}" y="{cy - 10:.1f}" '
                         f'text-anchor="{anchor}" font-weight="600" fill="{color}">'
                         f"{h(label)}</text>")
        elif e.kind == "cause":
            r = 7
            pts = f"{cx:.1f},{cy - r:.1f} {cx + r:.1f},{cy:.1f} {cx:.1f},{cy + r:.1f} {cx - r:.1f},{cy:.1f}"
            parts.append(f'<polygon class="{cls}" points="{pts}" fill="{color}" stroke="#fff">'
                         f'<title>{h(tip)}</title></polygon>')
        else:
            parts.append(f'<circle class="{cls}" cx="{cx:.1f}" cy="{cy:.1f}" r="5" fill="{color}" '
                         f'stroke="#fff"><title>{h(tip)}</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


def _legend(with_cause: bool) -> str:
    """Colour key; the root-cause swatch only when something is drawn in that colour."""
    items = ((("cause", "root cause"),) if with_cause else ()) + (
        ("symptom", "other cause line / symptom"), ("failure", "error event (failure, rollback)"),
        ("warning", "warning event"), ("event", "event"), ("debug", "debug event"))
    spans = "".join(f'<span><i class="swatch" style="background:{COLORS[k]}"></i>{h(label)}'
                    "</span>" for k, label in items)
    return f'<p class="legend">{spans}</p>'


# -- convergence SVG ----------------------------------------------------------------------

_CV_W, _CV_H, _CV_L, _CV_R, _CV_T, _CV_B = 720, 280, 64, 24, 20, 48


def _convergence_svg(m: Migration) -> str:
    c = m.convergence
    if c is None or not c.points:
        return '<p class="note">No progress samples.</p>'
    pts = c.points
    max_x = max(max(p.elapsed_s for p in pts), 1)
    pw, ph = _CV_W - _CV_L - _CV_R, _CV_H - _CV_T - _CV_B

    def x(v: float) -> float:
        return _CV_L + v / max_x * pw

    def y(pct: float) -> float:
        return _CV_T + (100 - min(100, max(0, pct))) / 100 * ph

    parts = [f'<svg class="convergence" viewBox="0 0 {_CV_W} {_CV_H}" width="{_CV_W}" '
             f'height="{_CV_H}" role="img" aria-label="Memory remaining for {h(m.id)}">']
    for pct in (0, 25, 50, 75, 100):
        parts.append(f'<line class="grid" x1="{_CV_L}" y1="{y(pct):.1f}" x2="{_CV_W - _CV_R}" '
                     f'y2="{y(pct):.1f}"/>')
        parts.append(f'<text class="ytick" x="{_CV_L - 6}" y="{y(pct) + 4:.1f}" '
                     f'text-anchor="end">{pct}%</text>')
    step = _nice_step(max_x, 8)
    tick = 0.0
    while tick <= max_x + 1e-9:
        label = f"{tick:g}"
        parts.append(f'<line class="axis" x1="{x(tick):.1f}" y1="{_CV_T + ph}" '
                     f'x2="{x(tick):.1f}" y2="{_CV_T + ph + 5}"/>')
        parts.append(f'<text class="xtick" x="{x(tick):.1f}" y="{_CV_T + ph + 18}" '
                     f'text-anchor="middle">{label}</text>')
        tick += step
    parts.append(f'<line class="axis x-axis" x1="{_CV_L}" y1="{_CV_T + ph}" '
                 f'x2="{_CV_W - _CV_R}" y2="{_CV_T + ph}"/>')
    parts.append(f'<line class="axis y-axis" x1="{_CV_L}" y1="{_CV_T}" x2="{_CV_L}" '
                 f'y2="{_CV_T + ph}"/>')
    parts.append(f'<text class="axis-label" x="{_CV_L + pw / 2:.1f}" y="{_CV_H - 8}" '
                 'text-anchor="middle">elapsed (s)</text>')
    parts.append(f'<text class="axis-label" x="14" y="{_CV_T + ph / 2:.1f}" text-anchor="middle" '
                 f'transform="rotate(-90 14 {_CV_T + ph / 2:.1f})">memory remaining (%)</text>')
    coords = " ".join(f"{x(p.elapsed_s):.1f},{y(p.memory_remaining_pct):.1f}" for p in pts)
    parts.append(f'<polyline class="memory" points="{coords}" fill="none" '
                 f'stroke="{COLORS["line"]}" stroke-width="2.5"/>')
    for p in pts:
        tip = f"{p.elapsed_s} s: memory {p.memory_remaining_pct}% remaining"
        if p.remaining_bytes is not None:
            tip += f" ({fmt_bytes(p.remaining_bytes)})"
        parts.append(f'<circle class="sample" cx="{x(p.elapsed_s):.1f}" '
                     f'cy="{y(p.memory_remaining_pct):.1f}" r="3.5" fill="{COLORS["line"]}">'
                     f"<title>{h(tip)}</title></circle>")
    parts.append("</svg>")
    return "".join(parts)


# -- sections -----------------------------------------------------------------------------

def _evidence_html(group: list[Evidence], offsets: Mapping[str, ClockOffset]) -> str:
    """One piece of evidence: consecutive lines of one file for one reason, one block."""
    ev = group[0]
    when = stamp(ev.timestamp)
    logged = logged_time(ev, offsets)
    if logged is not None:
        when += f" (logged {hms(logged[0])}Z, clock {fmt_offset(logged[1])})"
    count = f"{len(group)} lines · " if len(group) > 1 else ""
    loc = (f'<div class="evloc"><b>{h(ev.host or "(unknown host)")}</b> '
           f'<code>{h(line_span(group[0], group[-1], len(group)))}</code> {h(when)} '
           f'<span class="note">{h(count)}{h(ev.role)} · {h(ev.pattern_id)} {h(ev.title)}'
           "</span></div>")
    text = "\n".join(e.text.rstrip("\n") for e in group)
    return loc + f'<pre class="log {h(ev.role)}">{h(text)}</pre>'


def _step_html(step: str) -> str:
    """A remediation step: a one-paragraph sentence with `commands` as prose, else verbatim."""
    if "\n" not in step.strip() and step.count("`") % 2 == 0 and "`" in step:
        return f'<p class="step">{_inline_code(step)}</p>'
    return f"<pre>{h(step)}</pre>"


def _verdict_html(m: Migration, offsets: Mapping[str, ClockOffset]) -> str:
    state = "completed" if m.outcome is Outcome.COMPLETED else (
        "failed" if m.outcome.failed else "other")
    mark = {"completed": "✔", "failed": "✖"}.get(state, "?")
    imp = impact(m)
    d = duration_s(m)
    if single_instant(m):
        when = f"{stamp(m.start)} (one timestamped line: duration unknown)"
    else:
        when = f"{stamp(m.start)} → {stamp(m.end)}" + (f" ({d:.1f} s)" if d is not None else "")
    rows = [
        ("Route", h(route_text(m))),
        ("Time", h(when)),
        ("Impact", _inline_code(imp.note)),
    ]
    if m.request_ids:
        rows.append(("Requests", " ".join(f"<code>{h(r)}</code>" for r in m.request_ids)))
    rc = m.root_cause
    if rc is None:
        text = ("not attributed: no classified failure line" if m.outcome.failed else "none")
        rows.append(("Root cause", f'<span class="badge none">{h(text)}</span>'))
    else:
        rows.append(("Root cause",
                     f'<span class="badge cause">{h(rc.cause)}</span> confidence '
                     f"{rc.confidence:.2f} · [{h(rc.pattern_id)}] {h(rc.title)}"
                     f"<p>{h(rc.summary)}</p><p class=\"note\">{h(rc.why)}</p>"))
        ev = key_evidence(rc)
        if ev is not None:
            group = next((g for g in evidence_groups(rc.evidence) if g[0] is ev), [ev])
            rows.append(("Evidence", _evidence_html(group, offsets)))
        fix = f"<pre class=\"fix\">{h(rc.fix)}</pre>" if rc.fix else ""
        steps = [s for s in m.remediation if s.strip() != rc.fix.strip()]
        if steps:
            fix += "<ol>" + "".join(f"<li>{_step_html(s)}</li>" for s in steps) + "</ol>"
        if fix:
            rows.append(("Fix", fix))
    body = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return (f'<article class="verdict {state}" id="verdict-{h(m.id)}">'
            f'<h3>{mark} {h(m.id)} <span class="outcome {state}">{h(outcome_label(m.outcome))}'
            f"</span> · instance <code>{h(m.instance_uuid or '(unknown)')}</code></h3>"
            f"<dl>{body}</dl></article>")


def _line_html(text: str) -> str:
    """A log line in a table cell: its head, and the rest folded away when it is long."""
    lines = text.splitlines() or [""]
    if len(text) <= _LINE_CLIP and len(lines) <= _LINE_CLIP_LINES:
        return f'<pre class="line">{h(text)}</pre>'
    head = "\n".join(lines[:_LINE_CLIP_LINES])
    head = head[:_LINE_CLIP].rstrip() + " …"
    return (f'<pre class="line">{h(head)}</pre><details class="more"><summary>whole line '
            f"({len(text)} characters)</summary><pre class=\"line\">{h(text)}</pre></details>")


def _timeline_table(m: Migration, offsets: Mapping[str, ClockOffset]) -> str:
    rows = []
    for e in m.timeline:
        primary = is_primary_entry(e, m)
        cls = "primary-cause" if primary else ("cause" if e.kind == "cause" else "event")
        label = (f'<span class="badge {"cause" if primary else "secondary"}">{h(e.cause or "")}'
                 "</span>" if e.kind == "cause" else h(e.stage or "-"))
        rows.append(
            f'<tr class="{cls}"><td class="mono nowrap">{h(hms(e.timestamp))}</td>'
            f'<td class="mono num nowrap">{h(fmt_offset(applied_offset(e, offsets)))}</td>'
            f'<td class="nowrap">{h(e.host or "?")}<br><span class="note">{h(e.role or "-")}'
            f"</span></td><td>{label}</td>"
            f'<td class="text">{h(e.title)}{_line_html(e.text)}'
            f'<span class="note mono">{h(locator(e.source, e.line))}</span></td></tr>')
    # the events of a completed migration are folded: the failed one is what is read first
    state = "" if m.outcome is Outcome.COMPLETED else " open"
    return (f"<details{state}><summary>Events ({len(rows)})</summary><table class=\"events\">"
            "<thead><tr><th>Time (UTC)</th><th>Clock adj.</th><th>Host / role</th>"
            "<th>Stage / cause</th><th>Event and log line</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></details>")


def _offsets_html(offsets: Sequence[ClockOffset]) -> str:
    """Shifted hosts with the reasoning behind the shift; unshifted hosts on one line."""
    if not offsets:
        return ""
    items = []
    for o in offsets:
        if not fmt_offset(o.offset_s):
            continue
        lo = "−∞" if o.lower_s is None else f"{o.lower_s:+.2f} s"
        hi = "+∞" if o.upper_s is None else f"{o.upper_s:+.2f} s"
        items.append(f"<li><b>{h(o.host)}</b> {o.offset_s:+.2f} s (between {h(lo)} and "
                     f"{h(hi)}): {h(o.basis)}</li>")
    unshifted = [o.host for o in offsets if not fmt_offset(o.offset_s)]
    if unshifted:
        items.append(f"<li>not shifted: {h(', '.join(unshifted))}</li>")
    return ('<p class="note">Times are UTC, corrected by these clock offsets (seconds added to '
            f"each host's logged time):</p><ul class=\"offsets\">{''.join(items)}</ul>")


def _secondary_html(m: Migration, v: CauseVerdict) -> str:
    ev = key_evidence(v)
    where = (f" <span class=\"note\">{h(ev.host or '?')} <code>{h(locator(ev.source, ev.line))}"
             f"</code> {h(stamp(ev.timestamp))}</span>" if ev else "")
    because = (f"<br>Ranked lower because: {h(v.ranked_lower_because)}"
               if v.ranked_lower_because else "")
    return (f"<li><b>{h(m.id)}</b> <span class=\"badge secondary\">{h(v.cause)}</span> "
            f"confidence {v.confidence:.2f} · [{h(v.pattern_id)}] {h(v.title)}{where}"
            f"{because}</li>")


def _inputs_html(report: Report) -> str:
    ins = report.inputs
    out = [f"<p>{len(ins)} input{'s' if len(ins) != 1 else ''}, "
           f"{h(fmt_bytes(sum(i.bytes_read for i in ins)))}, {sum(i.lines for i in ins)} lines, "
           f"{sum(i.findings for i in ins)} findings.</p>"]
    if ins:
        rows = "".join(
            f"<tr><td class=\"mono\">{h(i.name)}</td><td>{h(i.host or '-')}</td>"
            f"<td>{h(i.kind or '-')}</td><td class=\"num\">{h(fmt_bytes(i.bytes_read))}</td>"
            f"<td class=\"num\">{i.lines}</td><td class=\"num\">{i.matched_lines}</td>"
            f"<td class=\"num\">{i.findings}</td></tr>"
            for i in ins)
        out.append("<table class=\"inputs\"><thead><tr><th>Input</th><th>Host</th><th>Kind</th>"
                   "<th>Bytes</th><th>Lines</th><th>Matched lines</th><th>Findings</th></tr>"
                   "</thead>"
                   f"<tbody>{rows}</tbody></table>")
    out.append("<h3>Unreadable inputs</h3>")
    if report.problems:
        items = []
        for p in report.problems:
            where, scope = problem_place(p)
            items.append(f'<li class="{h(p.severity)}">could not read: <code>{h(where)}</code> '
                         f"({h(p.severity)}, {scope}): {h(p.message)}</li>")
        out.append(f'<ul class="problems">{"".join(items)}</ul>')
    else:
        out.append("<p>None.</p>")
    return "".join(out)


def render_html(report: Report) -> str:
    """The report as one self-contained HTML document."""
    offsets = offsets_by_host(report.clock_offsets)
    head = headline(report)
    primary = report.summary.primary_cause
    badge = "cause" if report.summary.failed and primary != "none" else "none"
    meta = f"Generated by {TOOL_NAME}"
    if report.tool_version:
        meta += f" {report.tool_version}"
    if report.generated_at is not None:
        meta += f" at {stamp(report.generated_at)}"
    meta += f" · report schema {report.schema_version}"
    body: list[str] = [
        "<header><h1>Live-migration report</h1>",
        f'<p class="headline">{h(head.rsplit(": ", 1)[0])}: '
        f'<span class="badge {badge}">{h(primary)}</span></p>',
    ]
    if report.summary.headline and report.summary.headline != head:
        body.append(f"<p>{h(report.summary.headline)}</p>")
    body.append(f'<p class="meta">{h(meta)}</p></header>')

    body.append('<section id="verdicts"><h2>Verdicts</h2>')
    if not report.migrations:
        body.append("<p>No live migration found in the input.</p>")
    body += [_verdict_html(m, offsets) for m in report.migrations]
    body.append("</section>")

    if report.migrations:
        body.append('<section id="timeline"><h2>Timeline across hosts</h2>')
        body.append(_offsets_html(report.clock_offsets))
        body.append(_legend(any(m.root_cause is not None for m in report.migrations)))
        for m in report.migrations:
            body.append(f"<h3>{h(m.id)} · {h(m.source_host or 'unknown source')} → "
                        f"{h(m.dest_host or 'unknown destination')} · "
                        f"{h(outcome_label(m.outcome))}</h3>")
            body.append(_timeline_svg(m, offsets))
            body.append(_timeline_table(m, offsets))
        body.append("</section>")

    secondary = [(m, v) for m in report.migrations for v in m.secondary_causes]
    if secondary:
        body.append('<section id="secondary"><h2>Secondary causes</h2><ul>')
        body += [_secondary_html(m, v) for m, v in secondary]
        body.append("</ul></section>")

    conv = [m for m in report.migrations if m.convergence is not None]
    if conv:
        body.append('<section id="convergence"><h2>Convergence</h2>')
        for m in conv:
            c = m.convergence
            assert c is not None
            body.append(f"<h3>{h(m.id)} · trend: {h(c.trend)}</h3><p>{h(c.summary)}</p>")
            body.append(_convergence_svg(m))
        body.append("</section>")

    causes: list[str] = []
    for m in report.migrations:
        for v in ([m.root_cause] if m.root_cause else []) + list(m.secondary_causes):
            if v.cause not in causes and prevention_for(v.cause):
                causes.append(v.cause)
    if causes:
        body.append('<section id="prevention"><h2>Prevention</h2>')
        for cause in causes:
            items = "".join(f"<li>{_inline_code(g)}</li>" for g in prevention_for(cause))
            body.append(f"<h3><code>{h(cause)}</code></h3><ul>{items}</ul>")
        body.append("</section>")

    missing = [(m, x) for m in report.migrations for x in m.missing_evidence]
    if missing:
        body.append('<section id="missing"><h2>Missing evidence</h2><table><thead><tr>'
                    "<th>Migration</th><th>What</th><th>Why</th><th>How to get it</th></tr>"
                    "</thead><tbody>")
        body += [f"<tr><td>{h(m.id)}</td><td>{h(x.what)}</td><td>{h(x.why)}</td>"
                 f"<td>{_step_html(x.how)}</td></tr>" for m, x in missing]
        body.append("</tbody></table></section>")

    body.append('<section id="inputs"><h2>Inputs</h2>')
    body.append(_inputs_html(report))
    body.append("</section>")

    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{h(TOOL_NAME)}: {h(head)}</title><style>{_CSS % COLORS}</style></head>\n"
            "<body>\n" + "\n".join(body) + "\n</body></html>\n")
