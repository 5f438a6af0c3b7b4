"""Convergence of the memory copy from nova's progress samples.

Findings are built by hand (``correlate_factory.py`` says why that faking is acceptable).
"""

from __future__ import annotations

from typing import Any

import pytest

from analyzer.correlate.convergence import trend_of
from analyzer.model import Outcome, ProgressPoint

from correlate_factory import Factory


def _progress(make: Factory, series: list[tuple[int, int]], *,
              fields: bool = True) -> None:
    kw: dict[str, Any] = {"host": "compute-01", "request_id": make.REQ_1, "instance": make.UUID_A}
    make.add("EV_MIGRATE_API", "About to invoke the migrate API", at=0.0, **kw)
    for secs, pct in series:
        text = (f"Migration running for {secs} secs, memory {pct}% remaining (bytes "
                f"processed={1000 * secs}, remaining={pct * 100}, total=10000); disk 0% "
                "remaining (bytes processed=0, remaining=0, total=0).")
        make.add("EV_PROGRESS", text, at=float(secs), **kw,
                 fields={"secs": str(secs), "mem": str(pct), "mem_processed": str(1000 * secs),
                         "mem_remaining": str(pct * 100), "mem_total": "10000", "disk": "0"}
                 if fields else {})


def _points(values: list[tuple[int, int]]) -> tuple[ProgressPoint, ...]:
    return tuple(ProgressPoint(timestamp=None, elapsed_s=s, memory_remaining_pct=p)
                 for s, p in values)


@pytest.mark.parametrize(("series", "trend"), [
    ([(0, 90), (30, 60), (60, 35), (90, 10)], "falling"),
    ([(0, 41), (75, 38), (150, 40)], "flat"),
    ([(0, 40), (10, 12), (20, 38), (30, 10), (40, 39), (50, 11)], "flat"),  # saw-tooth
    ([(0, 20), (30, 35), (60, 50)], "rising"),
    ([(0, 90), (30, 60)], "insufficient"),
    ([(0, 80), (5, 60), (10, 45), (15, 95), (20, 20), (25, 10)], "falling"),  # one odd sample
    ([(0, 50), (30, 48), (60, 46), (90, 44), (120, 42), (150, 40)], "falling"),  # slowly
    ([(0, 10), (30, 12), (60, 9), (90, 11)], "flat"),
])
def test_trend(series: list[tuple[int, int]], trend: str) -> None:
    assert trend_of(_points(series)) == trend


def test_falling_series_is_converging(make: Factory) -> None:
    _progress(make, [(5, 80), (10, 61), (15, 40), (20, 22)])
    (m,) = make.correlate().migrations
    c = m.convergence
    assert c is not None and c.trend == "falling"
    assert [p.memory_remaining_pct for p in c.points] == [80, 61, 40, 22]
    assert c.points[0].remaining_bytes == 8000 and c.points[-1].elapsed_s == 20
    assert c.summary == "memory remaining went 80% → 61% → 40% → 22% over 15 s: converging"
    assert m.outcome is Outcome.IN_PROGRESS


def test_flat_series_strengthens_completion_timeout(make: Factory) -> None:
    _progress(make, [(30, 41), (90, 38), (180, 40)])
    kw: dict[str, Any] = {"host": "compute-01", "request_id": make.REQ_1, "instance": make.UUID_A}
    make.add("CA_TIMEOUT", "Live migration not completed after 180 sec", at=181.0, **kw)
    make.add("EV_LM_FAILURE", "Live Migration failure: operation aborted: job 'migration out' "
             "canceled by client", at=182.0, **kw)
    (m,) = make.correlate().migrations
    assert m.convergence is not None and m.convergence.trend == "flat"
    assert m.convergence.summary == ("memory remaining went 41% → 38% → 40% over 150 s: not "
                                     "converging; dirty rate exceeds bandwidth")
    rc = m.root_cause
    assert rc is not None and rc.cause == "completion_timeout"
    assert rc.confidence > 0.8  # the pattern's 0.8 - warning penalty + the progress evidence
    assert "not converging" in rc.summary


def test_flat_series_without_timeout_is_only_a_secondary_hint(make: Factory) -> None:
    _progress(make, [(30, 41), (90, 38), (180, 40)])
    reason = "operation failed: job 'migration out' failed: Unable to write to socket"
    make.add("EV_LM_FAILURE", f"Live Migration failure: {reason}", at=200.0,
             host="compute-01", request_id=make.REQ_1, instance=make.UUID_A,
             fields={"reason": reason})
    (m,) = make.correlate().migrations
    assert m.root_cause is not None and m.root_cause.cause == "other"
    hint = [v for v in m.secondary_causes if v.cause == "completion_timeout"]
    assert len(hint) == 1
    assert hint[0].pattern_id == "convergence"
    assert hint[0].ranked_lower_because == ("inferred from progress samples only: no timeout "
                                            "line names it")
    assert {e.role for e in hint[0].evidence} == {"context"}


def test_progress_parsed_from_text_when_fields_are_missing(make: Factory) -> None:
    _progress(make, [(5, 80), (10, 60), (15, 40)], fields=False)
    (m,) = make.correlate().migrations
    assert m.convergence is not None
    assert [p.memory_remaining_pct for p in m.convergence.points] == [80, 60, 40]
    assert m.convergence.points[1].total_bytes == 10000


def test_no_progress_no_convergence(make: Factory) -> None:
    make.cpu_chain()
    (m,) = make.correlate().migrations
    assert m.convergence is None
