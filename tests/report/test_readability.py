"""What an operator at 3 a.m. and a post-incident writer read: one test per rendering fix.

Each test builds the situation the real fixtures showed (a QEMU burst of identical warnings, a
relayed copy of the error on the other host, a line listed twice, a single pasted line with no
host names, a long bundle path, a clock-shifted destination) from the hand-made incident in
``conftest.py``, and checks what the reader sees. Without the fix each one fails.
"""

from __future__ import annotations

import dataclasses
import html
import re
from datetime import datetime, timedelta
from typing import Any

import pytest

from analyzer.model import (
    Evidence,
    InputSummary,
    Migration,
    MissingEvidence,
    Outcome,
    Report,
    Summary,
    TimelineEntry,
)
from analyzer.report import render
from analyzer.report._common import (
    applied_offset,
    headline,
    hms,
    is_primary_entry,
    offsets_by_host,
    timeline_rows,
)
from analyzer.report.html import COLORS
from analyzer.report.markdown import md_inline
from analyzer.report.text import _wrap, _wrap_column, _wrap_log

from tests.report.conftest import DST, NOVA_SRC, QEMU_DST, SRC
from tests.report.test_html import Dom, svgs
from tests.report.test_markdown import section, table_rows

FEATURES = ("avx512f", "avx512dq", "avx512cd")
RELAY_SRC = "sos-compute-01/var/log/libvirt/libvirtd.log"


def later(dt: datetime | None, **delta: float) -> datetime:
    assert dt is not None
    return dt + timedelta(**delta)


def _ev(e: TimelineEntry, role: str) -> Evidence:
    return Evidence(pattern_id=e.pattern_id, title=e.title, host=e.host, source=e.source,
                    line=e.line, timestamp=e.timestamp, text=e.text, role=role)


def burst_migration(build: Any) -> Migration:
    """The failed migration with three QEMU feature warnings in a row (all cause lines) and
    the destination's CPU error relayed by the source's libvirtd (a symptom of the same id)."""
    m: Migration = build.failed_migration()
    warn = next(e for e in m.timeline if e.pattern_id == "LM072")
    cause_line = next(e for e in m.timeline if e.pattern_id == "LM071")
    warns = [dataclasses.replace(
        warn, line=warn.line + i, text=warn.text.replace("avx512f", f),
        timestamp=later(warn.timestamp, microseconds=40 * i),
    ) for i, f in enumerate(FEATURES)]
    relay = dataclasses.replace(
        cause_line, host=SRC, role="source", source=RELAY_SRC, line=77,
        timestamp=later(cause_line.timestamp, milliseconds=200),
        raw_timestamp=later(cause_line.timestamp, milliseconds=200),
        text=cause_line.text.replace("virCPUx86UpdateLive:3150",
                                     "virNetClientProgramDispatchError:172"))
    timeline = sorted([e for e in m.timeline if e is not warn] + warns + [relay],
                      key=lambda e: e.timestamp)  # type: ignore[arg-type,return-value]
    assert m.root_cause is not None
    root = dataclasses.replace(m.root_cause, evidence=(
        *(_ev(w, "cause") for w in warns), _ev(cause_line, "cause"), _ev(relay, "symptom")))
    return dataclasses.replace(m, timeline=tuple(timeline), root_cause=root)


def only(build: Any, m: Migration, **changes: object) -> Report:
    failed = 1 if m.outcome.failed else 0
    cause = m.root_cause.cause if m.root_cause else "none"
    summary = Summary(cause, 1, failed, {cause: failed} if failed else {})
    r: Report = build.make_report(**{"migrations": (m,), "summary": summary, **changes})
    return r


def timeline_text(out: str) -> str:
    return out[out.index("Timeline ("): out.index("Secondary causes")]


# -- headline ------------------------------------------------------------------------------


