"""Fixtures for the reporter tests: hand-built Reports (no correlator involved).

The content is a realistic two-host incident: ``compute-01`` live-migrates two instances to
``compute-02``. The first fails because the destination CPU lacks ``avx512f`` (the incoming
QEMU refuses the guest CPU, the source logs ``Live Migration failure`` and rolls back); the
second completes after converging. ``compute-02``'s clock runs 2.4 s behind, so its entries
carry a raw and a corrected timestamp. Message texts are taken from
shared/notes/messages.md (nova, libvirt and QEMU templates), with made-up ids and numbers.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from analyzer.model import (
    CauseVerdict,
    ClockOffset,
    Convergence,
    Evidence,
    InputSummary,
    Migration,
    MissingEvidence,
    Outcome,
    ProgressPoint,
    Report,
    Summary,
    TimelineEntry,
)
from analyzer.records import Problem

UTC = timezone.utc
SRC, DST = "compute-01", "compute-02"
SKEW_S = 2.4  # compute-02's clock is behind: add 2.4 s to its stamps
UUID_FAIL = "6f1c2d3e-0000-4000-8000-000000000001"
UUID_OK = "0b5e7a91-2c4d-4f3e-9a8b-7c6d5e4f3a2b"
REQ_FAIL = "req-3f6c1e2a-8d0b-4c7e-9a51-2b7f0c4d9e10"
REQ_OK = "req-8a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
NOVA_SRC = "sos-compute-01/var/log/nova/nova-compute.log"
NOVA_DST = "sos-compute-02/var/log/nova/nova-compute.log"
LIBVIRTD_DST = "sos-compute-02/var/log/libvirt/libvirtd.log"
QEMU_SRC = "sos-compute-01/var/log/libvirt/qemu/instance-0000002a.log"
QEMU_DST = "sos-compute-02/var/log/libvirt/qemu/instance-0000002a.log"
CPU_ERROR = ("operation failed: guest CPU doesn't match specification: missing features: "
             "avx512f")
CPU_COMPARE_XML = ("cpu compare xml: <cpu match=\"exact\">\n  <model>Skylake-Server-IBRS</model>\n"
                   "  <vendor>Intel</vendor>\n  <feature policy=\"require\" name=\"avx512f\"/>\n"
                   "</cpu>")
PROBLEM_MESSAGE = "gzip stream ends early (truncated archive member); 1.4 MiB read before the cut"


def t(hms: str, day: str = "2024-05-14") -> datetime:
    return datetime.fromisoformat(f"{day}T{hms}+00:00")


def _oslo(ts: str, level: str, logger: str, req: str, uuid: str, msg: str) -> str:
    return (f"{ts} 7 {level} {logger} [None {req} 3de117d2 eab438b1 - - default default] "
            f"[instance: {uuid}] {msg}")


def _entry(corrected: datetime, host: str, role: str, kind: str, stage: str | None,
           cause: str | None, pattern_id: str, title: str, severity: str, source: str,
           line: int, text: str) -> TimelineEntry:
    raw = corrected - timedelta(seconds=SKEW_S) if host == DST else corrected
    return TimelineEntry(timestamp=corrected, raw_timestamp=raw, host=host, role=role,
                         kind=kind, stage=stage, cause=cause, pattern_id=pattern_id,
                         title=title, severity=severity, source=source, line=line, text=text)


CPU_FIX = (
    "Migrate only between hosts that provide the guest's CPU features, or give guests a CPU\n"
    "model every host in the pool supports:\n"
    "  [libvirt]\n"
    "  cpu_mode = custom\n"
    "  cpu_models = Cascadelake-Server-noTSX\n"
    "then restart nova-compute and cold-migrate or hard-reboot the instance so it picks it up."
)


def failed_migration() -> Migration:
    cause_line = _entry(
        t("10:21:06.362"), DST, "destination", "cause", "incoming_migration",
        "cpu_incompatible", "LM071", "Destination QEMU cannot provide the guest CPU features",
        "error", LIBVIRTD_DST, 4711,
        f"2024-05-14 10:21:03.962+0000: 2718: error : virCPUx86UpdateLive:3150 : {CPU_ERROR}")
    qemu_warn = _entry(
        t("10:21:06.350"), DST, "destination", "cause", "incoming_migration",
        "cpu_incompatible", "LM072", "QEMU: host doesn't support a requested CPU feature",
        "warning", QEMU_DST, 38,
        "2024-05-14T10:21:03.950123Z qemu-system-x86_64: warning: host doesn't support "
        "requested feature: CPUID.07H:EBX.avx512f [bit 16]")
    carrier = _entry(
        t("10:21:06.901"), SRC, "source", "cause", "live_migration_operation", "other",
        "LM117", "Live migration failed inside libvirt on the source host", "error",
        NOVA_SRC, 812,
        _oslo("2024-05-14 10:21:06.901", "ERROR", "nova.virt.libvirt.driver", REQ_FAIL,
              UUID_FAIL, f"Live Migration failure: {CPU_ERROR}: libvirt.libvirtError: "
                         f"{CPU_ERROR}"))
    timeline = (
        _entry(t("10:20:58.204"), DST, "destination", "event",
               "check_can_live_migrate_destination", None, "LM002",
               "Destination compares the guest CPU", "debug", NOVA_DST, 1201,
               _oslo("2024-05-14 10:20:55.804", "DEBUG", "nova.virt.libvirt.driver", REQ_FAIL,
                     UUID_FAIL, CPU_COMPARE_XML)),
        _entry(t("10:21:01.120"), SRC, "source", "event", "pre_live_migration", None, "LM016",
               "pre_live_migration finished on the destination", "info", NOVA_SRC, 790,
               _oslo("2024-05-14 10:21:01.120", "INFO", "nova.compute.manager", REQ_FAIL,
                     UUID_FAIL, f"Took 2.31 seconds for pre_live_migration on destination "
                                f"host {DST}.")),
        _entry(t("10:21:01.500"), SRC, "source", "event", "live_migration_operation", None,
               "LM020", "Source QEMU starts sending", "info", QEMU_SRC, 57,
               "2024-05-14 10:21:01.500+0000: initiating migration"),
        qemu_warn,
        cause_line,
        _entry(t("10:21:06.410"), DST, "destination", "event", "incoming_migration", None,
               "LM024", "Incoming QEMU shut down after a failure", "warning", QEMU_DST, 41,
               "2024-05-14 10:21:04.010+0000: shutting down, reason=failed"),
        carrier,
        _entry(t("10:21:07.020"), SRC, "source", "event", "live_migration_monitor", None,
               "LM160", "libvirt job failed; Nova starts the rollback", "error", NOVA_SRC, 815,
               _oslo("2024-05-14 10:21:07.020", "ERROR", "nova.virt.libvirt.driver",
                     REQ_FAIL, UUID_FAIL, "Migration operation has aborted")),
        _entry(t("10:21:08.730"), DST, "destination", "event",
               "rollback_live_migration_at_destination", None, "LM244",
               "Destination domain destroyed during rollback", "info", NOVA_DST, 1260,
               _oslo("2024-05-14 10:21:06.330", "INFO", "nova.virt.libvirt.driver", REQ_FAIL,
                     UUID_FAIL, "Instance destroyed successfully.")),
    )

    def ev(e: TimelineEntry, role: str) -> Evidence:
        return Evidence(pattern_id=e.pattern_id, title=e.title, host=e.host, source=e.source,
                        line=e.line, timestamp=e.timestamp, text=e.text, role=role)

    root = CauseVerdict(
        cause="cpu_incompatible", confidence=0.95, pattern_id="LM071",
        title="Destination QEMU cannot provide the guest CPU features",
        summary="The incoming QEMU on the destination could not enable CPU features the guest "
                "runs with, so libvirt refused the incoming migration.",
        why="The guest CPU was defined on a host with avx512f; compute-02's CPU (or its "
            "kernel/microcode) does not expose it, and a running guest cannot lose a CPU "
            "feature.",
        fix=CPU_FIX,
        evidence=(ev(cause_line, "cause"), ev(qemu_warn, "context"), ev(carrier, "symptom")),
    )
    secondary = CauseVerdict(
        cause="other", confidence=0.4, pattern_id="LM117",
        title="Live migration failed inside libvirt on the source host",
        summary="libvirt aborted the migration job; the reason is libvirt's own error text.",
        why="The source only relays the destination's error.",
        fix="Read the reason text and the destination's libvirtd and QEMU logs.",
        evidence=(ev(carrier, "cause"),),
        ranked_lower_because="Generic carrier of the destination's libvirt error, logged "
                             "0.54 s after the more specific CPU error on compute-02.",
    )
    return Migration(
        id="m-1", instance_uuid=UUID_FAIL, request_ids=(REQ_FAIL,), source_host=SRC,
        dest_host=DST, start=t("10:20:58.204"), end=t("10:21:08.730"),
        outcome=Outcome.ROLLED_BACK, root_cause=root, secondary_causes=(secondary,),
        timeline=timeline, convergence=None,
        missing_evidence=(MissingEvidence(
            what="nova-conductor log of the control plane",
            why="it would show whether the scheduler had other destinations to try and when "
                "the operator started the migration",
            how="on the controller: journalctl -u nova-conductor --since '2024-05-14 10:15' "
                "--until '2024-05-14 10:30' > nova-conductor.log"),),
        remediation=(CPU_FIX, "Retry: openstack server migrate --live-migration "
                              f"--host {DST} {UUID_FAIL}"),
        hosts=(SRC, DST),
    )


PROGRESS = ((30, 72), (60, 41), (90, 18), (120, 3))
TOTAL_MEM = 8_589_934_592


def completed_migration() -> Migration:
    start = t("11:02:00.100")
    timeline: list[TimelineEntry] = [
        _entry(start, SRC, "source", "event", "pre_live_migration", None, "LM016",
               "pre_live_migration finished on the destination", "info", NOVA_SRC, 1300,
               _oslo("2024-05-14 11:02:00.100", "INFO", "nova.compute.manager", REQ_OK, UUID_OK,
                     f"Took 1.87 seconds for pre_live_migration on destination host {DST}.")),
        _entry(t("11:02:00.600"), SRC, "source", "event", "live_migration_operation", None,
               "LM020", "Source QEMU starts sending", "info",
               "sos-compute-01/var/log/libvirt/qemu/instance-0000002b.log", 12,
               "2024-05-14 11:02:00.600+0000: initiating migration"),
    ]
    points = [ProgressPoint(timestamp=t("11:02:00.600"), elapsed_s=0, memory_remaining_pct=100,
                            processed_bytes=0, remaining_bytes=TOTAL_MEM, total_bytes=TOTAL_MEM,
                            disk_remaining_pct=100)]
    for i, (secs, pct) in enumerate(PROGRESS):
        ts = start + timedelta(seconds=secs, milliseconds=500)
        remaining = TOTAL_MEM * pct // 100
        msg = (f"Migration running for {secs} secs, memory {pct}% remaining (bytes processed="
               f"{TOTAL_MEM - remaining}, remaining={remaining}, total={TOTAL_MEM}); disk 100% "
               f"remaining (bytes processed=0, remaining=0, total=0).")
        timeline.append(_entry(ts, SRC, "source", "event", "live_migration_monitor", None,
                               "LM025", "Migration progress", "info", NOVA_SRC, 1310 + i,
                               _oslo(f"2024-05-14 {ts:%H:%M:%S}.600", "INFO",
                                     "nova.virt.libvirt.driver", REQ_OK, UUID_OK, msg)))
        points.append(ProgressPoint(timestamp=ts, elapsed_s=secs, memory_remaining_pct=pct,
                                    processed_bytes=TOTAL_MEM - remaining,
                                    remaining_bytes=remaining, total_bytes=TOTAL_MEM,
                                    disk_remaining_pct=100))
    end = t("11:04:07.900")
    timeline += [
        _entry(t("11:04:05.200"), SRC, "source", "event", "live_migration_monitor", None,
               "LM032", "libvirt job completed", "info", NOVA_SRC, 1320,
               _oslo("2024-05-14 11:04:05.200", "INFO", "nova.virt.libvirt.driver", REQ_OK,
                     UUID_OK, "Migration operation has completed")),
        _entry(end, SRC, "source", "event", "post_live_migration", None, "LM045",
               "Live migration finished successfully", "info", NOVA_SRC, 1333,
               _oslo("2024-05-14 11:04:07.900", "INFO", "nova.compute.manager", REQ_OK, UUID_OK,
                     f"Migrating instance to {DST} finished successfully.")),
    ]
    return Migration(
        id="m-2", instance_uuid=UUID_OK, request_ids=(REQ_OK,), source_host=SRC, dest_host=DST,
        start=start, end=end, outcome=Outcome.COMPLETED, root_cause=None,
        timeline=tuple(timeline),
        convergence=Convergence(points=tuple(points), trend="falling",
                                summary="Memory remaining fell from 100% to 3% in 120 s; the "
                                        "migration converged."),
        hosts=(SRC, DST),
    )


def make_report(**changes: object) -> Report:
    """The two-migration incident; keyword arguments replace Report fields."""
    report = Report(
        summary=Summary(primary_cause="cpu_incompatible", migrations=2, failed=1,
                        causes={"cpu_incompatible": 1}),
        migrations=(failed_migration(), completed_migration()),
        inputs=(
            InputSummary(NOVA_SRC, SRC, "nova-compute", 1_048_576, 9_120, 14, 16),
            InputSummary(QEMU_SRC, SRC, "qemu", 4_096, 60, 1, 1),
            InputSummary(NOVA_DST, DST, "nova-compute", 786_432, 7_002, 3, 3),
            InputSummary(LIBVIRTD_DST, DST, "libvirtd", 2_310_144, 20_480, 1, 2),
            InputSummary(QEMU_DST, DST, "qemu", 3_900, 44, 2, 2),
        ),
        problems=(
            Problem(source="sos-compute-02.tar.xz!var/log/nova/nova-compute.log.2.gz",
                    message=PROBLEM_MESSAGE, offset=1_468_006, severity="error"),
            Problem(source=NOVA_SRC, message="line is not valid UTF-8; decoded with "
                                             "replacement characters", line=4410),
        ),
        clock_offsets=(
            ClockOffset(host=SRC, offset_s=0.0, lower_s=None, upper_s=None,
                        basis="reference clock (source host of the first migration)"),
            ClockOffset(host=DST, offset_s=SKEW_S, lower_s=1.9, upper_s=3.1,
                        basis="compute-01 'initiating migration' must precede compute-02's "
                              "incoming QEMU failure; 3 causal pairs"),
        ),
        tool_version="0.1.0",
        generated_at=datetime(2024, 5, 14, 12, 0, 0, tzinfo=UTC),
    )
    return dataclasses.replace(report, **changes)  # type: ignore[arg-type]


def empty_report() -> Report:
    """No migration found, one unreadable input."""
    return Report(
        summary=Summary(primary_cause="none", migrations=0, failed=0),
        migrations=(),
        inputs=(InputSummary("messages", None, None, 10, 1, 0),),
        problems=(Problem(source="bundle.tar.gz", message="not a tar archive", offset=0,
                          severity="error"),),
    )


@pytest.fixture
def report() -> Report:
    return make_report()


class Builders:
    """The factory functions, handed to tests through the ``build`` fixture."""

    make_report = staticmethod(make_report)
    empty_report = staticmethod(empty_report)
    failed_migration = staticmethod(failed_migration)
    completed_migration = staticmethod(completed_migration)


@pytest.fixture(scope="session")
def build() -> type[Builders]:
    return Builders


@pytest.fixture
def no_migration_report() -> Report:
    return empty_report()
