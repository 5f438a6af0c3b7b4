"""A tiny factory of hand-built findings for the correlator tests (fixture ``make``).

The correlator's input is ``ScanResult`` (findings, problems, inputs) plus a ``Catalogue``.
These tests build :class:`~analyzer.records.Record` / :class:`~analyzer.records.Finding`
objects directly and a small catalogue of :class:`~analyzer.catalogue.schema.Pattern` objects
constructed here. That is deliberate faking: the real catalogue and matcher were written
concurrently with the correlator, and the correlator's contract is findings + pattern metadata,
not regexes. The patterns below copy the ids' *shape*, kinds, marks, stages, severities and
confidences of the real catalogue (``patterns/``); the message texts are the exact strings of
shared/notes/messages.md. One end-to-end test (``test_correlate_end_to_end.py``) runs the real
parsers, matcher and catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from analyzer.catalogue.schema import Pattern
from analyzer.correlate import correlate
from analyzer.model import InputSummary, Report
from analyzer.records import Finding, Problem, Record, SourceKind

BASE = datetime(2024, 1, 15, 10, 23, 0, tzinfo=UTC)
UUID_A = "6f1a2b3c-0000-4000-8000-00000000000a"
UUID_B = "7b2c3d4e-0000-4000-8000-00000000000b"
REQ_1 = "req-11111111-1111-4111-8111-111111111111"
REQ_2 = "req-22222222-2222-4222-8222-222222222222"


def _p(pid: str, *, kind: str = "event", cause: str | None = None, stage: str | None = None,
       marks: Sequence[str] = (), severity: str = "info", confidence: float = 0.0,
       title: str | None = None, fix: str = "") -> Pattern:
    return Pattern(
        id=pid, title=title or pid, status="test", kind=kind, cause=cause, stage=stage,
        marks=tuple(marks), severity=severity, confidence=confidence,
        sources=("nova-compute",), where={}, regex="x", caseless=False,
        summary=f"summary of {pid}", why=f"why of {pid}", fix=fix or f"fix of {pid}",
        references=(), versions=None, samples_match=(), samples_no_match=(), path=f"{pid}.yaml",
    )


#: the fake catalogue: (id -> Pattern). Event patterns carry confidence 0 like the real ones.
PATTERNS: dict[str, Pattern] = {p.id: p for p in (
    _p("EV_REQUESTING_CELL", stage="live_migrate", marks=["attempt"], severity="debug"),
    _p("EV_PLM_DATA", stage="pre_live_migration", marks=["pre_live_migration"], severity="debug"),
    _p("EV_PLM_RESULT", stage="pre_live_migration", marks=["pre_live_migration"],
       severity="debug"),
    _p("EV_TOOK", stage="pre_live_migration", marks=["pre_live_migration", "names_destination"]),
    _p("EV_MIGRATE_API", stage="live_migration_operation", marks=["transfer_start"],
       severity="debug"),
    _p("EV_PROGRESS", stage="live_migration_monitor", marks=["progress"]),
    _p("EV_LM_FAILURE", stage="live_migration_operation", marks=["failure"], severity="error",
       title="Live Migration failure"),
    _p("EV_OP_ABORTED", stage="live_migration_monitor", marks=["failure"], severity="error"),
    _p("EV_SUCCESS", stage="post_live_migration", marks=["success", "names_destination"]),
    _p("EV_POST_DEST", stage="post_live_migration_at_destination", marks=["post_migration"]),
    _p("EV_QEMU_START", stage="incoming_migration", marks=["host_identity"]),
    _p("EV_QEMU_INCOMING", stage="incoming_migration", marks=["incoming"]),
    _p("EV_QEMU_INITIATING", stage="live_migration_operation", marks=["transfer_start"]),
    _p("EV_QEMU_SHUTDOWN_FAILED", stage="incoming_migration"),
    _p("EV_LIFECYCLE", stage="lifecycle_event"),
    _p("EV_CANCELLED", stage="live_migration_monitor", marks=["aborted"], severity="warning"),
    _p("EV_DESTROYED", stage="rollback_live_migration_at_destination", marks=["rollback"]),
    _p("EV_SET_ERROR", stage="live_migrate", marks=["failure"], severity="warning"),
    _p("EV_LM_FAILED", stage="live_migration", marks=["failure"], severity="error"),
    _p("EV_MIGRATE_SERVER_FAILED", stage="live_migrate", marks=["precheck_failed"],
       severity="warning"),
    _p("CA_CONN_LOST", kind="cause", cause="service_interrupted", stage="service",
       severity="error", confidence=0.8, title="Connection to libvirt lost"),
    _p("CA_CONN_CLOSED", kind="cause", cause="service_interrupted", stage="incoming_migration",
       severity="warning", confidence=0.85, title="Connection controlling migration closed"),
    _p("CA_LOAD_STATE", kind="cause", cause="version_mismatch", stage="incoming_migration",
       severity="error", confidence=0.7, title="error while loading state"),
    _p("CA_LENGTH_MISMATCH", kind="cause", cause="version_mismatch",
       stage="incoming_migration", severity="error", confidence=0.85, title="Length mismatch"),
    _p("EV_JOB_FAILED", stage="live_migration_operation", marks=["failure"], severity="error"),
    _p("EV_SKIPPING_HOST", stage="live_migrate", marks=["precheck_failed", "names_destination"],
       severity="warning"),
    _p("CA_CPU_LIBVIRT", kind="cause", cause="cpu_incompatible", stage="incoming_migration",
       severity="error", confidence=0.95, title="Destination CPU lacks guest features",
       fix="Use a CPU model both hosts provide ([libvirt] cpu_mode = custom)."),
    _p("CA_QEMU_MONITOR", kind="cause", cause="qemu_crash", stage="incoming_migration",
       severity="error", confidence=0.5, title="QEMU unexpectedly closed the monitor"),
    _p("CA_LOCK", kind="cause", cause="libvirt_busy_lock", stage="live_migration_monitor",
       severity="error", confidence=0.7, title="cannot acquire state change lock"),
    _p("CA_TIMEOUT", kind="cause", cause="completion_timeout", stage="live_migration_monitor",
       severity="warning", confidence=0.8, title="Live migration not completed in time"),
    _p("CA_REFUSED", kind="cause", cause="migration_network_unreachable",
       stage="live_migration_operation", marks=["names_destination"], severity="error",
       confidence=0.9, title="Connection to the destination libvirtd refused"),
    _p("CA_APPARMOR", kind="cause", cause="security_policy_denied", stage="security",
       severity="error", confidence=0.85, title="AppArmor denied QEMU"),
)}


@dataclass
class FakeCatalogue:
    patterns: Mapping[str, Pattern]

    def get(self, pattern_id: str) -> Pattern:
        return self.patterns[pattern_id]


@dataclass
class FakeScanResult:
    findings: list[Finding] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    inputs: list[InputSummary] = field(default_factory=list)


class Factory:
    """``add(pattern_id, text, at=seconds, host=..., kind=...)`` appends one finding."""

    BASE = BASE
    UUID_A = UUID_A
    UUID_B = UUID_B
    REQ_1 = REQ_1
    REQ_2 = REQ_2

    def __init__(self) -> None:
        self.result = FakeScanResult()
        self.catalogue = FakeCatalogue(PATTERNS)
        self._lines: dict[str, int] = {}

    def cpu_chain(self, **kw: Any) -> None:
        cpu_chain(self, **kw)

    def completed_with_lock_noise(self, **kw: Any) -> None:
        completed_with_lock_noise(self, **kw)

    def also(self, finding: Finding, pattern_id: str,
             fields: Mapping[str, str] | None = None) -> Finding:
        extra = also(finding, pattern_id, fields)
        self.result.findings.append(extra)
        return extra

    def correlate(self, **kw: Any) -> Report:
        return correlate(self.result, self.catalogue, **kw)

    def add(self, pattern_id: str, text: str, *, at: float | None, host: str | None,
            kind: SourceKind = SourceKind.NOVA_COMPUTE, source: str | None = None,
            request_id: str | None = None, instance: str | None = None,
            fields: Mapping[str, str] | None = None, level: str | None = None,
            tz: str | None = None, logger: str | None = None,
            skew: float = 0.0, line: int | None = None) -> Finding:
        """``at`` is the true time (seconds after BASE); ``skew`` is the host clock's error."""
        src = source or f"{host or 'paste'}:{kind.value}.log"
        line = line if line is not None else self._lines.get(src, 100) + 1
        self._lines[src] = line
        ts = None if at is None else BASE + timedelta(seconds=at + skew)
        if tz is None:
            tz = "explicit" if kind in (SourceKind.LIBVIRTD, SourceKind.QEMU,
                                        SourceKind.AUDIT) else "assumed UTC+00:00 (--tz)"
        pat = PATTERNS[pattern_id]
        rec = Record(
            source=src, line=line, text=text, message=text, fmt="test", kind=kind,
            timestamp=ts, tz_assumption=tz if ts is not None else None, host=host,
            level=level or pat.severity.upper(), logger=logger, request_id=request_id,
            instance_uuid=instance,
        )
        finding = Finding(pattern_id=pattern_id, kind=pat.kind, cause=pat.cause,
                          stage=pat.stage, severity=pat.severity, record=rec,
                          fields=dict(fields or {}))
        self.result.findings.append(finding)
        return finding



