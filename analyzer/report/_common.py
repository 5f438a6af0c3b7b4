"""Helpers every reporter shares: time formatting, clock offsets, outcome and impact wording.

Reporters only render a :class:`~analyzer.model.Report`; everything here derives wording from
the records (outcome, hosts, offsets) and never looks at raw log lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ..model import (
    CauseVerdict,
    ClockOffset,
    Evidence,
    Migration,
    Outcome,
    Report,
    TimelineEntry,
)
from ..records import Problem

__all__ = [
    "TOOL_NAME",
    "UTC",
    "as_utc",
    "iso",
    "hms",
    "stamp",
    "headline",
    "outcome_label",
    "Impact",
    "impact",
    "key_evidence",
    "locator",
    "offsets_by_host",
    "applied_offset",
    "fmt_offset",
    "fmt_bytes",
    "sparkline",
    "lane_hosts",
    "duration_s",
    "is_primary_entry",
    "is_key_entry",
    "Row",
    "timeline_rows",
    "line_span",
    "evidence_groups",
    "logged_time",
    "route_text",
    "single_instant",
    "migration_hosts",
]

TOOL_NAME = "nma"
UTC = timezone.utc

#: eight levels, lowest first; a sparkline is meant to show the shape, not exact values
_BLOCKS = "▁▂▃▄▅▆▇█"


def as_utc(dt: datetime) -> datetime:
    """``dt`` in UTC. Records promise aware datetimes; a naive one is taken as UTC."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def iso(dt: datetime | None) -> str | None:
    """ISO 8601 with an explicit offset (always ``+00:00``), or None."""
    return None if dt is None else as_utc(dt).isoformat()


def hms(dt: datetime | None) -> str:
    """``10:21:04.512`` (UTC, milliseconds), or ``--:--:--.---`` when unknown."""
    if dt is None:
        return "--:--:--.---"
    u = as_utc(dt)
    return u.strftime("%H:%M:%S.") + f"{u.microsecond // 1000:03d}"


def stamp(dt: datetime | None) -> str:
    """``2024-05-14 10:21:04.512Z`` or ``unknown time``."""
    if dt is None:
        return "unknown time"
    return as_utc(dt).strftime("%Y-%m-%d ") + hms(dt) + "Z"


def headline(report: Report) -> str:
    """``N live migrations, M failed; primary cause: <id>`` (from the report's summary).

    Attempts whose end the logs do not show are counted too (``, 1 outcome unknown``): a
    single pasted line yields a cause but no outcome, and "0 failed; primary cause:
    auth_transport_failure" on its own reads as a contradiction at 3 a.m.
    """
    s = report.summary
    noun = "live migration" if s.migrations == 1 else "live migrations"
    text = f"{s.migrations} {noun}, {s.failed} failed"
    for outcome, label in ((Outcome.UNKNOWN, "outcome unknown"),
                           (Outcome.IN_PROGRESS, "in progress")):
        n = sum(1 for m in report.migrations if m.outcome is outcome)
        if n:
            text += f", {n} {label}"
    return f"{text}; primary cause: {s.primary_cause}"


_OUTCOME_LABELS: Mapping[Outcome, str] = {
    Outcome.COMPLETED: "completed",
    Outcome.ROLLED_BACK: "rolled back",
    Outcome.ABORTED: "aborted",
    Outcome.FAILED_PRECHECK: "failed pre-check",
    Outcome.IN_PROGRESS: "in progress",
    Outcome.UNKNOWN: "outcome unknown",
}


def outcome_label(outcome: Outcome) -> str:
    return _OUTCOME_LABELS[outcome]


@dataclass(frozen=True, slots=True)
class Impact:
    """Where the instance is after the migration and in what state, derived from the outcome."""

    host: str | None  # the host the instance is on now (None: not known from the logs)
    side: str  # "source" | "destination" | "unknown"
    state: str  # Nova vm_state / task_state wording
    note: str  # one sentence for the report