def test_headline_counts_attempts_whose_outcome_is_unknown(build: Any) -> None:
    """A pasted line gives a cause but no outcome: '0 failed; primary cause: X' alone reads as a
    contradiction, so the unknown outcome is counted in the first line of every format."""
    unknown = dataclasses.replace(build.failed_migration(), outcome=Outcome.UNKNOWN)
    r = build.make_report(migrations=(unknown, build.completed_migration()),
                          summary=Summary("cpu_incompatible", 2, 0, {}))
    expected = "2 live migrations, 0 failed, 1 outcome unknown; primary cause: cpu_incompatible"
    assert headline(r) == expected
    assert render(r, "text").splitlines()[0] == expected
    assert "0 failed, 1 outcome unknown" in section(render(r, "markdown"), "## Summary")
    assert "2 live migrations, 0 failed, 1 outcome unknown" in render(r, "html")


# -- clock offsets -------------------------------------------------------------------------


def test_an_untimed_line_shows_no_clock_shift(report: Report, build: Any) -> None:
    m = report.migrations[0]
    untimed = dataclasses.replace(m.timeline[0], timestamp=None, raw_timestamp=None)
    offsets = offsets_by_host(report.clock_offsets)
    assert applied_offset(untimed, offsets) is None
    out = render(only(build, dataclasses.replace(m, timeline=(*m.timeline[1:], untimed))),
                 "text")
    row = next(ln for ln in out.splitlines() if ln.startswith("  --:--:--.---"))
    assert "+2.40s" not in row


def test_evidence_gives_the_time_written_in_the_log_line(report: Report) -> None:
    """The destination's clock is shifted; the operator greps its file by the time the line
    carries, so the verdict names that time next to the corrected one."""
    m = report.migrations[0]
    assert m.root_cause is not None and m.root_cause.evidence[0].host == DST
    logged = "(logged 10:21:03.962Z, clock +2.40s)"
    assert logged in render(report, "text")
    assert logged in section(render(report, "markdown"), "## Root cause")
    assert logged in render(report, "html")


def test_clock_note_gives_reasons_only_for_shifted_hosts(report: Report) -> None:
    out = timeline_text(render(report, "text"))
    assert "clock       not shifted: compute-01" in out
    assert "compute-02: +2.40s added to its logged times (between +1.90s and +3.10s)" in out
    # the reference host's basis changes nothing in the timeline: not spelled out here
    assert "reference clock" not in out
    html = render(report, "html")
    assert "<li>not shifted: compute-01</li>" in html


# -- which lines are the root cause --------------------------------------------------------


def test_relayed_copy_of_the_error_is_not_marked_root_cause(build: Any) -> None:
    m = burst_migration(build)
    relay = next(e for e in m.timeline if e.source == RELAY_SRC)
    assert not is_primary_entry(relay, m)
    r = only(build, m)
    rows = [ln for ln in timeline_text(render(r, "text")).splitlines()
            if "cpu_incompatible" in ln]
    # the warning burst (one row) and the destination's error are the root-cause rows
    assert [ln.split()[0] for ln in rows if "! cpu_incompatible" in ln] == [
        hms(next(e for e in m.timeline if e.pattern_id == "LM072").timestamp),
        hms(next(e for e in m.timeline if e.pattern_id == "LM071" and e.host == DST).timestamp)]
    assert [ln for ln in rows if "* cpu_incompatible" in ln and SRC in ln]
    md_rows = table_rows(section(render(r, "markdown"), "## Timeline"))
    root_rows = [row for row in md_rows if "(root cause)" in row[4]]
    assert len(root_rows) == 2 and not any(RELAY_SRC in row[6] for row in root_rows)


