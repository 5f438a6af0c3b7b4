"""Regressions found in review: phantom attempts, drift beyond the windows, chained clock
bounds, host spellings of bundles and of the ``hosts`` mapping.

The end-to-end cases run the real collectors, parsers, matcher and catalogue on the log files
of ``test_correlate_end_to_end._write`` (exact message strings of shared/notes/messages.md),
rearranged the way an operator's input can be: two attempts of one instance in one set of
files, only the destination's logs, a destination whose nova log is missing and whose clock
is minutes off.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from analyzer import analyze
from analyzer.correlate.clock import _Bounds, _solve
from analyzer.correlate.items import _lookup_host
from analyzer.model import Migration, Outcome, Report
from analyzer.records import SourceKind

from correlate_factory import Factory
from test_correlate_end_to_end import REQ, T0, UUID, _write

REQ_2 = "req-22222222-2222-4222-8222-222222222222"
INCOMING = "-incoming defer"  # the untimed QEMU command line of the destination


def _merged(base: Path, attempts: list[tuple[str, datetime]]) -> tuple[Path, Path]:
    """One set of host directories holding several attempts, each file in time order."""
    texts: dict[Path, list[str]] = {}
    for k, (req, t0) in enumerate(attempts):
        part = base / f"part{k}"
        _write(part, dest_skew=0.0, source_shift_h=0, req=req, t0=t0)
        for f in sorted(part.rglob("*.log")):
            texts.setdefault(f.relative_to(part), []).append(f.read_text())
    out = base / "merged"
    for rel, chunks in texts.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text("".join(chunks))
    return out / "compute-01", out / "compute-02"


def _incoming_lines(m: Migration) -> list[str]:
    return [e.text for e in m.timeline if INCOMING in e.text]


# ----------------------------------------------------------------- untimed lines (bug 4)


def test_untimed_qemu_command_line_stays_with_its_attempt_when_an_instance_has_two(
        tmp_path: Path) -> None:
    c1, c2 = _merged(tmp_path, [(REQ, T0), (REQ_2, T0 + timedelta(seconds=30))])
    report = analyze([f"compute-01={c1}", f"compute-02={c2}"], tz=UTC)
    assert report.summary.migrations == 2, [(m.id, m.outcome) for m in report.migrations]
    first, second = report.migrations
    assert (first.request_ids, second.request_ids) == ((REQ,), (REQ_2,))
    for m in report.migrations:
        assert m.outcome is Outcome.ROLLED_BACK
        assert m.root_cause is not None and m.root_cause.cause == "cpu_incompatible"
        # each attempt has its own command line: the one after its own "starting up" line
        assert len(_incoming_lines(m)) == 1, [e.text[:60] for e in m.timeline]
        lines = [e.line for e in m.timeline if e.source.endswith("compute-02/qemu/"
                                                                 "instance-0000002a.log")]
        assert sorted(lines) == list(range(min(lines), min(lines) + 3))  # adjacent lines


def test_untimed_host_only_line_joins_the_attempt_of_its_neighbour_line(make: Factory) -> None:
    """A timestamp-less error in a libvirtd log goes with the timed line just before it, not
    into an attempt of its own (nor out of the report)."""
    make.cpu_chain(req=make.REQ_1, t0=0.0)
    make.cpu_chain(req=make.REQ_2, t0=600.0, with_conductor=False)
    log = "compute-02:/var/log/libvirt/libvirtd.log"
    make.add("CA_LOCK", "Timed out during operation: cannot acquire state change lock (held by "
             "monitor=remoteDispatchDomainGetJobStats)", at=1.0, host="compute-02",
             kind=SourceKind.LIBVIRTD, source=log, line=10)
    make.add("CA_CONN_LOST", "internal error: connection to libvirt lost: End of file while "
             "reading data: Input/output error", at=None, host="compute-02",
             kind=SourceKind.LIBVIRTD, source=log, line=11)
    make.add("CA_LOCK", "Timed out during operation: cannot acquire state change lock (held by "
             "monitor=remoteDispatchDomainGetJobStats)", at=601.0, host="compute-02",
             kind=SourceKind.LIBVIRTD, source=log, line=12)
    report = make.correlate()
    assert report.summary.migrations == 2
    first, second = report.migrations
    assert any("connection to libvirt lost" in e.text for e in first.timeline)
    assert not any("connection to libvirt lost" in e.text for e in second.timeline)


# ------------------------------------------------------------ destination only (bug 5)


def test_destination_only_input_is_one_attempt(tmp_path: Path) -> None:
    """``pre_live_migration data is`` carries the request id but no [instance:]; the
    destination's QEMU lines carry the instance but no request id: one attempt."""
    _, c2 = _write(tmp_path, dest_skew=0.0, source_shift_h=0)
    report = analyze([f"compute-02={c2}"], tz=UTC)
    assert report.summary.migrations == 1, [(m.id, m.outcome) for m in report.migrations]
    (m,) = report.migrations
    assert m.instance_uuid == UUID and m.request_ids == (REQ,)
    assert m.dest_host == "compute-02"
    assert m.outcome is Outcome.ROLLED_BACK
    assert m.root_cause is not None and m.root_cause.cause == "cpu_incompatible"
    texts = [e.text for e in m.timeline]
    assert any("pre_live_migration result data is" in t for t in texts)
    assert len(_incoming_lines(m)) == 1


