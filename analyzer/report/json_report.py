"""JSON reporter: ``Report`` -> a document valid against ``schema/report-v1.schema.json``.

The mapping is 1:1 with :mod:`analyzer.model` (documented field by field in
``docs/report-json.md``); the only additions are the ``tool`` object and a computed
``summary.headline`` when the correlator left it empty. Timestamps are ISO 8601 in UTC with an
explicit ``+00:00`` offset.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

from ..model import (
    CauseVerdict,
    ClockOffset,
    Convergence,
    Evidence,
    InputSummary,
    MissingEvidence,
    Migration,
    ProgressPoint,
    Report,
    TimelineEntry,
)
from ..records import Problem
from ._common import TOOL_NAME, headline, iso

__all__ = ["SCHEMA_PATH", "to_json_dict", "render_json"]

SCHEMA_PATH = Path(__file__).with_name("schema") / "report-v1.schema.json"

JSONDict = dict[str, Any]


def _tool_version(report: Report) -> str:
    if report.tool_version:
        return report.tool_version
    try:
        return metadata.version("nova-migration-analyzer")
    except metadata.PackageNotFoundError:
        return "unknown"


def _evidence(e: Evidence) -> JSONDict:
    return {
        "pattern_id": e.pattern_id,
        "title": e.title,
        "host": e.host,
        "source": e.source,
        "line": e.line,
        "timestamp": iso(e.timestamp),
        "text": e.text,
        "role": e.role,
    }


def _verdict(v: CauseVerdict, *, secondary: bool) -> JSONDict:
    d: JSONDict = {
        "cause": v.cause,
        "confidence": v.confidence,
        "pattern_id": v.pattern_id,
        "title": v.title,
        "summary": v.summary,
        "why": v.why,
        "fix": v.fix,
        "evidence": [_evidence(e) for e in v.evidence],
    }
    if secondary:
        d["ranked_lower_because"] = v.ranked_lower_because
    return d


def _timeline(e: TimelineEntry) -> JSONDict:
    return {
        "timestamp": iso(e.timestamp),
        "raw_timestamp": iso(e.raw_timestamp),
        "host": e.host,
        "role": e.role,
        "kind": e.kind,
        "stage": e.stage,
        "cause": e.cause,
        "pattern_id": e.pattern_id,
        "title": e.title,
        "severity": e.severity,
        "source": e.source,
        "line": e.line,
        "text": e.text,
    }


def _point(p: ProgressPoint) -> JSONDict:
    return {
        "timestamp": iso(p.timestamp),
        "elapsed_s": p.elapsed_s,
        "memory_remaining_pct": p.memory_remaining_pct,
        "processed_bytes": p.processed_bytes,
        "remaining_bytes": p.remaining_bytes,
        "total_bytes": p.total_bytes,
        "disk_remaining_pct": p.disk_remaining_pct,
    }


def _convergence(c: Convergence | None) -> JSONDict | None:
    if c is None:
        return None
    return {"trend": c.trend, "summary": c.summary, "points": [_point(p) for p in c.points]}


def _missing(m: MissingEvidence) -> JSONDict:
    return {"what": m.what, "why": m.why, "how": m.how}


def _migration(m: Migration) -> JSONDict:
    return {
        "id": m.id,
        "instance_uuid": m.instance_uuid,
        "hosts": list(m.hosts),
        "source_host": m.source_host,
        "dest_host": m.dest_host,
        "request_ids": list(m.request_ids),
        "start": iso(m.start),
        "end": iso(m.end),
        "outcome": m.outcome.value,
        "root_cause": None if m.root_cause is None else _verdict(m.root_cause, secondary=False),
        "secondary_causes": [_verdict(v, secondary=True) for v in m.secondary_causes],
        "timeline": [_timeline(e) for e in m.timeline],
        "convergence": _convergence(m.convergence),
        "missing_evidence": [_missing(x) for x in m.missing_evidence],
        "remediation": list(m.remediation),
    }


def _offset(o: ClockOffset) -> JSONDict:
    return {"host": o.host, "offset_s": o.offset_s, "lower_s": o.lower_s,
            "upper_s": o.upper_s, "basis": o.basis}


def _input(i: InputSummary) -> JSONDict:
    return {"name": i.name, "host": i.host, "kind": i.kind, "bytes_read": i.bytes_read,
            "lines": i.lines, "findings": i.findings, "matched_lines": i.matched_lines}


def _problem(p: Problem) -> JSONDict:
    return {"source": p.source, "line": p.line, "offset": p.offset, "severity": p.severity,
            "message": p.message}


def to_json_dict(report: Report) -> JSONDict:
    """The report as plain JSON-serialisable data (schema version 1.0)."""
    s = report.summary
    return {
        "schema_version": report.schema_version,
        "tool": {"name": TOOL_NAME, "version": _tool_version(report)},
        "generated_at": iso(report.generated_at),
        "summary": {
            "primary_cause": s.primary_cause,
            "migrations": s.migrations,
            "failed": s.failed,
            "causes": dict(s.causes),
            "headline": s.headline or headline(report),
        },
        "migrations": [_migration(m) for m in report.migrations],
        "clock_offsets": [_offset(o) for o in report.clock_offsets],
        "inputs": [_input(i) for i in report.inputs],
        "problems": [_problem(p) for p in report.problems],
    }


def render_json(report: Report) -> str:
    # ensure_ascii=False keeps log text readable; the output is UTF-8 like every other format
    return json.dumps(to_json_dict(report), indent=2, ensure_ascii=False) + "\n"