def test_one_line_classified_three_ways_has_one_root_cause_entry(build: Any) -> None:
    """A pasted 'Live Migration failure: ... Host key verification failed' line is a lifecycle
    event, a generic unreachable-destination cause (secondary) and the ssh host-key cause
    (primary). Only the last is the root cause: one label, one red badge."""
    m: Migration = build.failed_migration()
    carrier = next(e for e in m.timeline if e.pattern_id == "LM117")
    event = dataclasses.replace(carrier, kind="event", cause=None, pattern_id="LM046")
    generic = dataclasses.replace(carrier, cause="migration_network_unreachable",
                                  pattern_id="LM143")
    ssh = dataclasses.replace(carrier, cause="auth_transport_failure", pattern_id="LM150")
    assert m.root_cause is not None
    root = dataclasses.replace(m.root_cause, cause="auth_transport_failure", pattern_id="LM150",
                               evidence=(_ev(ssh, "cause"),))
    m = dataclasses.replace(m, timeline=(event, generic, ssh), root_cause=root,
                            secondary_causes=())
    assert [is_primary_entry(e, m) for e in m.timeline] == [False, False, True]
    page = render(only(build, m), "html")
    els = next(svgs(Dom(page), "timeline"))
    assert [e.text for e in els if "cause-label" in e.classes] == ["auth_transport_failure"]
    dom = Dom(page)
    assert [b.text for b in dom.find("span", "badge") if "cause" in b.classes
            and b.text != "auth_transport_failure"] == []


def test_timeline_chart_labels_the_cause_once_and_inside_the_chart(build: Any) -> None:
    """Four cause lines within a millisecond used to draw four stacked labels and dashed rules;
    one label, at the key evidence line, and never past the right edge."""
    m = burst_migration(build)
    els = next(svgs(Dom(render(only(build, m), "html")), "timeline"))
    labels = [e for e in els if e.tag == "text" and "cause-label" in e.classes]
    assert len(labels) == 1 and labels[0].text == "cpu_incompatible"
    assert len([e for e in els if "cause-line" in e.classes]) == 1
    marks = [e for e in els if e.tag in ("circle", "polygon")]
    assert len([e for e in marks if "primary-cause" in e.classes]) == 1
    # the other root-cause lines are still drawn in the root-cause colour
    others = [e for e in marks if "primary-line" in e.classes]
    assert len(others) == len(FEATURES) and all(e.attrs["fill"] == COLORS["cause"]
                                                for e in others)
    # a cause at the very end of the chart: the label goes left of the mark
    late = [dataclasses.replace(e, timestamp=later(e.timestamp, seconds=30))
            if e.pattern_id == "LM072" and e.line == 38 else e for e in m.timeline]
    m2 = dataclasses.replace(m, timeline=tuple(late))
    els = next(svgs(Dom(render(only(build, m2), "html")), "timeline"))
    label = next(e for e in els if e.tag == "text" and "cause-label" in e.classes)
    mark = next(e for e in els if e.tag == "circle" and "primary-cause" in e.classes)
    assert label.attrs["text-anchor"] == "end" and float(label.attrs["x"]) < float(mark.attrs["cx"])


def test_svg_label_colours_are_not_overridden_by_the_stylesheet(report: Report) -> None:
    """``svg text { fill: … }`` beats a ``fill=""`` attribute: colours come from classes."""
    page = render(report, "html")
    css = Dom(page).find("style")[0].text
    assert re.search(r"svg text\.cause-label \{ fill: var\(--cause\)", css)
    assert re.search(r"svg text\.lane-sub \{ fill: #", css)
    assert 'class="lane-sub"' in page and "destination · clock +2.40s" in page


# -- one row per thing said -----------------------------------------------------------------


def test_runs_of_identical_lines_are_one_row_with_a_count(build: Any, report: Report) -> None:
    m = burst_migration(build)
    text = render(only(build, m), "text")
    assert re.search(r"feature \(×3\)", " ".join(timeline_text(text).split()))
    # the completed migration's four progress samples: one row, first time and last time
    out = " ".join(timeline_text(render(report, "text")).split())
    assert "Migration progress (×4, until 11:04:00.600)" in out
    md = section(render(report, "markdown"), "## Timeline")
    row = next(r for r in table_rows(md) if "Migration progress" in r[5])
    assert "(×4, until 11:04:00.600Z)" in row[5] and f"{NOVA_SRC}:1310-1313" in row[6]
    # the HTML table is the detailed view: it keeps every line
    assert render(report, "html").count("Migration progress") >= 4