def test_request_without_instance_is_not_merged_when_two_attempts_are_candidates(
        make: Factory) -> None:
    """Two request-less attempts of two instances on the destination at once: the request
    without a UUID could be either, so it is not guessed into one of them."""
    for uuid, name in ((make.UUID_A, "instance-0000002a"), (make.UUID_B, "instance-0000002b")):
        make.add("EV_QEMU_INCOMING", f"LC_ALL=C /usr/bin/qemu-system-x86_64 -name guest={name} "
                 f"-uuid {uuid} -incoming defer", at=0.5, host="compute-02",
                 kind=SourceKind.QEMU, instance=uuid, source=f"compute-02:{name}.log")
        make.add("EV_QEMU_SHUTDOWN_FAILED", "shutting down, reason=failed", at=0.9,
                 host="compute-02", kind=SourceKind.QEMU, instance=uuid,
                 source=f"compute-02:{name}.log")
    make.add("EV_PLM_DATA", "pre_live_migration data is LibvirtLiveMigrateData()", at=-2.0,
             host="compute-02", request_id=make.REQ_1)
    report = make.correlate()
    assert all(make.REQ_1 not in m.request_ids for m in report.migrations
               if m.instance_uuid is not None)


# -------------------------------------------------- drift beyond the windows (bug 7)


@pytest.mark.parametrize("skew", [30.0, 400.0, 1800.0])
def test_libvirt_only_destination_minutes_off_is_still_one_attempt(
        tmp_path: Path, skew: float) -> None:
    c1, c2 = _write(tmp_path, dest_skew=skew, source_shift_h=0)
    (c2 / "nova-compute.log").unlink()  # the destination has only libvirt/QEMU logs
    report = analyze([f"compute-01={c1}", f"compute-02={c2}"], tz=UTC)
    assert report.summary.migrations == 1, [(m.id, m.outcome) for m in report.migrations]
    assert report.summary.primary_cause == "cpu_incompatible"
    (m,) = report.migrations
    assert (m.source_host, m.dest_host) == ("compute-01", "compute-02")
    dst = next(o for o in report.clock_offsets if o.host == "compute-02")
    assert abs(dst.offset_s + skew) < 0.5, dst  # the drift itself is recovered


def test_a_later_run_on_a_host_already_in_the_attempt_stays_separate(tmp_path: Path) -> None:
    """A gap on one host's own clock is time, not drift: a second incoming QEMU on the
    destination 20 minutes later (its nova lines not collected) is another attempt."""
    c1, c2 = _write(tmp_path, dest_skew=0.0, source_shift_h=0)
    later = T0 + timedelta(minutes=20)
    stamp = f"{later:%Y-%m-%d %H:%M:%S}.000+0000"
    with (c2 / "qemu" / "instance-0000002a.log").open("a") as f:
        f.write(f"{stamp}: starting up libvirt version: 8.0.0, package: 1ubuntu7.5, qemu "
                "version: 6.2.0, kernel: 5.15.0-91-generic, hostname: compute-02\n"
                "LC_ALL=C PATH=/usr/bin /usr/bin/qemu-system-x86_64 -name guest=instance-"
                f"0000002a,debug-threads=on -uuid {UUID} -incoming defer\n")
    report = analyze([f"compute-01={c1}", f"compute-02={c2}"], tz=UTC)
    assert report.summary.migrations == 2, [(m.id, m.outcome) for m in report.migrations]
    first, second = report.migrations
    assert first.request_ids == (REQ,) and second.request_ids == ()
    assert first.root_cause is not None and first.root_cause.cause == "cpu_incompatible"
    assert len(_incoming_lines(first)) == 1 and len(_incoming_lines(second)) == 1


# ------------------------------------------------------- chained clock bounds (bug 12)


def _check(bounds: _Bounds, offsets: dict[str, float]) -> None:
    for (a, b), e in bounds.edges.items():
        diff = offsets[b] - offsets[a]
        assert e.lo - 1e-9 <= diff <= e.hi + 1e-9, ((a, b), e.lo, e.hi, offsets)


def _pair(bounds: _Bounds, a: str, b: str, lo: float, hi: float) -> None:
    """Bound offset(b) − offset(a) to [lo, hi] through two orderings of events."""
    bounds.before(a, lo, b, 0.0, f"{a}<{b}")  # off_b - off_a >= lo
    bounds.before(b, 0.0, a, hi, f"{b}<{a}")  # off_b - off_a <= hi


