"""Terminal reporter: verdict first, 100-column layout, colour only on request."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from analyzer.model import Report, Summary
from analyzer.report import render
from analyzer.report._common import (
    as_utc,
    fmt_offset,
    hms,
    key_evidence,
    locator,
    sparkline,
    stamp,
)

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def flat(text: str) -> str:
    """Whitespace-normalised text: wrapped phrases compare equal to their source."""
    return " ".join(text.split())


def test_headline_is_the_first_line(report: Report) -> None:
    first = render(report, "text").splitlines()[0]
    s = report.summary
    assert first == (f"{s.migrations} live migrations, {s.failed} failed; "
                     f"primary cause: {s.primary_cause}")


def test_verdict_block_comes_first_and_has_cause_evidence_and_fix(report: Report) -> None:
    out = render(report, "text")
    m = report.migrations[0]
    rc = m.root_cause
    assert rc is not None
    ev = key_evidence(rc)
    assert ev is not None
    block = out[: out.index("Timeline")]
    for needle in (m.id, m.instance_uuid, m.source_host, m.dest_host, rc.cause,
                   f"{rc.confidence:.2f}", ev.host, locator(ev.source, ev.line),
                   stamp(ev.timestamp)):
        assert needle and needle in block, needle
    assert flat(ev.text) in flat(block)
    # every fix line is there, and the fix follows the evidence
    for line in rc.fix.splitlines():
        assert flat(line) in flat(block)
    assert block.index("evidence") < block.index("fix")
    # the rolled-back instance is said to be still on the source
    assert f"still running on {m.source_host}" in flat(block)


def test_sections_in_order(report: Report) -> None:
    out = render(report, "text")
    heads = ["✖ m-1", "✔ m-2", "Timeline", "Secondary causes", "Convergence",
             "Missing evidence", "Inputs:", "Problems"]
    positions = [out.index(h) for h in heads]
    assert positions == sorted(positions)


@pytest.mark.parametrize("width", [100, 80])
def test_no_line_exceeds_the_width(report: Report, width: int) -> None:
    for color in (False, True):
        out = render(report, "text", color=color, width=width)
        too_long = [ln for ln in out.splitlines() if len(ANSI.sub("", ln)) > width]
        assert not too_long


def test_colour_only_on_request_and_never_changes_layout(report: Report) -> None:
    plain = render(report, "text")
    coloured = render(report, "text", color=True)
    assert "\x1b" not in plain
    assert "\x1b[" in coloured
    assert ANSI.sub("", coloured) == plain


def test_timeline_shows_corrected_times_and_applied_offsets(report: Report) -> None:
    out = render(report, "text").splitlines()
    m = report.migrations[0]
    for e in m.timeline:
        assert e.timestamp is not None and e.raw_timestamp is not None
        rows = [ln for ln in out if ln.startswith("  " + hms(e.timestamp))]
        assert rows, e
        shift = (as_utc(e.timestamp) - as_utc(e.raw_timestamp)).total_seconds()
        if fmt_offset(shift):
            assert fmt_offset(shift) in rows[0]
            # the raw (uncorrected) time is not what is shown
            assert not any(ln.startswith("  " + hms(e.raw_timestamp)) for ln in out)
        assert (e.host or "?") in rows[0]
    primary = [ln for ln in out if "! cpu_incompatible" in ln]
    assert len(primary) == 1


def test_secondary_causes_with_reason(report: Report) -> None:
    out = flat(render(report, "text"))
    v = report.migrations[0].secondary_causes[0]
    assert v.ranked_lower_because
    assert f"ranked lower because: {flat(v.ranked_lower_because)}" in out


def test_convergence_sparkline(report: Report) -> None:
    out = render(report, "text")
    c = report.migrations[1].convergence
    assert c is not None
    values = [p.memory_remaining_pct for p in c.points]
    line = next(ln for ln in out.splitlines() if sparkline(values) in ln)
    assert c.trend in line and f"{values[0]}%" in line and f"{values[-1]}%" in line


def test_missing_evidence_inputs_and_problems(report: Report) -> None:
    out = render(report, "text")
    x = report.migrations[0].missing_evidence[0]
    for part in (x.what, x.why, x.how):
        assert flat(part) in flat(out)
    total_lines = sum(i.lines for i in report.inputs)
    total_findings = sum(i.findings for i in report.inputs)
    assert (f"Inputs: {len(report.inputs)} files" in out and f"{total_lines} lines" in out
            and f"{total_findings} findings" in out)
    tail = out[out.index("Problems"):]
    for p in report.problems:
        assert f"could not read: {p.source}" in flat(tail)
        assert flat(p.message) in flat(tail)
    # problems come last
    assert out.rstrip().endswith("(part skipped)")


def test_failed_without_root_cause_says_so(report: Report, build: Any) -> None:
    m = report.migrations[0]
    bare = dataclasses.replace(m, root_cause=None, secondary_causes=())
    out = render(build.make_report(migrations=(bare,)), "text")
    assert "not attributed" in out


def test_no_migration(no_migration_report: Report) -> None:
    out = render(no_migration_report, "text")
    assert out.splitlines()[0] == "0 live migrations, 0 failed; primary cause: none"
    assert "No live migration found" in out
    assert "could not read: bundle.tar.gz @byte 0: not a tar archive" in out
    assert "Timeline" not in out


def test_correlator_headline_is_kept_when_different(build: Any) -> None:
    r = build.make_report(summary=Summary("cpu_incompatible", 2, 1, {"cpu_incompatible": 1},
                                          headline="compute-02 lacks avx512f"))
    assert render(r, "text").splitlines()[1] == "compute-02 lacks avx512f"


def test_author_text_is_reflowed_but_snippets_are_kept() -> None:
    from analyzer.report.text import _wrap

    para = "A sentence the catalogue author\nwrapped early, for the YAML file."
    assert _wrap(para, 100) == ["A sentence the catalogue author wrapped early, for the YAML file."]
    fix = ("- Set a common baseline CPU on every compute of the pool, e.g.\n"
           "  [libvirt] cpu_mode = custom\n"
           "            cpu_models = Cascadelake-Server-noTSX\n"
           "  then hard-reboot existing instances so they pick up\n"
           "  the new model.\n"
           "- Keep hosts of one generation together.")
    out = _wrap(fix, 100)
    assert out == [
        "- Set a common baseline CPU on every compute of the pool, e.g.",
        "  [libvirt] cpu_mode = custom",
        "            cpu_models = Cascadelake-Server-noTSX",
        "  then hard-reboot existing instances so they pick up the new model.",
        "- Keep hosts of one generation together.",
    ]
    narrow = _wrap(fix, 40)
    assert all(len(ln) <= 40 for ln in narrow)
    assert narrow[1].startswith("  ")  # list items hang under their text