def also(finding: Finding, pattern_id: str, fields: Mapping[str, str] | None = None) -> Finding:
    """A second finding on the same record (two patterns matched one line)."""
    pat = PATTERNS[pattern_id]
    return Finding(pattern_id=pattern_id, kind=pat.kind, cause=pat.cause, stage=pat.stage,
                   severity=pat.severity, record=finding.record, fields=dict(fields or {}))


QEMU_LOG = "compute-02:/var/log/libvirt/qemu/instance-0000002a.log"
CARRIER = ("Live Migration failure: internal error: QEMU unexpectedly closed the monitor "
           "(vm='instance-0000002a'): 2024-01-15T10:23:00.850000Z qemu-system-x86_64: "
           "terminating on signal 15 from pid 1234 (/usr/sbin/libvirtd): libvirt.libvirtError: "
           "internal error: QEMU unexpectedly closed the monitor (vm='instance-0000002a')")


def cpu_chain(make: Factory, *, dest_skew: float = 0.0, with_dest: bool = True,
              with_conductor: bool = True, req: str = REQ_1, uuid: str = UUID_A,
              t0: float = 0.0) -> None:
    """dest libvirt CPU error → dest QEMU exit → source 'monitor closed' carrier → rollback"""
    src, dst = "compute-01", "compute-02"
    if with_conductor:
        make.add("EV_REQUESTING_CELL",
                 "Requesting cell 3f1a0c55-0000-4000-8000-000000000001 while live migrating",
                 at=t0 - 5.0, host="ctl-01", kind=SourceKind.NOVA_CONDUCTOR, request_id=req,
                 instance=uuid, logger="nova.conductor.tasks.live_migrate")
    if with_dest:
        make.add("EV_PLM_DATA", "pre_live_migration data is LibvirtLiveMigrateData(bdms=[],"
                 "block_migration=False)", at=t0 - 2.0, host=dst, request_id=req,
                 skew=dest_skew)
        make.add("EV_PLM_RESULT", "pre_live_migration result data is LibvirtLiveMigrateData("
                 "bdms=[],block_migration=False)", at=t0 - 0.3, host=dst, request_id=req,
                 skew=dest_skew)
    make.add("EV_TOOK", "Took 2.10 seconds for pre_live_migration on destination host "
             "compute-02.", at=t0, host=src, request_id=req, instance=uuid,
             fields={"dest": dst, "duration": "2.10"})
    make.add("EV_MIGRATE_API", "About to invoke the migrate API", at=t0 + 0.2, host=src,
             request_id=req, instance=uuid, level="DEBUG")
    if with_dest:
        make.add("EV_QEMU_START", "starting up libvirt version: 8.0.0, package: 1ubuntu7.5, "
                 "qemu version: 6.2.0, kernel: 5.15.0-91-generic, hostname: compute-02",
                 at=t0 + 0.5, host=dst, kind=SourceKind.QEMU, source=QEMU_LOG,
                 fields={"hostname": dst}, skew=dest_skew)
        make.add("CA_CPU_LIBVIRT", "the CPU is incompatible with host CPU: Host CPU does not "
                 "provide required features: avx512f, avx512dq", at=t0 + 0.8, host=dst,
                 kind=SourceKind.LIBVIRTD, skew=dest_skew)
        make.add("EV_QEMU_SHUTDOWN_FAILED", "shutting down, reason=failed", at=t0 + 0.9,
                 host=dst, kind=SourceKind.QEMU, source=QEMU_LOG, skew=dest_skew)
        make.add("CA_QEMU_MONITOR", "internal error: QEMU unexpectedly closed the monitor "
                 "(vm='instance-0000002a'): qemu-system-x86_64: terminating on signal 15",
                 at=t0 + 0.95, host=dst, kind=SourceKind.LIBVIRTD, skew=dest_skew)
    carrier = make.add("EV_LM_FAILURE", CARRIER, at=t0 + 1.2, host=src, request_id=req,
                       instance=uuid, fields={"reason": CARRIER.split(": ", 1)[1]})
    make.result.findings.append(also(carrier, "CA_QEMU_MONITOR"))
    make.add("EV_OP_ABORTED", "Migration operation has aborted", at=t0 + 1.4, host=src,
             request_id=req, instance=uuid)


def completed_with_lock_noise(make: Factory, *, req: str = REQ_2, uuid: str = UUID_A,
                              t0: float = 0.0) -> None:
    src, dst = "compute-01", "compute-02"
    make.add("EV_TOOK", "Took 1.05 seconds for pre_live_migration on destination host "
             "compute-02.", at=t0, host=src, request_id=req, instance=uuid,
             fields={"dest": dst})
    make.add("EV_MIGRATE_API", "About to invoke the migrate API", at=t0 + 0.1, host=src,
             request_id=req, instance=uuid, level="DEBUG")
    make.add("CA_LOCK", "Timed out during operation: cannot acquire state change lock (held by "
             "monitor=remoteDispatchDomainGetJobStats)", at=t0 + 5.0, host=dst,
             kind=SourceKind.LIBVIRTD)
    make.add("EV_POST_DEST", "Post operation of migration started", at=t0 + 9.0, host=dst,
             request_id=req, instance=uuid)
    make.add("EV_SUCCESS", "Migrating instance to compute-02 finished successfully.",
             at=t0 + 10.0, host=src, request_id=req, instance=uuid, fields={"dest": dst})
