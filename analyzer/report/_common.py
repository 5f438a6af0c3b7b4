"""Helpers every reporter shares: time formatting, clock offsets, outcome and impact wording.

Reporters only render a :class:`~analyzer.model.Report`; everything here derives wording from
the records (outcome, hosts, offsets) and never looks at raw log lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from ..model import (
    CauseVerdict,
    ClockOffset,
    Evidence,
    Migration,
    Outcome,
    Report,
    TimelineEntry,
)

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
    """``N live migrations, M failed; primary cause: <id>`` (from the report's summary)."""
    s = report.summary
    noun = "live migration" if s.migrations == 1 else "live migrations"
    return f"{s.migrations} {noun}, {s.failed} failed; primary cause: {s.primary_cause}"


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


def offsets_by_host(offsets: Iterable[ClockOffset]) -> dict[str, ClockOffset]:
    return {o.host: o for o in offsets}


def applied_offset(e: TimelineEntry, offsets: Mapping[str, ClockOffset]) -> float | None:
    """Seconds added to the logged time to put this entry on the reference clock.

    Prefer what was actually applied (corrected minus raw); fall back to the host's estimate.
    """
    if e.timestamp is not None and e.raw_timestamp is not None:
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


def is_primary_entry(e: TimelineEntry, m: Migration) -> bool:
    """True for timeline entries that carry the migration's primary cause."""
    rc = m.root_cause
    if rc is None:
        return False
    if e.kind == "cause" and e.cause == rc.cause and e.pattern_id == rc.pattern_id:
        return True
    return any(ev.role == "cause" and ev.source == e.source and ev.line == e.line
               for ev in rc.evidence)
