"""The public entry point: ``render(report, fmt)`` and shared helpers."""

from __future__ import annotations

import dataclasses
import doctest
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import analyzer.report as report_pkg
from analyzer.errors import UsageError
from analyzer.model import Migration, Outcome, Report, Summary
from analyzer.report import FORMATS, SCHEMA_PATH, render, to_json_dict
from analyzer.report._common import (
    applied_offset,
    headline,
    impact,
    iso,
    lane_hosts,
    offsets_by_host,
    sparkline,
)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_both_reports(report: Report, no_migration_report: Report,
                                           fmt: str) -> None:
    for r in (report, no_migration_report):
        out = render(r, fmt)
        assert isinstance(out, str) and out.endswith("\n")
        # every format names the headline's primary cause
        assert r.summary.primary_cause in out


def test_unknown_format_is_a_usage_error_naming_the_choices(report: Report) -> None:
    with pytest.raises(UsageError) as err:
        render(report, "yaml")
    assert "yaml" in str(err.value)
    for fmt in FORMATS:
        assert fmt in str(err.value)


def test_json_render_is_to_json_dict(report: Report) -> None:
    assert json.loads(render(report, "json")) == to_json_dict(report)
    assert SCHEMA_PATH.is_file()


def test_package_doctest() -> None:
    result = doctest.testmod(report_pkg)
    assert result.attempted > 0 and result.failed == 0


def test_headline_counts_come_from_the_summary(report: Report, build: Any) -> None:
    assert headline(report) == "2 live migrations, 1 failed; primary cause: cpu_incompatible"
    one = build.make_report(summary=Summary(primary_cause="none", migrations=1, failed=0))
    assert headline(one) == "1 live migration, 0 failed; primary cause: none"


@pytest.mark.parametrize(("outcome", "side"), [
    (Outcome.COMPLETED, "destination"),
    (Outcome.ROLLED_BACK, "source"),
    (Outcome.ABORTED, "source"),
    (Outcome.FAILED_PRECHECK, "source"),
    (Outcome.IN_PROGRESS, "source"),
    (Outcome.UNKNOWN, "unknown"),
])
def test_impact_follows_the_outcome(build: Any, outcome: Outcome, side: str) -> None:
    m: Migration = build.failed_migration()
    m = dataclasses.replace(m, outcome=outcome)
    imp = impact(m)
    assert imp.side == side
    expected_host = {"destination": m.dest_host, "source": m.source_host, "unknown": None}[side]
    assert imp.host == expected_host
    if outcome in (Outcome.COMPLETED, Outcome.ROLLED_BACK, Outcome.ABORTED,
                   Outcome.FAILED_PRECHECK):
        assert imp.state == "ACTIVE"
        assert expected_host is not None and expected_host in imp.note


def test_applied_offset_prefers_the_correction_actually_applied(report: Report) -> None:
    offsets = offsets_by_host(report.clock_offsets)
    m = report.migrations[0]
    for e in m.timeline:
        got = applied_offset(e, offsets)
        assert got is not None
        assert got == pytest.approx(offsets[e.host or ""].offset_s)
    # without a raw timestamp the host's estimate is used
    e = dataclasses.replace(m.timeline[0], raw_timestamp=None)
    assert applied_offset(e, offsets) == pytest.approx(offsets[e.host or ""].offset_s)


def test_iso_always_has_an_offset() -> None:
    aware = datetime(2024, 5, 14, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert iso(aware) == "2024-05-14T10:00:00+00:00"
    assert iso(datetime(2024, 5, 14, 12, 0)) == "2024-05-14T12:00:00+00:00"  # naive = UTC
    assert iso(None) is None


def test_sparkline_levels_and_sampling() -> None:
    assert sparkline([0, 100]) == "▁█"
    line = sparkline(list(range(100, -1, -1)))  # 101 values, sampled to 60 cells
    assert len(line) == 60 and line[0] == "█" and line[-1] == "▁"
    assert list(line) == sorted(line, reverse=True)  # monotone input stays monotone
    assert sparkline([]) == ""
    assert sparkline([150, -5]) == "█▁"  # clamped


def test_lane_hosts_source_first_then_destination(report: Report) -> None:
    m = report.migrations[0]
    assert lane_hosts(m)[:2] == [m.source_host, m.dest_host]