def test_a_line_listed_as_event_and_as_cause_is_one_row(build: Any) -> None:
    m: Migration = build.failed_migration()
    carrier = next(e for e in m.timeline if e.pattern_id == "LM117")
    twin = dataclasses.replace(carrier, kind="event", cause=None, pattern_id="LM046",
                               title="Source: libvirt migration call failed")
    timeline = list(m.timeline)
    timeline.insert(timeline.index(carrier), twin)
    m = dataclasses.replace(m, timeline=tuple(timeline))
    assert len(timeline_rows(m)) == len(m.timeline) - 1
    out = timeline_text(render(only(build, m), "text"))
    assert "Source: libvirt migration call failed" not in out
    assert "Live migration failed inside libvirt" in " ".join(out.split())


# -- the verdict block ----------------------------------------------------------------------


def test_a_long_path_is_never_cut_in_the_middle(build: Any) -> None:
    deep = ("incident-4711/sosreport-compute-02-2024-05-14-abcdef/var/log/kolla/libvirt/qemu/"
            "instance-000000c4-with-a-very-long-name-indeed.log")
    m = burst_migration(build)
    assert m.root_cause is not None
    evidence = tuple(dataclasses.replace(e, source=deep) for e in m.root_cause.evidence)
    m = dataclasses.replace(m, root_cause=dataclasses.replace(m.root_cause, evidence=evidence))
    out = render(only(build, m), "text", width=100)
    assert any(ln.strip() == f"{deep}:38-40" for ln in out.splitlines())
    # only such unbreakable lines may pass the width
    assert all(len(ln) <= 100 for ln in out.splitlines() if deep not in ln)


def test_evidence_shows_the_burst_as_one_range(build: Any) -> None:
    m = burst_migration(build)
    r = only(build, m)
    out = render(r, "text")
    verdict = out[: out.index("Timeline (")]
    text = " ".join(verdict.split())
    assert f"{QEMU_DST}:38-40" in text
    # each line of the burst is shown as its own line (log lines are never joined)
    lines = verdict.splitlines()
    starts = [i for i, ln in enumerate(lines) if ln.strip().startswith("2024-05-14T10:21:03")]
    assert len(starts) == len(FEATURES)
    for i, f in zip(starts, FEATURES):
        assert f"{f} [bit" in " ".join(lines[i:i + 2])
    assert "1 other line supports this cause: marked ! in the timeline" in text
    md = section(render(r, "markdown"), "## Root cause")
    assert f"`{QEMU_DST}:38-40`" in md and "3 lines, cause" in md
    block = md[md.index("```log"):]
    block = block[: block.index("\n```\n")]
    assert [f for f in FEATURES if f in block] == list(FEATURES)
    html = render(r, "html")
    assert f"{QEMU_DST}:38-40" in html


def test_a_single_pasted_line_reads_plainly(build: Any) -> None:
    m: Migration = build.failed_migration()
    tl = tuple(dataclasses.replace(e, host=None, role=None) for e in m.timeline)
    m = dataclasses.replace(m, source_host=None, dest_host=None, hosts=(), end=m.start,
                            timeline=tl)
    out = render(only(build, m), "text")
    assert ("route       unknown source → unknown destination (no host names in the logs)"
            in out)
    assert "(one timestamped line: duration unknown)" in out and "(0.0 s)" not in out
    assert "(unknown) (source)" not in out
    html = render(only(build, m), "html")
    assert "unknown source → unknown destination" in html and "(0.0 s)" not in html
    # the lane of lines without a host is not labelled with a role it does not have
    els = next(svgs(Dom(html), "timeline"))
    lane = [e for e in els if e.tag == "text" and "lane-sub" in e.classes]
    assert lane and all("destination" not in e.text and "source" not in e.text for e in lane)


