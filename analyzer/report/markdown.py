"""Markdown reporter: a post-incident report in the usual RCA shape.

Sections: title, Summary (what failed, impact per instance), Timeline (one table per
migration, clock-corrected UTC; one row per log line, runs of identical lines as one row
with a count; the convergence of memory under the table), Root cause (cause, confidence, why,
evidence as fenced log lines, consecutive lines of one file for one reason in one block, with
the time the line carries when its host's clock was shifted), Contributing factors (secondary
causes and why they ranked lower), Fix, Prevention (the fix made permanent +
:data:`analyzer.report.guidance.PREVENTION`), Missing evidence, Appendix (inputs, unreadable
inputs, clock offsets).

Log text is untrusted: in prose and tables it is escaped (GitHub-flavoured Markdown), in
evidence it goes into fenced blocks whose fence is longer than any backtick run in the text.
Sentences of our own that quote commands in backticks (remediation, impact, "how to get it")
keep those spans as code (:func:`md_inline`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..model import CauseVerdict, ClockOffset, Evidence, Migration, Report
from ._common import (
    TOOL_NAME,
    applied_offset,
    evidence_groups,
    fmt_bytes,
    fmt_offset,
    headline,
    hms,
    impact,
    line_span,
    locator,
    logged_time,
    migration_hosts,
    offsets_by_host,
    outcome_label,
    problem_place,
    route_text,
    stamp,
    timeline_rows,
)
from .guidance import prevention_for

__all__ = ["render_markdown", "md_escape", "md_code", "md_fence", "md_inline"]

_EVENT_CLIP = 200  # timeline cells hold the first line of the text, clipped: the table stays readable
# characters that are Markdown syntax anywhere in a line (emphasis, code, links, tables,
# strikethrough, headings' closing #s, quotes). Line-start-only syntax ("- ", "1.") cannot
# occur: escaped text never starts a line, so "-" and "." stay readable in the raw file.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#>])")


def md_escape(text: str) -> str:
    """Escape ``text`` for inline Markdown (also safe inside a table cell)."""
    # entities first: log text may hold "&#10;" (libvirt's escaped newline) or XML
    flat = " ".join(text.split()).replace("&", "&amp;").replace("<", "&lt;")
    return _MD_SPECIAL.sub(r"\\\1", flat)


def md_code(text: str, *, in_table: bool = False) -> str:
    """Inline code span that survives backticks (and pipes, in a table) in ``text``."""
    flat = " ".join(text.split())
    longest = max((len(m) for m in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    if in_table:
        flat = flat.replace("|", "\\|")
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def md_inline(text: str, *, in_table: bool = False) -> str:
    """Prose whose `backtick spans` are commands: the spans become code, the rest is escaped.

    The correlator's remediation and "how to get it" sentences quote commands in backticks;
    escaping the backticks (as for log text) would print them literally. Unbalanced backticks
    are not trusted as markup and are escaped with the rest.
    """
    flat = " ".join(text.split())
    pieces = flat.split("`")
    if len(pieces) % 2 == 0:
        return md_escape(flat)
    out = []
    for i, piece in enumerate(pieces):
        if i % 2:
            out.append(md_code(piece, in_table=in_table))
        else:  # escaped like md_escape, but keeping the spaces next to the code spans
            out.append(_MD_SPECIAL.sub(r"\\\1", piece.replace("&", "&amp;").replace("<", "&lt;")))
    return "".join(out)


def md_fence(text: str, info: str = "text") -> list[str]:
    """A fenced block holding ``text`` verbatim; the fence outlasts any backtick run in it."""
    longest = max((len(m) for m in re.findall(r"`{3,}", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + info, *text.rstrip("\n").splitlines(), fence]


def _first_line(text: str, limit: int = _EVENT_CLIP) -> str:
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if len(first) > limit:
        first = first[: limit - 1] + "…"
    if len([ln for ln in text.splitlines() if ln.strip()]) > 1:
        first += " …"
    return first


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def _host(h: str | None) -> str:
    return md_escape(h) if h else "unknown"


def _evidence_block(group: list[Evidence], offsets: dict[str, ClockOffset]) -> list[str]:
    """Consecutive lines of one file for one reason: one heading, one fenced block."""
    ev = group[0]
    when = md_escape(stamp(ev.timestamp))
    logged = logged_time(ev, offsets)
    if logged is not None:
        when += f" (logged {hms(logged[0])}Z, clock {md_escape(fmt_offset(logged[1]))})"
    lines = f"{len(group)} lines, " if len(group) > 1 else ""
    where = (f"**{_host(ev.host)}** {md_code(line_span(group[0], group[-1], len(group)))} at "
             f"{when}, {lines}{md_escape(ev.role)}: "
             f"{md_escape(ev.pattern_id)} {md_escape(ev.title)}")
    return [where, "", *md_fence("\n".join(e.text.rstrip("\n") for e in group), "log"), ""]


def _summary(report: Report) -> list[str]:
    out = ["## Summary", "", f"**{md_escape(headline(report))}**", ""]
    if report.summary.headline and report.summary.headline != headline(report):
        out += [md_escape(report.summary.headline), ""]
    failed = [m for m in report.migrations if m.outcome.failed]
    if failed:
        out += ["What failed:", ""]
        for m in failed:
            rc = m.root_cause
            cause = (f"{md_escape(rc.title)} ({md_code(rc.cause)}, confidence "
                     f"{rc.confidence:.2f})" if rc else "cause not attributed")
            out.append(
                f"- Live migration **{md_escape(m.id)}** of instance "
                f"{md_code(m.instance_uuid or 'unknown')}, {md_escape(route_text(m))}, "
                f"**{outcome_label(m.outcome)}** at {md_escape(stamp(m.end))}: {cause}.")
        out.append("")
    elif report.migrations:
        out += ["No live migration failed.", ""]
    else:
        out += ["No live migration was found in the input.", ""]
    if report.migrations:
        out += ["Impact:", ""]
        rows = []
        for m in report.migrations:
            imp = impact(m)
            where = f"{_host(imp.host)} ({imp.side})" if imp.host else "unknown"
            rows.append([md_escape(m.id), md_code(m.instance_uuid or "unknown", in_table=True),
                         md_escape(outcome_label(m.outcome)), where, md_escape(imp.state),
                         md_inline(imp.note, in_table=True)])
        out += _table(["Migration", "Instance", "Outcome", "Instance is now on", "State",
                       "Notes"], rows)
        out.append("")
    return out


def _convergence_line(m: Migration) -> list[str]:
    """One sentence on memory convergence: the RCA of a timeout hinges on it."""
    c = m.convergence
    if c is None:
        return []
    summary = c.summary.strip()
    if summary and summary[-1] not in ".!?":
        summary += "."
    text = f"**Convergence** ({md_escape(c.trend)}): {md_escape(summary)}"
    pts = c.points
    if pts and len(pts) <= 40:
        series = ", ".join(f"{p.memory_remaining_pct}%" for p in pts)
        text += f" Memory remaining per sample: {series}."
    return [text, ""]


def _timeline(report: Report) -> list[str]:
    out = ["## Timeline", ""]
    if not report.migrations:
        return out + ["No migration events.", ""]
    out += ["All times are UTC, corrected for the clock offset of each host "
            "(column *Clock adj.*: seconds added to the logged time). Consecutive lines that "
            "say the same thing are one row (*×N*)."]
    out.append("")
    offsets = offsets_by_host(report.clock_offsets)
    for m in report.migrations:
        out += [f"### {md_escape(m.id)}: instance {md_code(m.instance_uuid or 'unknown')}, "
                f"{_host(m.source_host)} → {_host(m.dest_host)}", ""]
        if not m.timeline:
            out += ["No classified lines.", ""]
            continue
        rows = []
        for r in timeline_rows(m):
            e = r.entry
            if e.kind == "cause":
                label = f"cause: {md_code(e.cause or 'other', in_table=True)}"
                if r.primary:
                    label = f"**{label} (root cause)**"
            else:
                label = md_escape(e.stage or "-")
            event = md_escape(e.title or _first_line(e.text))
            if r.count > 1:
                until = r.until
                event += f" (×{r.count}" + (f", until {hms(until)}Z)" if until else ")")
            rows.append([
                md_escape(stamp(e.timestamp)), md_escape(fmt_offset(applied_offset(e, offsets))),
                _host(e.host), md_escape(e.role or "-"), label, event,
                md_code(line_span(e, r.last, r.count), in_table=True),
            ])
        out += _table(["Time (UTC)", "Clock adj.", "Host", "Role", "Stage / cause", "Event",
                       "Log line"], rows)
        out.append("")
        out += _convergence_line(m)
    return out


def _root_cause(report: Report) -> list[str]:
    out = ["## Root cause", ""]
    offsets = offsets_by_host(report.clock_offsets)
    with_cause = [m for m in report.migrations if m.root_cause is not None]
    if not with_cause:
        return out + ["No root cause: no migration failed, or no failure line could be "
                      "classified (see *Missing evidence*).", ""]
    for m in with_cause:
        rc = m.root_cause
        assert rc is not None
        out += [f"### {md_escape(m.id)}: {md_code(rc.cause)}: {md_escape(rc.title)}", "",
                f"- **Cause:** {md_code(rc.cause)}",
                f"- **Confidence:** {rc.confidence:.2f} (pattern {md_escape(rc.pattern_id)})",
                f"- **What happened:** {md_escape(rc.summary)}",
                f"- **Why:** {md_escape(rc.why)}", "", "Evidence:", ""]
        for group in evidence_groups(rc.evidence):
            out += _evidence_block(group, offsets)
    return out


def _secondary_item(v: CauseVerdict) -> list[str]:
    out = [f"- {md_code(v.cause)} (confidence {v.confidence:.2f}, {md_escape(v.pattern_id)} "
           f"{md_escape(v.title)}): {md_escape(v.summary)}"]
    if v.ranked_lower_because:
        out.append(f"  Ranked lower because: {md_escape(v.ranked_lower_because)}")
    for ev in v.evidence[:1]:
        out.append(f"  Evidence: {_host(ev.host)} {md_code(locator(ev.source, ev.line))} at "
                   f"{md_escape(stamp(ev.timestamp))}")
    return out


def _contributing(report: Report) -> list[str]:
    out = ["## Contributing factors", ""]
    with_secondary = [m for m in report.migrations if m.secondary_causes]
    if not with_secondary:
        return out + ["None identified.", ""]
    for m in with_secondary:
        out += [f"### {md_escape(m.id)}", ""]
        for v in m.secondary_causes:
            out += _secondary_item(v)
        out.append("")
    return out


def _fix(report: Report) -> list[str]:
    out = ["## Fix", ""]
    shown = False
    for m in report.migrations:
        rc = m.root_cause
        steps = [s for s in m.remediation if not rc or s.strip() != rc.fix.strip()]
        if rc is None and not steps:
            continue
        shown = True
        title = f"### {md_escape(m.id)}" + (f" ({md_code(rc.cause)})" if rc else "")
        out += [title, ""]
        if rc is not None and rc.fix:
            out += md_fence(rc.fix) + [""]
        if steps:
            out += ["Then:", ""]
            for i, step in enumerate(steps, 1):
                if "\n" in step.strip():
                    out += [f"{i}. See below:", ""]
                    out += ["   " + ln for ln in md_fence(step)]
                else:
                    out.append(f"{i}. {md_inline(step)}")
            out.append("")
    if not shown:
        out += ["Nothing to fix.", ""]
    return out


def _prevention(report: Report) -> list[str]:
    out = ["## Prevention", ""]
    causes: list[str] = []
    fixed_on: dict[str, list[Migration]] = {}
    for m in report.migrations:
        if m.root_cause is not None:
            fixed_on.setdefault(m.root_cause.cause, []).append(m)
        for v in ([m.root_cause] if m.root_cause else []) + list(m.secondary_causes):
            if v.cause not in causes:
                causes.append(v.cause)
    wrote = False
    for cause in causes:
        items: list[str] = []
        for m in fixed_on.get(cause, []):
            hosts = ", ".join(migration_hosts(m))
            items.append(f"Apply the fix for {md_escape(m.id)} to every host the instance may "
                         f"migrate between ({md_escape(hosts) or 'all compute nodes'}), not "
                         "only the destination, and keep it in configuration management.")
        items += list(prevention_for(cause))  # our own Markdown, not log text: not escaped
        if not items:
            continue
        wrote = True
        out += [f"### {md_code(cause)}", ""] + [f"- {it}" for it in items] + [""]
    if not wrote:
        out += ["No failure to prevent.", ""]
    return out


def _missing(report: Report) -> list[str]:
    out = ["## Missing evidence", ""]
    items = [(m, x) for m in report.migrations for x in m.missing_evidence]
    if not items:
        return out + ["None: the inputs covered every host and stage the verdicts needed.", ""]
    for m, x in items:
        why = x.why.rstrip().rstrip(".")
        head = (f"- **{md_escape(m.id)}: {md_escape(x.what.rstrip().rstrip('.'))}.** "
                f"Why it matters: {md_escape(why)}. How to get it:")
        if "`" in x.how and "\n" not in x.how.strip():
            # a sentence quoting its command in backticks: prose, not a shell block
            out += [f"{head} {md_inline(x.how)}", ""]
            continue
        out += [head, ""]
        out += ["  " + ln for ln in md_fence(x.how, "sh")] + [""]
    return out


def _appendix(report: Report) -> list[str]:
    out = ["## Appendix: inputs", ""]
    ins = report.inputs
    if ins:
        rows = [[md_code(i.name, in_table=True), _host(i.host), md_escape(i.kind or "-"),
                 fmt_bytes(i.bytes_read), str(i.lines), str(i.matched_lines), str(i.findings)]
                for i in ins]
        rows.append([f"**{len(ins)} input{'s' if len(ins) != 1 else ''}**", "", "",
                     f"**{fmt_bytes(sum(i.bytes_read for i in ins))}**",
                     f"**{sum(i.lines for i in ins)}**",
                     f"**{sum(i.matched_lines for i in ins)}**",
                     f"**{sum(i.findings for i in ins)}**"])
        out += _table(["Input", "Host", "Kind", "Bytes", "Lines", "Matched lines", "Findings"],
                      rows)
    else:
        out.append("No input was read.")
    out += ["", "### Unreadable inputs", ""]
    if report.problems:
        for p in report.problems:
            where, scope = problem_place(p)
            out.append(f"- could not read: {md_code(where)} ({md_escape(p.severity)}, {scope}): "
                       f"{md_escape(p.message)}")
    else:
        out.append("None.")
    out.append("")
    if report.clock_offsets:
        out += ["### Clock offsets", ""]
        rows = []
        for o in report.clock_offsets:
            lo = "" if o.lower_s is None else f"{o.lower_s:+.2f}"
            hi = "" if o.upper_s is None else f"{o.upper_s:+.2f}"
            rows.append([_host(o.host), f"{o.offset_s:+.2f}", lo, hi, md_escape(o.basis)])
        out += _table(["Host", "Offset (s)", "Lower (s)", "Upper (s)", "Basis"], rows)
        out.append("")
    return out


def render_markdown(report: Report) -> str:
    """The post-incident report as GitHub-flavoured Markdown."""
    primary = report.summary.primary_cause
    verdict = next((m.root_cause for m in report.migrations
                    if m.root_cause is not None and m.root_cause.cause == primary), None)
    if report.summary.failed and verdict is not None:
        title = (f"# Post-incident report: live migration failed: {md_escape(verdict.title)} "
                 f"({md_code(primary)})")
    elif report.summary.failed:
        title = f"# Post-incident report: live migration failed ({md_code(primary)})"
    else:
        title = "# Post-incident report: live migrations"
    meta = f"Generated by {TOOL_NAME}"
    if report.tool_version:
        meta += f" {md_escape(report.tool_version)}"
    if report.generated_at is not None:
        meta += f" at {md_escape(stamp(report.generated_at))}"
    meta += (f" from {len(report.inputs)} input{'s' if len(report.inputs) != 1 else ''} "
             f"(report schema {md_escape(report.schema_version)}).")
    lines = [title, "", f"*{meta}*", ""]
    for part in (_summary, _timeline, _root_cause, _contributing, _fix, _prevention, _missing,
                 _appendix):
        lines += part(report)
    return "\n".join(lines).rstrip("\n") + "\n"