def impact(m: Migration) -> Impact:
    """Derive the instance's whereabouts from the outcome.

    Nova's rollback (``_rollback_live_migration``) and the abort path both leave the guest
    running on the source with its task state cleared; a refused pre-check never touched it;
    only a completed migration moved it. Post-copy failures can leave a paused guest split
    across hosts, but the outcome alone cannot tell that, so we do not claim it.
    """
    src = m.source_host or "the source host"
    dst = m.dest_host or "the destination host"
    uuid = m.instance_uuid or "<instance uuid>"
    if m.outcome is Outcome.COMPLETED:
        return Impact(m.dest_host, "destination", "ACTIVE",
                      f"moved to {dst}; running there (ACTIVE).")
    if m.outcome is Outcome.ROLLED_BACK:
        return Impact(m.source_host, "source", "ACTIVE",
                      f"migration rolled back; still running on {src} (ACTIVE, task state "
                      "cleared), nothing left on the destination.")
    if m.outcome is Outcome.ABORTED:
        return Impact(m.source_host, "source", "ACTIVE",
                      f"migration aborted; still running on {src} (ACTIVE).")
    if m.outcome is Outcome.FAILED_PRECHECK:
        return Impact(m.source_host, "source", "ACTIVE",
                      f"refused by a pre-check before any data moved; untouched on {src} "
                      "(ACTIVE).")
    if m.outcome is Outcome.IN_PROGRESS:
        return Impact(m.source_host, "source", "ACTIVE / task_state migrating",
                      f"the logs end while the migration was running from {src} to {dst}; "
                      f"check `openstack server show {uuid}`.")
    return Impact(None, "unknown", "unknown",
                  f"the logs do not show how it ended; check `openstack server show {uuid}` "
                  f"and `openstack server migration list --server {uuid}`.")


def key_evidence(v: CauseVerdict) -> Evidence | None:
    """The one line that best supports a verdict: the first with role "cause", else the first."""
    for ev in v.evidence:
        if ev.role == "cause":
            return ev
    return v.evidence[0] if v.evidence else None


def locator(source: str, line: int | None) -> str:
    return f"{source}:{line}" if line is not None else source


def problem_place(p: Problem) -> tuple[str, str]:
    """Where an unreadable input broke (``file:line`` or ``file @byte N``) and what was lost."""
    where = locator(p.source, p.line)
    if p.line is None and p.offset is not None:
        where += f" @byte {p.offset}"
    return where, ("whole input skipped" if p.severity == "error" else "part skipped")


def offsets_by_host(offsets: Iterable[ClockOffset]) -> dict[str, ClockOffset]:
    return {o.host: o for o in offsets}


def applied_offset(e: TimelineEntry, offsets: Mapping[str, ClockOffset]) -> float | None:
    """Seconds added to the logged time to put this entry on the reference clock.

    Prefer what was actually applied (corrected minus raw); fall back to the host's estimate.
    An entry without a timestamp had nothing shifted, so it gets None (no offset shown).
    """
    if e.timestamp is None:
        return None
    if e.raw_timestamp is not None:
        return (as_utc(e.timestamp) - as_utc(e.raw_timestamp)).total_seconds()
    if e.host is not None and e.host in offsets:
        return offsets[e.host].offset_s
    return None


def fmt_offset(seconds: float | None) -> str:
    """``+2.40s``; empty when there is no offset (nothing to flag)."""
    if seconds is None or abs(seconds) < 0.0005:
        return ""
    return f"{seconds:+.2f}s"


def fmt_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover - loop always returns