def test_config_lines_in_a_fix_stay_on_their_own_lines() -> None:
    fix = ("- Allow the migration to converge:\n"
           "  [libvirt] live_migration_permit_auto_converge = True   (throttles vCPUs)\n"
           "  [libvirt] live_migration_permit_post_copy = True        (needs userfaultfd)\n"
           "- Give it more bandwidth: a dedicated network,\n"
           "  or a larger completion timeout.")
    assert _wrap(fix, 100) == [
        "- Allow the migration to converge:",
        "  [libvirt] live_migration_permit_auto_converge = True   (throttles vCPUs)",
        "  [libvirt] live_migration_permit_post_copy = True        (needs userfaultfd)",
        "- Give it more bandwidth: a dedicated network, or a larger completion timeout.",
    ]


def test_log_lines_are_never_joined_into_one() -> None:
    """Author prose is reflowed; two log lines stay two lines (long ones hang under themselves)."""
    assert _wrap("first sentence\nwrapped", 100) == ["first sentence wrapped"]
    assert _wrap_log("2024-05-14 10:00:00 a\n2024-05-14 10:00:01 b", 100) == [
        "2024-05-14 10:00:00 a", "2024-05-14 10:00:01 b"]
    assert _wrap_log("x " * 30, 20)[1].startswith("  x")


def test_timeline_column_splits_long_names_after_an_underscore() -> None:
    got = _wrap_column("Destination pre-check finished (check_can_live_migrate_destination)", 34)
    assert got == ["Destination pre-check finished", "(check_can_live_migrate_",
                   "destination)"]
    assert all(len(x) <= 16 for x in _wrap_column("pre_live_migration finished", 16))


# -- sections after the timeline ------------------------------------------------------------


def test_missing_evidence_is_grouped_per_migration(report: Report, build: Any) -> None:
    m = report.migrations[0]
    extra = MissingEvidence(what="audit log of compute-02", why="no audit log in the bundle",
                            how="copy /var/log/audit/audit.log, or `ausearch -m AVC -ts <start>`")
    m = dataclasses.replace(m, missing_evidence=(*m.missing_evidence, extra))
    r = only(build, m)
    out = render(r, "text")
    part = out[out.index("Missing evidence"): out.index("Inputs:")]
    assert part.count(m.id) == 1 and part.count("what ") == 2
    md = section(render(r, "markdown"), "## Missing evidence")
    # a sentence quoting its command: prose with a code span, not a shell block
    assert ("How to get it: copy /var/log/audit/audit.log, or `ausearch -m AVC -ts <start>`"
            in md)
    assert "```sh\n  copy" not in md
    assert "<code>ausearch -m AVC -ts &lt;start&gt;</code>" in render(r, "html")


def test_inputs_table_has_aligned_column_names_and_path_like_clipping(build: Any) -> None:
    long = "sos-compute-02-2024-05-14/var/log/kolla/libvirt/qemu/instance-000000c4.log"
    r = build.make_report(inputs=(InputSummary(long, DST, "qemu", 4_500, 53, 9, 9),))
    lines = render(r, "text", width=80).splitlines()
    head = next(ln for ln in lines if ln.lstrip().startswith("input"))
    row = lines[lines.index(head) + 1]
    assert row.index(DST) == head.index("host") and row.index("qemu") == head.index("kind")
    assert len(row.rstrip()) == len(head.rstrip())  # right-aligned numbers under their names
    assert row.split()[0].startswith("…/") and long.endswith(row.split()[0][1:])


