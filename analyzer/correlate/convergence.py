"""Is the memory copy converging? Built from nova's progress samples.

Nova logs ``Migration running for N secs, memory M% remaining (bytes processed=…,
remaining=…, total=…); disk D% remaining (…)`` on the source (messages.md §2.1 row 25; INFO
every 30 s, DEBUG every 5 s). A pre-copy migration only finishes when the remaining memory
falls; when the guest dirties pages as fast as the link copies them the percentage stays flat
or climbs, and the migration ends in a completion timeout or an abort.

Trend, over the last :data:`WINDOW_POINTS` samples split into an earlier and a later half:
*falling* when the lowest remaining value of the later half is at least 5 points below the
earlier half's (and the median did not rise), *rising* when the median rose by 5 points or
more and the low did not fall, else *flat*. Comparing the lows, not a fitted line, is what
pre-copy needs: each iteration makes the series saw-toothed (the remaining memory drops, then
jumps back to the pages dirtied meanwhile), and only a falling floor means progress. A
least-squares or Theil–Sen slope calls such a series "falling" when it merely ends on a low
tooth. pandas is not used here: a dozen points need no frame.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable

from ..model import Convergence, ProgressPoint
from .items import Item, to_datetime

__all__ = ["WINDOW_POINTS", "build_convergence", "trend_of"]

WINDOW_POINTS = 8
_THRESHOLD_PP = 5.0  # percentage points between the halves
_PROGRESS = re.compile(
    r"Migration running for (?P<secs>\d+) secs, memory (?P<mem>\d+)% remaining;? "
    r"\(bytes processed=(?P<mem_processed>\d+), remaining=(?P<mem_remaining>\d+), "
    r"total=(?P<mem_total>\d+)\)(?:; disk (?P<disk>\d+)% remaining)?"
)


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        try:
            return int(float(value))
        except ValueError:
            return None


def _point(it: Item, first_t: float | None) -> ProgressPoint | None:
    fields = dict(it.finding.fields)
    if "mem" not in fields or "secs" not in fields:
        m = _PROGRESS.search(it.message)
        if m is not None:
            fields = {**{k: v for k, v in m.groupdict().items() if v is not None}, **fields}
    mem = _int(fields.get("mem"))
    if mem is None:
        return None
    secs = _int(fields.get("secs"))
    if secs is None:
        if it.tc is None or first_t is None:
            return None
        secs = int(round(it.tc - first_t))
    return ProgressPoint(
        timestamp=to_datetime(it.tc),
        elapsed_s=secs,
        memory_remaining_pct=mem,
        processed_bytes=_int(fields.get("mem_processed")),
        remaining_bytes=_int(fields.get("mem_remaining")),
        total_bytes=_int(fields.get("mem_total")),
        disk_remaining_pct=_int(fields.get("disk")),
    )


def trend_of(points: tuple[ProgressPoint, ...]) -> str:
    """falling | flat | rising | insufficient (fewer than three samples)."""
    if len(points) < 3:
        return "insufficient"
    window = [p.memory_remaining_pct for p in points[-WINDOW_POINTS:]]
    half = len(window) // 2
    earlier, later = window[:half], window[half:]
    low_change = min(later) - min(earlier)
    median_change = statistics.median(later) - statistics.median(earlier)
    if low_change <= -_THRESHOLD_PP and median_change <= 0:
        return "falling"
    if median_change >= _THRESHOLD_PP and low_change >= 0:
        return "rising"
    return "flat"


def _series(points: tuple[ProgressPoint, ...]) -> str:
    values = [f"{p.memory_remaining_pct}%" for p in points]
    if len(values) > 6:
        values = values[:2] + ["…"] + values[-3:]
    return " → ".join(values)


def build_convergence(items: Iterable[Item]) -> Convergence | None:
    """Progress points of one attempt (``progress`` mark or the progress text), or None."""
    progress = [it for it in items if "progress" in it.marks or "progress" in it.signals]
    if not progress:
        return None
    progress.sort(key=lambda it: it.sort_key())
    first_t = next((it.tc for it in progress if it.tc is not None), None)
    seen: set[int] = set()
    pts: list[ProgressPoint] = []
    for it in progress:
        p = _point(it, first_t)
        if p is None or p.elapsed_s in seen:  # INFO and DEBUG copies of one sample
            continue
        seen.add(p.elapsed_s)
        pts.append(p)
    if not pts:
        return None
    pts.sort(key=lambda p: p.elapsed_s)
    points = tuple(pts)
    trend = trend_of(points)
    span = points[-1].elapsed_s - points[0].elapsed_s
    head = f"memory remaining went {_series(points)} over {span} s"
    if trend == "insufficient":
        summary = (f"only {len(points)} progress sample(s) ({_series(points)}): too few to "
                   "judge convergence")
    elif trend == "falling":
        summary = f"{head}: converging"
    elif trend == "flat":
        summary = f"{head}: not converging; dirty rate exceeds bandwidth"
    else:
        summary = (f"{head}: rising, not converging; the guest dirties memory faster than "
                   "it is copied (dirty rate exceeds bandwidth)")
    return Convergence(points=points, trend=trend, summary=summary)