def sparkline(values: Sequence[int], max_len: int = 60) -> str:
    """Unicode block sparkline of percentages (0..100), at most ``max_len`` cells.

    Longer series are sampled at evenly spaced indices, always keeping the last value (the
    one that tells whether the migration was converging when it ended).
    """
    if not values:
        return ""
    if len(values) > max_len:
        step = (len(values) - 1) / (max_len - 1)
        values = [values[round(i * step)] for i in range(max_len)]
    cells = []
    for v in values:
        clamped = min(100, max(0, v))
        cells.append(_BLOCKS[min(len(_BLOCKS) - 1, clamped * len(_BLOCKS) // 100)])
    return "".join(cells)


def lane_hosts(m: Migration) -> list[str | None]:
    """Hosts in lane order: source, destination, then the rest as first seen.

    ``None`` (entries whose host is unknown) gets a lane of its own, last, only if needed.
    """
    lanes: list[str | None] = []
    for h in (m.source_host, m.dest_host, *m.hosts, *(e.host for e in m.timeline)):
        if h is not None and h not in lanes:
            lanes.append(h)
    if any(e.host is None for e in m.timeline):
        lanes.append(None)
    return lanes


def duration_s(m: Migration) -> float | None:
    if m.start is None or m.end is None:
        return None
    return (as_utc(m.end) - as_utc(m.start)).total_seconds()


def _cause_lines(v: CauseVerdict) -> set[tuple[str, int]]:
    return {(ev.source, ev.line) for ev in v.evidence if ev.role == "cause"}


# the last migration asked about and the ids of its primary entries, and of its key entry:
# reporters ask once per timeline entry, and the answer needs a pass over the timeline
_PRIMARY_CACHE: list[tuple[Migration, frozenset[int], int | None]] = []


def _primary_ids(m: Migration) -> tuple[frozenset[int], int | None]:
    if _PRIMARY_CACHE and _PRIMARY_CACHE[0][0] is m:
        return _PRIMARY_CACHE[0][1], _PRIMARY_CACHE[0][2]
    rc = m.root_cause
    ids: set[int] = set()
    key: int | None = None
    if rc is not None:
        lines = _cause_lines(rc)
        on_lines = [t for t in m.timeline if (t.source, t.line) in lines]
        carriers = [t for t in on_lines if t.kind == "cause" and t.cause == rc.cause]
        if carriers:
            # the cause lines, as entries that carry the cause (not a second pattern's
            # classification of the same line as another cause, nor its lifecycle event)
            chosen = carriers
        elif on_lines:  # the evidence lines are in the timeline only as events
            chosen = on_lines
        else:  # a correlator that did not copy the cause lines: the cause and pattern
            chosen = [t for t in m.timeline if t.kind == "cause" and t.cause == rc.cause
                      and t.pattern_id == rc.pattern_id]
        ids = {id(t) for t in chosen}
        ev = key_evidence(rc)
        if ev is not None:
            key = next((id(t) for t in chosen if (t.source, t.line) == (ev.source, ev.line)),
                       None)
    _PRIMARY_CACHE[:] = [(m, frozenset(ids), key)]
    return frozenset(ids), key


def is_primary_entry(e: TimelineEntry, m: Migration) -> bool:
    """True for timeline entries that carry the migration's primary cause.

    These are the lines the verdict rests on: its evidence with role "cause". Matching on the
    cause id and pattern as well would also flag the relayed copies of the error on other hosts
    (which the correlator ranked as symptoms), and a timeline with eight "root cause" rows does
    not say which line to read. A line classified twice (as the root cause and as a secondary
    cause, or as a lifecycle event) is primary only in its root-cause entry. Only when no
    cause line of the verdict is in the timeline do we fall back to the cause id and pattern.
    ``e`` must be one of ``m.timeline``'s entries.
    """
    return id(e) in _primary_ids(m)[0]


def is_key_entry(e: TimelineEntry, m: Migration) -> bool:
    """True for the one timeline entry that is the verdict's key evidence line."""
    key = _primary_ids(m)[1]
    return key is not None and id(e) == key


@dataclass(frozen=True, slots=True)
class Row:
    """One row of a rendered timeline: an entry, or a run of identical consecutive entries."""

    entry: TimelineEntry  # the first entry of the run (its time is the row's time)
    last: TimelineEntry  # the last entry of the run (``entry`` when count == 1)
    count: int
    primary: bool

    @property
    def until(self) -> datetime | None:
        """When the run ended, if that differs from when it started (to the millisecond)."""
        a, b = self.entry.timestamp, self.last.timestamp
        if self.count == 1 or a is None or b is None or hms(a) == hms(b):
            return None
        return b


def _run_key(e: TimelineEntry, primary: bool) -> tuple[object, ...]:
    return (e.host, e.role, e.kind, e.stage, e.cause, e.pattern_id, e.title, e.severity, primary)


def timeline_rows(m: Migration) -> list[Row]:
    """The migration's timeline as the text and Markdown reports show it.

    Two rules keep the table short without hiding anything:

    * one log line, one row: the correlator may list a line two or three times, as a
      lifecycle event and as a cause (Nova's "Live Migration failure: <libvirt error>"), or
      under two cause patterns; the entry kept is the root-cause one, else the first cause,
      else the first entry;
    * consecutive entries that read the same (host, stage or cause, title) become one row with
      a count: 16 "migration progress sample" rows or five "host doesn't support requested
      feature" rows in a row say nothing the count does not (the HTML table keeps every line).
    """
    chosen: dict[tuple[str, int], tuple[int, int]] = {}  # line -> (rank, index) of its entry
    for i, e in enumerate(m.timeline):
        rank = (0 if is_primary_entry(e, m) else 2) + (0 if e.kind == "cause" else 1)
        key = (e.source, e.line)
        if key not in chosen or rank < chosen[key][0]:
            chosen[key] = (rank, i)
    rows: list[Row] = []
    for i, e in enumerate(m.timeline):
        if chosen[(e.source, e.line)][1] != i:
            continue
        primary = is_primary_entry(e, m)
        prev = rows[-1] if rows else None
        if (prev is not None and _run_key(prev.entry, prev.primary) == _run_key(e, primary)
                and (prev.entry.timestamp is None) == (e.timestamp is None)):
            rows[-1] = Row(prev.entry, e, prev.count + 1, primary)
        else:
            rows.append(Row(e, e, 1, primary))
    return rows


def line_span(first: TimelineEntry | Evidence, last: TimelineEntry | Evidence,
              count: int = 1) -> str:
    """``file:47`` or, for a run of lines of one file, ``file:47-51``."""
    if count <= 1 or first.source != last.source:
        loc = locator(first.source, first.line)
        return loc if count <= 1 else f"{loc} (+{count - 1} more)"
    lo, hi = sorted((first.line, last.line))
    return f"{first.source}:{lo}-{hi}" if lo != hi else locator(first.source, first.line)


def evidence_groups(evidence: Sequence[Evidence]) -> list[list[Evidence]]:
    """Consecutive evidence lines from one file, one pattern and one role, grouped.

    Five QEMU "host doesn't support requested feature" warnings are one piece of evidence
    (one file:line range, one block of log text), not five.
    """
    groups: list[list[Evidence]] = []
    for ev in evidence:
        g = groups[-1] if groups else None
        if (g is not None and g[-1].source == ev.source and g[-1].pattern_id == ev.pattern_id
                and g[-1].role == ev.role and g[-1].host == ev.host
                and 0 < ev.line - g[-1].line <= 3):
            g.append(ev)
        else:
            groups.append([ev])
    return groups


def logged_time(ev: Evidence, offsets: Mapping[str, ClockOffset]) -> tuple[datetime, float] | None:
    """The time as written in the log line and the shift applied, when the host's clock was
    corrected (so an operator grepping the file finds the line by the time it carries)."""
    if ev.timestamp is None or ev.host is None or ev.host not in offsets:
        return None
    shift = offsets[ev.host].offset_s
    if not fmt_offset(shift):
        return None
    return as_utc(ev.timestamp) - timedelta(seconds=shift), shift


def route_text(m: Migration) -> str:
    """``compute-01 (source) → compute-02 (destination)``; unknown ends said in words."""
    src = f"{m.source_host} (source)" if m.source_host else "unknown source"
    dst = f"{m.dest_host} (destination)" if m.dest_host else "unknown destination"
    text = f"{src} → {dst}"
    if not m.source_host and not m.dest_host:
        text += " (no host names in the logs)"
    return text


def single_instant(m: Migration) -> bool:
    """True when start and end are the same instant (one timestamped line): no duration."""
    return m.start is not None and m.end is not None and as_utc(m.start) == as_utc(m.end)


def migration_hosts(m: Migration) -> list[str]:
    """The compute hosts of a migration (source, destination, other compute hosts).

    Controllers only relay (their entries have role "conductor"); advice such as "apply the
    fix to every host the instance may migrate between" must not name them.
    """
    conductor_only = {e.host for e in m.timeline if e.role == "conductor"} - {
        e.host for e in m.timeline if e.role in ("source", "destination")}
    out: list[str] = []
    for h in (m.source_host, m.dest_host, *m.hosts):
        if h and h not in out and h not in conductor_only:
            out.append(h)
    return out
