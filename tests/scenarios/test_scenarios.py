"""Every fixture scenario end to end: collect -> scan -> correlate, against its expected verdict.

Each ``fixtures/scenarios/*/scenario.yaml`` states the hosts and, per migration attempt, the
instance, hosts, outcome, root cause, first evidence line and secondary causes that must be
found (C6: scenario tests as data). ``fixtures/example-incident`` (the README's example) and the
one-line pastes in ``fixtures/single-lines`` are checked the same way.
"""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path
from typing import Any

import pytest
import yaml

from analyzer import analyze
from analyzer._tz import parse_tz
from analyzer.model import Migration, Report

ROOT = Path(__file__).resolve().parents[2] / "fixtures"
SCENARIOS = sorted([*ROOT.glob("scenarios/*/scenario.yaml"), *ROOT.glob("example-incident/scenario.yaml")])
SINGLE = sorted(ROOT.glob("single-lines/*.yaml"))


def _tz(value: str | None) -> tzinfo:
    return parse_tz(value or "UTC")


def _run(spec_path: Path) -> tuple[dict[str, Any], Report]:
    spec = yaml.safe_load(spec_path.read_text())
    base = spec_path.parent
    inputs = [f"{host}={base / rel}" for host, rel in (spec.get("hosts") or {}).items()]
    return spec, analyze(inputs, tz=_tz(spec.get("tz")))


def _find(report: Report, exp: dict[str, Any], used: set[str]) -> Migration:
    cands = [m for m in report.migrations if m.id not in used
             and (exp.get("instance_uuid") is None or m.instance_uuid == exp["instance_uuid"])]
    for key in ("source_host", "dest_host", "outcome"):
        if exp.get(key) is not None:
            narrowed = [m for m in cands if str(getattr(m, key)) == str(exp[key])]
            if narrowed:
                cands = narrowed
    assert cands, (f"no migration for {exp.get('instance_uuid')}; found: "
                   + ", ".join(f"{m.instance_uuid} {m.source_host}->{m.dest_host} {m.outcome}"
                               for m in report.migrations))
    cands.sort(key=lambda m: (m.start is None, m.start))
    return cands[0]


@pytest.mark.parametrize("spec_path", SCENARIOS, ids=[p.parent.name for p in SCENARIOS])
def test_scenario(spec_path: Path) -> None:
    spec, report = _run(spec_path)
    expected = spec["expected"]
    assert not [p for p in report.problems if p.severity == "error"], report.problems
    assert report.summary.primary_cause == expected["primary_cause"], report.summary
    used: set[str] = set()
    for exp in expected.get("migrations") or []:
        m = _find(report, exp, used)
        used.add(m.id)
        where = f"{spec_path.parent.name}: migration {m.instance_uuid}"
        for key in ("source_host", "dest_host", "outcome"):
            if exp.get(key) is not None:
                assert str(getattr(m, key)) == str(exp[key]), f"{where}: {key}"
        cause = exp.get("cause")
        if cause in (None, "none"):
            assert m.root_cause is None or m.root_cause.cause == "none", f"{where}: {m.root_cause}"
        else:
            assert m.root_cause is not None, f"{where}: no root cause"
            assert m.root_cause.cause == cause, f"{where}: {m.root_cause.cause} ({m.root_cause.title})"
            fe = exp.get("first_evidence")
            if fe:
                ev = m.root_cause.evidence[0]
                assert fe["contains"] in ev.text, f"{where}: first evidence {ev.text!r}"
                if fe.get("host"):
                    assert ev.host == fe["host"], f"{where}: evidence host {ev.host}"
        secondary = {c.cause for c in m.secondary_causes}
        for s in exp.get("secondary_causes") or []:
            assert s in secondary, f"{where}: secondary {s} not in {secondary}"
    if expected.get("migrations") is not None:
        failed = [m for m in report.migrations if m.outcome.failed]
        exp_failed = [e for e in expected["migrations"]
                      if e.get("outcome") in ("rolled_back", "aborted", "failed_precheck")]
        assert len(failed) == len(exp_failed), [(m.instance_uuid, str(m.outcome)) for m in report.migrations]


@pytest.mark.parametrize("spec_path", SINGLE, ids=[p.stem for p in SINGLE])
def test_single_line_paste(spec_path: Path) -> None:
    spec = yaml.safe_load(spec_path.read_text())
    log = spec_path.with_suffix(".log")
    report = analyze([str(log)])
    assert report.summary.primary_cause == spec["expected"]["primary_cause"]
    assert report.migrations and report.migrations[0].root_cause is not None