def test_markdown_commands_in_remediation_and_impact_are_code(build: Any) -> None:
    m = dataclasses.replace(build.failed_migration(), remediation=(
        "If it must move now, cold-migrate it: `openstack server migrate --host compute-03 "
        "srv|1` (the guest reboots).",))
    r = only(build, m)
    fix = section(render(r, "markdown"), "## Fix")
    assert ("1. If it must move now, cold-migrate it: `openstack server migrate --host "
            "compute-03 srv|1` (the guest reboots).") in fix
    assert "\\`" not in fix
    assert ("<p class=\"step\">If it must move now, cold-migrate it: <code>openstack server "
            "migrate --host compute-03 srv|1</code> (the guest reboots).</p>") in render(r, "html")
    unknown = dataclasses.replace(m, outcome=Outcome.UNKNOWN)
    summary = section(render(only(build, unknown), "markdown"), "## Summary")
    assert f"check `openstack server show {m.instance_uuid}`" in summary
    assert md_inline("a | b `c|d` *e*", in_table=True) == "a \\| b `c\\|d` \\*e\\*"
    assert md_inline("odd ` tick") == "odd \\` tick"


def test_prevention_names_compute_hosts_not_the_controller(build: Any) -> None:
    m: Migration = build.failed_migration()
    conductor = dataclasses.replace(m.timeline[0], host="controller-01", role="conductor",
                                    source="ctl/nova-conductor.log", line=5)
    m = dataclasses.replace(m, timeline=(conductor, *m.timeline),
                            hosts=(SRC, DST, "controller-01"))
    prevention = section(render(only(build, m), "markdown"), "## Prevention")
    assert f"({SRC}, {DST})" in prevention and "controller-01" not in prevention


def test_markdown_timeline_states_convergence(report: Report) -> None:
    tl = section(render(report, "markdown"), "## Timeline")
    c = report.migrations[1].convergence
    assert c is not None
    assert f"**Convergence** ({c.trend}): {c.summary}" in tl.replace("\\", "")
    assert ", ".join(f"{p.memory_remaining_pct}%" for p in c.points) in tl


def test_html_folds_long_lines_and_completed_migrations(build: Any, report: Report) -> None:
    m: Migration = build.failed_migration()
    dump = m.timeline[0].text + " LibvirtLiveMigrateData(" + "x=1," * 600 + ")"
    m = dataclasses.replace(m, timeline=(dataclasses.replace(m.timeline[0], text=dump),
                                         *m.timeline[1:]))
    page = render(only(build, m), "html")
    dom = Dom(page)
    assert dom.find("details", "more") and f"whole line ({len(dump)} characters)" in page
    # the clipped head in the table cell is short; the whole line is still in the page
    heads = [p.text for p in dom.find("pre", "line") if p.text.endswith(" …")]
    assert heads and all(len(t) < 300 for t in heads) and dump in html.unescape(page)
    # events of the failed migration are open, those of the completed one folded
    page = render(report, "html")
    assert page.count("<details open><summary>Events") == 1
    assert page.count("<details><summary>Events") == 1


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_fixes_keep_the_escaping(build: Any, fmt: str) -> None:
    """Grouped evidence and collapsed rows still escape log text (fenced blocks hold it
    verbatim, which is safe: Markdown does not interpret a code block)."""
    m = burst_migration(build)
    evil = "<script>x</script> | `tick` *b*"
    tl = tuple(dataclasses.replace(e, text=evil, title=evil) for e in m.timeline)
    assert m.root_cause is not None
    ev = tuple(dataclasses.replace(e, text=evil) for e in m.root_cause.evidence)
    m = dataclasses.replace(m, timeline=tl, root_cause=dataclasses.replace(m.root_cause,
                                                                            evidence=ev))
    out = render(only(build, m), fmt)
    if fmt == "markdown":
        assert all(len(r) == 7 for r in table_rows(section(out, "## Timeline")))
        out = re.sub(r"```log\n.*?\n```\n", "", out, flags=re.S)
    assert "<script>" not in out
