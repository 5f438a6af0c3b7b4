"""Markdown reporter: the post-incident report (RCA) shape, escaping and fences."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from analyzer.catalogue.schema import TAXONOMY
from analyzer.model import Outcome, Report, Summary
from analyzer.report import render
from analyzer.report._common import fmt_offset, impact, locator, stamp, timeline_rows
from analyzer.report.guidance import PREVENTION
from analyzer.report.markdown import md_code, md_escape, md_fence

SECTIONS = ["## Summary", "## Timeline", "## Root cause", "## Contributing factors", "## Fix",
            "## Prevention", "## Missing evidence", "## Appendix: inputs"]


def section(md: str, title: str) -> str:
    start = md.index(title + "\n")
    nxt = md.find("\n## ", start + len(title))
    return md[start: nxt if nxt != -1 else len(md)]


def table_rows(md: str) -> list[list[str]]:
    """Cells of every table row (header and separator excluded), split on unescaped pipes."""
    rows = []
    lines = md.splitlines()
    for i, line in enumerate(lines):
        header = i + 1 < len(lines) and lines[i + 1].startswith("|---")
        if line.startswith("| ") and not header:
            cells = re.split(r"(?<!\\)\|", line)[1:-1]
            rows.append([c.strip() for c in cells])
    return rows


def test_title_and_sections_in_rca_order(report: Report) -> None:
    md = render(report, "markdown")
    rc = report.migrations[0].root_cause
    assert rc is not None
    first = md.splitlines()[0]
    assert first.startswith("# ") and rc.title in first and f"`{rc.cause}`" in first
    positions = [md.index(s + "\n") for s in SECTIONS]
    assert positions == sorted(positions)


def test_summary_states_what_failed_and_where_each_instance_is(report: Report) -> None:
    summary = section(render(report, "markdown"), "## Summary")
    failed = report.migrations[0]
    assert failed.instance_uuid is not None
    assert "**rolled back**" in summary and failed.instance_uuid in summary
    rows = {r[0]: r for r in table_rows(summary)}
    for m in report.migrations:
        imp = impact(m)
        row = rows[m.id]
        assert m.instance_uuid is not None and m.instance_uuid in row[1]
        assert row[3] == f"{imp.host} ({imp.side})"
        assert row[4] == "ACTIVE"
    # the rolled-back instance stayed on the source, the completed one moved
    assert rows["m-1"][3].startswith(report.migrations[0].source_host or "?")
    assert rows["m-2"][3].startswith(report.migrations[1].dest_host or "?")


@pytest.mark.parametrize("outcome", [Outcome.ABORTED, Outcome.FAILED_PRECHECK])
def test_other_failures_leave_the_instance_on_the_source(report: Report, build: Any,
                                                         outcome: Outcome) -> None:
    m = dataclasses.replace(report.migrations[0], outcome=outcome)
    md = render(build.make_report(migrations=(m,)), "markdown")
    row = table_rows(section(md, "## Summary"))[0]
    assert row[3] == f"{m.source_host} (source)" and row[4] == "ACTIVE"


def test_timeline_tables_use_corrected_utc_times(report: Report) -> None:
    tl = section(render(report, "markdown"), "## Timeline")
    rows = table_rows(tl)
    # one row per entry, except that runs of identical entries share a row (tested below)
    runs = [r for m in report.migrations for r in timeline_rows(m)]
    assert len(rows) == len(runs)
    assert sum(r.count for r in runs) == sum(len(m.timeline) for m in report.migrations)
    for row, run in zip(rows, runs):
        e = run.entry
        assert row[0] == stamp(e.timestamp)
        assert e.timestamp is not None and e.raw_timestamp is not None
        assert row[1] == fmt_offset((e.timestamp - e.raw_timestamp).total_seconds())
        assert row[2] == e.host
        assert locator(e.source, e.line) in row[6]
    root_rows = [r for r in rows if "(root cause)" in r[4]]
    assert len(root_rows) == 1 and "cpu_incompatible" in root_rows[0][4]


def test_root_cause_with_fenced_evidence(report: Report) -> None:
    rc_md = section(render(report, "markdown"), "## Root cause")
    rc = report.migrations[0].root_cause
    assert rc is not None
    assert f"**Confidence:** {rc.confidence:.2f}" in rc_md
    assert md_escape(rc.why) in rc_md
    for ev in rc.evidence:
        fenced = "\n".join(md_fence(ev.text, "log"))
        assert fenced in rc_md
        # the host and file:line come just before the fenced line
        head = rc_md[: rc_md.index(fenced)].rstrip().splitlines()[-1]
        assert f"**{ev.host}**" in head and locator(ev.source, ev.line) in head


def test_contributing_factors_say_why_they_ranked_lower(report: Report) -> None:
    part = section(render(report, "markdown"), "## Contributing factors")
    v = report.migrations[0].secondary_causes[0]
    assert f"`{v.cause}`" in part
    assert v.ranked_lower_because and md_escape(v.ranked_lower_because) in part


def test_fix_and_prevention(report: Report) -> None:
    md = render(report, "markdown")
    rc = report.migrations[0].root_cause
    assert rc is not None
    assert "\n".join(md_fence(rc.fix)) in section(md, "## Fix")
    prevention = section(md, "## Prevention")
    for advice in PREVENTION[rc.cause]:
        assert advice in prevention
    assert "m-1" in prevention and "configuration management" in prevention


def test_prevention_table_covers_the_taxonomy() -> None:
    assert set(PREVENTION) == set(TAXONOMY)
    for cause, advice in PREVENTION.items():
        assert (cause == "none") == (not advice), cause
        for a in advice:
            assert a.count("`") % 2 == 0, a  # balanced code spans render everywhere


def test_missing_evidence_and_appendix(report: Report) -> None:
    md = render(report, "markdown")
    missing = section(md, "## Missing evidence")
    x = report.migrations[0].missing_evidence[0]
    assert md_escape(x.what) in missing and "\n".join(md_fence(x.how, "sh")).replace(
        "\n", "\n  ") in missing
    appendix = section(md, "## Appendix: inputs")
    rows = table_rows(appendix)
    assert [r[0] for r in rows[: len(report.inputs)]] == [md_code(i.name) for i in report.inputs]
    totals = rows[len(report.inputs)]
    assert totals[4] == f"**{sum(i.lines for i in report.inputs)}**"
    for p in report.problems:
        assert f"could not read: `{p.source}" in appendix


def test_log_text_cannot_break_the_table_or_fence(report: Report, build: Any) -> None:
    m = report.migrations[0]
    evil_title = "a | b *c* <script>x</script> `tick`"
    evil_text = "line with ``` fence\n```\nand | pipe"
    tl = tuple(dataclasses.replace(e, title=evil_title) for e in m.timeline)
    assert m.root_cause is not None
    ev = dataclasses.replace(m.root_cause.evidence[0], text=evil_text)
    rc = dataclasses.replace(m.root_cause, evidence=(ev,))
    md = render(build.make_report(migrations=(dataclasses.replace(m, timeline=tl,
                                                                  root_cause=rc),)), "markdown")
    rows = table_rows(section(md, "## Timeline"))
    assert rows and all(len(r) == 7 for r in rows)
    assert "<script>" not in md
    fence = md_fence(evil_text, "log")
    assert fence[0] == "````log" and "\n".join(fence) in md


def test_no_migration(no_migration_report: Report) -> None:
    md = render(no_migration_report, "markdown")
    for s in SECTIONS:
        assert s + "\n" in md
    assert "No live migration was found" in md
    assert "could not read: `bundle.tar.gz @byte 0`" in md


def test_success_only_report_has_no_failure_sections(build: Any) -> None:
    r = build.make_report(migrations=(build.completed_migration(),),
                          summary=Summary("none", 1, 0))
    md = render(r, "markdown")
    assert md.splitlines()[0] == "# Post-incident report: live migrations"
    assert "No live migration failed." in md and "Nothing to fix." in md
