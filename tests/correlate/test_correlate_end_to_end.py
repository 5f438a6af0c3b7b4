"""End to end through the real collectors, parsers, matcher and catalogue (``patterns/``).

The log files are written into ``tmp_path`` from the exact message strings of
shared/notes/messages.md: a CPU-incompatibility chain across two computes whose destination
clock runs 3 s ahead, and whose source nova logs Europe/Berlin local time while the run
assumes UTC. Assertions name taxonomy ids and hosts, not pattern ids, so that catalogue work
does not break them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from analyzer import analyze
from analyzer.model import Outcome

UUID = "6f1a2b3c-0000-4000-8000-00000000000a"
REQ = "req-11111111-1111-4111-8111-111111111111"
CTX = f"[None {REQ} 3de117d2 eab438b1 - - default default]"
T0 = datetime(2024, 1, 15, 10, 23, 0, tzinfo=UTC)  # true time of the source's "Took" line


def _oslo(t: float, level: str, logger: str, msg: str, *, shift_h: int = 0,
          instance: bool = True, t0: datetime = T0, req: str = REQ) -> str:
    ts = t0 + timedelta(seconds=t, hours=shift_h)
    inst = f"[instance: {UUID}] " if instance else ""
    stamp = f"{ts:%Y-%m-%d %H:%M:%S}.{ts.microsecond // 1000:03d}"
    ctx = f"[None {req} 3de117d2 eab438b1 - - default default]"
    return f"{stamp} 7 {level} {logger} {ctx} {inst}{msg}"


def _libvirt(t: float, msg: str, *, t0: datetime = T0) -> str:
    ts = t0 + timedelta(seconds=t)
    return f"{ts:%Y-%m-%d %H:%M:%S}.{ts.microsecond // 1000:03d}+0000: 2345: error : {msg}"


def _write(base: Path, *, dest_skew: float, source_shift_h: int, req: str | None = None,
           t0: datetime | None = None) -> tuple[Path, Path]:
    """The two computes' logs of one attempt (request ``req``, source's "Took" line at
    ``t0``; by default the module's REQ and T0) under ``base``; returns the two host
    directories."""
    req = req or REQ
    t0 = t0 or T0
    c1, c2 = base / "compute-01", base / "compute-02"
    (c2 / "qemu").mkdir(parents=True)
    c1.mkdir()
    s, d = source_shift_h, dest_skew
    carrier = ("Live Migration failure: internal error: QEMU unexpectedly closed the monitor "
               "(vm='instance-0000002a'): 2024-01-15T10:23:00.850000Z qemu-system-x86_64: "
               "terminating on signal 15: libvirt.libvirtError: internal error: QEMU "
               "unexpectedly closed the monitor (vm='instance-0000002a')")
    (c1 / "nova-compute.log").write_text("\n".join([
        _oslo(0.0, "INFO", "nova.compute.manager", "Took 2.10 seconds for pre_live_migration "
              "on destination host compute-02.", shift_h=s, t0=t0, req=req),
        _oslo(0.2, "DEBUG", "nova.virt.libvirt.driver", "About to invoke the migrate API "
              "_live_migration_operation /usr/lib/python3/dist-packages/nova/virt/libvirt/"
              "driver.py:10345", shift_h=s, t0=t0, req=req),
        _oslo(1.2, "ERROR", "nova.virt.libvirt.driver", carrier, shift_h=s, t0=t0, req=req),
        _oslo(1.4, "ERROR", "nova.virt.libvirt.driver", "Migration operation has aborted",
              shift_h=s, t0=t0, req=req),
    ]) + "\n")
    init = t0 + timedelta(seconds=0.6)  # after the destination QEMU started (0.5)
    (c1 / "qemu").mkdir()
    (c1 / "qemu" / "instance-0000002a.log").write_text(
        f"{init:%Y-%m-%d %H:%M:%S}.{init.microsecond // 1000:03d}+0000: initiating migration\n")
    (c1 / "libvirtd.log").write_text(_libvirt(
        1.15, "qemuMigrationJobCheckStatus:1774 : internal error: QEMU unexpectedly closed "
        "the monitor (vm='instance-0000002a')", t0=t0) + "\n")
    (c2 / "nova-compute.log").write_text("\n".join([
        _oslo(-2.0 + d, "DEBUG", "nova.compute.manager", "pre_live_migration data is "
              "LibvirtLiveMigrateData(bdms=[],block_migration=False) pre_live_migration "
              "/usr/lib/python3/dist-packages/nova/compute/manager.py:9438", instance=False,
              t0=t0, req=req),
        _oslo(-0.3 + d, "DEBUG", "nova.compute.manager", "pre_live_migration result data is "
              "LibvirtLiveMigrateData(bdms=[],block_migration=False) pre_live_migration "
              "/usr/lib/python3/dist-packages/nova/compute/manager.py:9570", instance=False,
              t0=t0, req=req),
    ]) + "\n")
    (c2 / "libvirtd.log").write_text(_libvirt(
        0.8 + d, "virCPUx86Compare:2011 : the CPU is incompatible with host CPU: Host CPU does "
        "not provide required features: avx512f, avx512dq", t0=t0) + "\n")
    start = t0 + timedelta(seconds=0.5 + d)
    stop = t0 + timedelta(seconds=0.9 + d)
    (c2 / "qemu" / "instance-0000002a.log").write_text(
        f"{start:%Y-%m-%d %H:%M:%S}.{start.microsecond // 1000:03d}+0000: starting up libvirt "
        "version: 8.0.0, package: 1ubuntu7.5, qemu version: 6.2.0, kernel: 5.15.0-91-generic, "
        "hostname: compute-02\n"
        f"LC_ALL=C PATH=/usr/bin /usr/bin/qemu-system-x86_64 -name guest=instance-0000002a,"
        f"debug-threads=on -uuid {UUID} -incoming defer\n"
        f"{stop:%Y-%m-%d %H:%M:%S}.{stop.microsecond // 1000:03d}+0000: shutting down, "
        "reason=failed\n")
    return c1, c2


def test_cpu_chain_with_skew_and_tz_mistake_end_to_end(tmp_path: Path) -> None:
    c1, c2 = _write(tmp_path, dest_skew=3.0, source_shift_h=1)
    report = analyze([f"compute-01={c1}", f"compute-02={c2}"], tz=UTC)
    assert report.summary.primary_cause == "cpu_incompatible", report.summary
    failed = [m for m in report.migrations if m.outcome.failed]
    assert len(failed) == 1
    m = failed[0]
    assert (m.instance_uuid, m.source_host, m.dest_host) == (UUID, "compute-01", "compute-02")
    assert m.outcome is Outcome.ROLLED_BACK
    assert m.root_cause is not None and m.root_cause.cause == "cpu_incompatible"
    assert m.root_cause.evidence[0].host == "compute-02"
    assert "the CPU is incompatible" in m.root_cause.evidence[0].text
    # the source's oslo stamps were an hour late (Berlin read as UTC): found and fixed
    tz = [e for e in m.missing_evidence if "time zone" in e.what]
    assert tz and tz[0].how == "rerun with --tz Europe/Berlin", m.missing_evidence
    # and the destination's 3 s drift recovered within its bounds
    dst = next(o for o in report.clock_offsets if o.host == "compute-02")
    assert dst.lower_s is not None and dst.upper_s is not None
    assert dst.lower_s <= -3.0 <= dst.upper_s and dst.upper_s < -2.5
    took = next(e for e in m.timeline if "Took 2.10 seconds" in e.text)
    assert took.timestamp is not None and abs((took.timestamp - T0).total_seconds()) < 0.01
    # every input file contributed to this one attempt
    assert {e.source.rsplit("/", 1)[-1] for e in m.timeline} >= {
        "nova-compute.log", "libvirtd.log", "instance-0000002a.log"}