def test_chained_offsets_keep_every_pair_within_its_bounds() -> None:
    b = _Bounds()
    _pair(b, "A", "B", 7.0, 10.0)
    _pair(b, "B", "C", -10.0, -8.0)
    sol = _solve(b, "A")
    _check(b, sol.chosen)
    assert sol.chosen["A"] == 0.0
    assert 6.98 <= sol.chosen["B"] <= 7.0  # the least correction B needs
    # C: as close to 0 as C − B in [−10, −8] allows once B is fixed (not 0: that breaks it)
    assert sol.chosen["C"] == pytest.approx(sol.chosen["B"] - 8.0, abs=0.02)
    lo, hi = sol.interval["C"]  # against the reference: the sum of both pairs
    assert lo == pytest.approx(-3.0, abs=0.03) and hi == pytest.approx(2.0, abs=0.03)


def test_a_cycle_that_contradicts_itself_drops_the_weakest_bound() -> None:
    b = _Bounds()
    _pair(b, "A", "B", 1.0, 2.0)
    _pair(b, "A", "B", 1.0, 2.0)  # twice: more evidence than the contradicting edge
    _pair(b, "B", "C", 1.0, 2.0)
    _pair(b, "B", "C", 1.0, 2.0)
    _pair(b, "A", "C", -1.0, 0.0)  # C − A must be in [2, 4] by the others
    sol = _solve(b, "A")
    assert sol.chosen["C"] - sol.chosen["A"] >= 1.98
    assert "left out" in sol.basis_of["C"]
    kept = _Bounds()
    kept.edges = {k: v for k, v in b.edges.items() if k != ("A", "C")}
    _check(kept, sol.chosen)


def test_random_consistent_bounds_are_all_satisfied() -> None:
    rng = random.Random(12)
    for _ in range(200):
        hosts = [f"h{i}" for i in range(rng.randint(2, 6))]
        truth = {h: rng.uniform(-50.0, 50.0) for h in hosts}
        b = _Bounds()
        for a, c in itertools.combinations(hosts, 2):
            if rng.random() < 0.6:
                d = truth[c] - truth[a]
                _pair(b, a, c, d - rng.uniform(0.0, 5.0), d + rng.uniform(0.0, 5.0))
        sol = _solve(b, hosts[0])
        reached = {h: sol.chosen[h] for h in sol.chosen}
        _check(_restrict(b, set(reached)), reached)
        for h, off in reached.items():
            lo, hi = sol.interval[h] if h != hosts[0] else (0.0, 0.0)
            assert lo - 1e-9 <= off <= hi + 1e-9


def _restrict(b: _Bounds, hosts: set[str]) -> _Bounds:
    out = _Bounds()
    out.edges = {k: v for k, v in b.edges.items() if k[0] in hosts and k[1] in hosts}
    return out


# ----------------------------------------------------- host spellings (bug 13, lookup)


@pytest.mark.parametrize("label", ["compute-01", "compute-01.example.org", "COMPUTE-01"])
def test_bundle_gaps_reach_the_migration_whatever_the_host_spelling(
        tmp_path: Path, label: str) -> None:
    c1, c2 = _write(tmp_path, dest_skew=0.0, source_shift_h=0)
    report: Report = analyze([f"{label}={c1}", f"compute-02={c2}"], tz=UTC)
    (m,) = report.migrations
    assert m.source_host == "compute-01"
    whats = [e.what for e in m.missing_evidence]
    assert "audit log of compute-01" in whats, whats
    assert "audit log of compute-02" in whats, whats
    assert len(whats) == len(set(whats))


@pytest.mark.parametrize(("source", "expected"), [
    ("compute-1/nova-compute.log", "compute-1"),
    ("compute-10/nova-compute.log", "compute-10"),
    ("compute-100/nova-compute.log", None),
    ("compute-1", "compute-1"),
    ("compute-1.tar.gz!var/log/nova/nova-compute.log", "compute-1"),
    ("bundles/compute-1/nova-compute.log", "bundles-host"),
    ("elsewhere/x/nova-compute.log", None),
])
def test_a_hosts_key_matches_whole_components_only(source: str, expected: str | None) -> None:
    hosts = {"compute-1": "compute-1", "compute-10": "compute-10", "bundles/": "bundles-host"}
    assert _lookup_host(source, hosts) == expected


def test_hosts_mapping_does_not_give_compute_10_lines_to_compute_1(make: Factory) -> None:
    kw: dict[str, Any] = {"instance": make.UUID_A, "request_id": make.REQ_1}
    make.add("EV_TOOK", "Took 1.00 seconds for pre_live_migration on destination host "
             "compute-2.", at=0.0, host=None, source="compute-10/nova-compute.log",
             fields={"dest": "compute-2"}, **kw)
    make.add("EV_MIGRATE_API", "About to invoke the migrate API", at=0.1, host=None,
             source="compute-10/nova-compute.log", **kw)
    report = make.correlate(hosts={"compute-1": "compute-1"})
    (m,) = report.migrations
    assert m.source_host != "compute-1"
