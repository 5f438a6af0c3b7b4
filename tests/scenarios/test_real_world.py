"""Real logs that operators posted in public trackers, end to end: collect -> scan -> correlate.

Each ``fixtures/real-world/<NN>-<slug>/case.yaml`` points at excerpts copied verbatim from a public
thread (source URL in the file) and states what a senior engineer concludes from that excerpt and
the thread's resolution: the primary cause, a substring of the first line of evidence and,
optionally, an outcome. Unlike ``fixtures/scenarios`` (written to the message reference), these
are partial, one-host, wrapped, grep- or syslog-prefixed pastes, which is what the tool meets in
practice.

A case the code cannot solve yet keeps its expectation and carries ``known_failure: "<why>"``;
it runs as a non-strict xfail, so the suite stays green while the gap stays visible (an XPASS
means the owners fixed it and the marker can go).
"""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path
from typing import Any

import pytest
import yaml

from analyzer import analyze
from analyzer._tz import parse_tz
from analyzer.catalogue.schema import TAXONOMY
from analyzer.model import Migration, Outcome, Report

ROOT = Path(__file__).resolve().parents[2] / "fixtures" / "real-world"
CASES = sorted(ROOT.glob("*/case.yaml"))
OUTCOMES = {o.value for o in Outcome}


def _tz(value: str | None) -> tzinfo:
    return parse_tz(value or "UTC")


def _load(path: Path) -> dict[str, Any]:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(spec, dict), f"{path}: not a mapping"
    return spec


def _inputs(case_dir: Path, spec: dict[str, Any]) -> list[str]:
    """``host=path`` per file; a host named ``unknown`` is passed as a plain path (no host)."""
    out: list[str] = []
    for host, files in (spec.get("inputs") or {}).items():
        for rel in files:
            path = case_dir / rel
            out.append(str(path) if host == "unknown" else f"{host}={path}")
    return out


def _first_failed(report: Report) -> Migration | None:
    """The first failed migration by start time, else the first migration, else None."""
    def key(m: Migration) -> tuple[bool, Any]:
        return (m.start is None, m.start)

    failed = sorted((m for m in report.migrations if m.outcome.failed), key=key)
    if failed:
        return failed[0]
    every = sorted(report.migrations, key=key)
    return every[0] if every else None


def _describe(report: Report) -> str:
    """What the analyzer concluded, for assertion messages."""
    lines = [f"summary: {report.summary.primary_cause} ({report.summary.headline})"]
    for m in report.migrations:
        rc = m.root_cause
        first = rc.evidence[0].text if rc and rc.evidence else None
        lines.append(
            f"  migration {m.id} {m.instance_uuid} {m.source_host}->{m.dest_host} {m.outcome}: "
            + (f"{rc.cause} via {rc.pattern_id}; first evidence {first!r}" if rc else "no root cause"))
    return "\n".join(lines)


def _params() -> list[Any]:
    params = []
    for path in CASES:
        spec = _load(path)
        reason = spec.get("known_failure")
        marks = [pytest.mark.xfail(reason=str(reason), strict=False)] if reason else []
        params.append(pytest.param(path, id=path.parent.name, marks=marks))
    return params


@pytest.mark.parametrize("case_path", CASES, ids=[p.parent.name for p in CASES])
def test_case_file_is_complete(case_path: Path) -> None:
    """Every case names its source, real input files and a closed-set cause (these never xfail)."""
    spec = _load(case_path)
    where = case_path.parent.name
    for key in ("source", "retrieved", "description", "inputs", "tz", "expected", "notes"):
        assert spec.get(key), f"{where}: missing {key}"
    assert str(spec["source"]).startswith("https://"), f"{where}: source must be the thread URL"
    for host, files in spec["inputs"].items():
        assert files, f"{where}: no files for host {host}"
        for rel in files:
            f = case_path.parent / rel
            assert f.is_file() and f.stat().st_size > 0, f"{where}: {rel} missing or empty"
    exp = spec["expected"]
    assert exp["primary_cause"] in TAXONOMY, f"{where}: {exp['primary_cause']} not in the taxonomy"
    if exp["primary_cause"] != "none":
        assert exp.get("first_evidence_contains"), f"{where}: first_evidence_contains missing"
    if exp.get("outcome") is not None:
        assert exp["outcome"] in OUTCOMES, f"{where}: unknown outcome {exp['outcome']}"


@pytest.mark.parametrize("case_path", _params())
def test_real_world_case(case_path: Path) -> None:
    spec = _load(case_path)
    exp = spec["expected"]
    where = case_path.parent.name
    report = analyze(_inputs(case_path.parent, spec), tz=_tz(spec.get("tz")))
    got = _describe(report)

    assert report.summary.primary_cause == exp["primary_cause"], (
        f"{where}: expected {exp['primary_cause']}\n{got}")

    needle = exp.get("first_evidence_contains")
    if needle:
        m = _first_failed(report)
        assert m is not None, f"{where}: no migration found\n{got}"
        assert m.root_cause is not None and m.root_cause.evidence, f"{where}: no root-cause evidence\n{got}"
        first = m.root_cause.evidence[0].text
        assert needle in first, f"{where}: first evidence {first!r} lacks {needle!r}\n{got}"

    if exp.get("outcome"):
        outcomes = {str(m.outcome) for m in report.migrations}
        assert exp["outcome"] in outcomes, f"{where}: no migration with outcome {exp['outcome']} ({outcomes})\n{got}"
