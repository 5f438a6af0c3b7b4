"""Clock handling: drift between hosts from causal pairs, and --tz mistakes on one host.

Findings are built by hand (``correlate_factory.py`` says why that faking is acceptable).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from analyzer.model import ClockOffset, Report
from analyzer.records import SourceKind

from correlate_factory import Factory


def _offset(report: Report, host: str) -> ClockOffset:
    return next(o for o in report.clock_offsets if o.host == host)


def test_destination_three_seconds_ahead_is_recovered_within_bounds(make: Factory) -> None:
    make.cpu_chain(dest_skew=3.0)
    report = make.correlate()
    ref = _offset(report, "compute-01")
    assert ref.offset_s == 0.0 and "reference clock" in ref.basis
    dst = _offset(report, "compute-02")
    assert dst.lower_s is not None and dst.upper_s is not None
    assert dst.lower_s <= -3.0 <= dst.upper_s
    assert dst.lower_s <= dst.offset_s <= dst.upper_s
    assert dst.upper_s < -2.5  # the pairs really do pin it, not just "≤ 0"
    assert dst.upper_s - dst.lower_s < 1.0
    assert "pre_live_migration" in dst.basis and "closest to 0" in dst.basis

    (m,) = report.migrations
    plm = next(e for e in m.timeline if e.pattern_id == "EV_PLM_DATA")
    # raw keeps the logged value (true −2 s + 3 s skew); the corrected one is near the truth
    assert plm.raw_timestamp == make.BASE + timedelta(seconds=1.0)
    assert plm.timestamp is not None
    assert abs((plm.timestamp - (make.BASE - timedelta(seconds=2.0))).total_seconds()) < 0.5
    # corrected order: the destination's CPU error precedes the source's carrier line
    # (the carrier line is one timeline entry, under its most specific pattern: look it up
    # by its text)
    order = [e.pattern_id for e in m.timeline]
    carrier = next(i for i, e in enumerate(m.timeline) if "Live Migration failure" in e.text)
    assert order.index("CA_CPU_LIBVIRT") < carrier


def test_without_skew_the_offset_is_zero(make: Factory) -> None:
    make.cpu_chain()
    dst = _offset(make.correlate(), "compute-02")
    assert dst.offset_s == 0.0
    assert dst.lower_s is not None and dst.lower_s <= 0.0
    assert dst.upper_s is not None and dst.upper_s >= 0.0


def test_conflicting_bounds_fall_back_to_zero(make: Factory) -> None:
    kw: dict[str, Any] = {"host": "compute-01", "request_id": make.REQ_1, "instance": make.UUID_A}
    make.add("EV_TOOK", "Took 0.50 seconds for pre_live_migration on destination host "
             "compute-02.", at=10.0, fields={"dest": "compute-02"}, **kw)
    # logged before the call started (→ offset ≥ +0.5) and after it ended (→ offset ≤ −2)
    make.add("EV_PLM_DATA", "pre_live_migration data is LibvirtLiveMigrateData()", at=9.0,
             host="compute-02", request_id=make.REQ_1)
    make.add("EV_PLM_RESULT", "pre_live_migration result data is LibvirtLiveMigrateData()",
             at=12.0, host="compute-02", request_id=make.REQ_1)
    make.add("EV_LM_FAILURE", "Live Migration failure: operation failed: job 'migration out' "
             "failed", at=13.0, **kw)
    dst = _offset(make.correlate(), "compute-02")
    assert dst.offset_s == 0.0
    assert "conflict" in dst.basis and "falling back to 0" in dst.basis
    assert dst.lower_s is not None and dst.upper_s is not None
    assert dst.lower_s <= 0.0 <= dst.upper_s


def test_unlinked_host_is_reported_with_offset_zero(make: Factory) -> None:
    make.cpu_chain()
    make.add("EV_LIFECYCLE", "VM Started (Lifecycle Event)", at=2.0, host="compute-09",
             instance=make.UUID_B)
    make.add("EV_MIGRATE_API", "About to invoke the migrate API", at=2.0, host="compute-09",
             instance=make.UUID_B)
    o = _offset(make.correlate(), "compute-09")
    assert o.offset_s == 0.0 and o.lower_s is None and o.upper_s is None
    assert "no causal pair" in o.basis


def test_tz_mistake_on_one_host_is_detected_and_fixed(make: Factory) -> None:
    """nova on compute-01 logs Europe/Berlin local time (UTC+1 in January) but was read as UTC."""
    berlin = 3600.0  # the oslo stamps come out one hour late
    kw: dict[str, Any] = {"host": "compute-01", "request_id": make.REQ_1, "instance": make.UUID_A,
          "skew": berlin, "tz": "assumed UTC+00:00 (--tz)"}
    make.add("EV_MIGRATE_API", "About to invoke the migrate API", at=0.0, **kw)
    error = ("operation failed: job 'migration out' failed: Unable to write to socket: "
             "Broken pipe")
    make.add("EV_JOB_FAILED", error, at=1.0, host="compute-01", kind=SourceKind.LIBVIRTD)
    make.add("EV_LM_FAILURE", f"Live Migration failure: {error}: libvirt.libvirtError: {error}",
             at=1.1, fields={"reason": error}, **kw)
    report = make.correlate()
    (m,) = report.migrations
    # the libvirtd line (UTC, no request id) could only join once the hour was corrected
    assert any(e.pattern_id == "EV_JOB_FAILED" for e in m.timeline)
    hint = [e for e in m.missing_evidence if "time zone" in e.what]
    assert hint and hint[0].how == "rerun with --tz Europe/Berlin"
    assert "1 h ahead of libvirt/QEMU UTC" in hint[0].why
    o = _offset(report, "compute-01")
    assert "--tz mistake" in o.basis
    carrier = next(e for e in m.timeline if e.pattern_id == "EV_LM_FAILURE")
    assert carrier.timestamp is not None and carrier.raw_timestamp is not None
    assert (carrier.raw_timestamp - carrier.timestamp) == timedelta(hours=1)
    assert abs((carrier.timestamp - (make.BASE + timedelta(seconds=1.1))).total_seconds()) < 0.01


def test_small_disagreement_is_not_a_tz_mistake(make: Factory) -> None:
    kw: dict[str, Any] = {"host": "compute-01", "request_id": make.REQ_1, "instance": make.UUID_A}
    error = "operation failed: job 'migration out' failed: Unable to write to socket"
    make.add("EV_JOB_FAILED", error, at=1.0, host="compute-01", kind=SourceKind.LIBVIRTD)
    make.add("EV_LM_FAILURE", f"Live Migration failure: {error}", at=1.2, skew=40.0, **kw)
    report = make.correlate()
    assert report.clock_offsets == ()  # one host, no zone problem: nothing to say
    assert not any("time zone" in e.what for m in report.migrations
                   for e in m.missing_evidence)
