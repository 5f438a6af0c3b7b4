"""Root-cause ranking: the first specific failure wins over the loudest symptom.

Findings are built by hand (``correlate_factory.py`` says why that faking is acceptable).
"""

from __future__ import annotations

from typing import Any

from analyzer.model import Outcome
from analyzer.records import SourceKind

from correlate_factory import Factory


def test_cpu_chain_across_two_hosts_names_cpu_incompatible(make: Factory) -> None:
    make.cpu_chain()
    report = make.correlate()

    assert len(report.migrations) == 1
    m = report.migrations[0]
    assert (m.source_host, m.dest_host) == ("compute-01", "compute-02")
    assert m.instance_uuid == make.UUID_A
    assert m.request_ids == (make.REQ_1,)
    assert m.outcome is Outcome.ROLLED_BACK

    rc = m.root_cause
    assert rc is not None and rc.cause == "cpu_incompatible"
    assert rc.pattern_id == "CA_CPU_LIBVIRT"
    assert rc.fix.startswith("Use a CPU model")
    # cause line first (the destination libvirt error), then the symptom chain
    assert rc.evidence[0].role == "cause" and rc.evidence[0].host == "compute-02"
    assert "the CPU is incompatible" in rc.evidence[0].text
    symptoms = [e for e in rc.evidence if e.role == "symptom"]
    assert any("Live Migration failure" in e.text for e in symptoms)
    assert any(e.host == "compute-02" and "closed the monitor" in e.text for e in symptoms)

    crash = [v for v in m.secondary_causes if v.cause == "qemu_crash"]
    assert len(crash) == 1
    why = crash[0].ranked_lower_because or ""
    assert why.startswith("generic symptom: QEMU exiting is explained by the earlier "
                          "cpu_incompatible error on compute-02"), why
    # the same symptom on both hosts corroborates it, but it still ranks below the cause
    assert crash[0].confidence > 0.5

    # the libvirtd and QEMU lines without instance/request were attached to this attempt
    sources = {e.source for e in m.timeline}
    assert "compute-02:libvirtd.log" in sources
    assert "compute-02:/var/log/libvirt/qemu/instance-0000002a.log" in sources
    roles = {(e.host, e.role) for e in m.timeline}
    assert ("ctl-01", "conductor") in roles and ("compute-02", "destination") in roles

    # live migration cannot work across these CPUs: the cold-migration fallback is offered
    assert rc.fix in m.remediation
    assert any("openstack server migrate --os-compute-api-version 2.56 --host compute-02 "
               f"{make.UUID_A}" in step for step in m.remediation)

    assert report.summary.primary_cause == "cpu_incompatible"
    assert report.summary.failed == 1 and report.summary.migrations == 1
    assert "cpu_incompatible" in report.summary.headline
    assert "compute-02 (destination)" in report.summary.headline


def test_specific_cause_wins_even_when_logged_after_the_symptom(make: Factory) -> None:
    """Order on the wall clock alone must not promote the generic symptom."""
    make.cpu_chain()
    # move the CPU error after everything else: still the only specific explanation
    cpu = next(f for f in make.result.findings if f.pattern_id == "CA_CPU_LIBVIRT")
    make.result.findings.remove(cpu)
    make.add("CA_CPU_LIBVIRT", cpu.record.text, at=1.3, host="compute-02",
             kind=SourceKind.LIBVIRTD)
    m = make.correlate().migrations[0]
    assert m.root_cause is not None and m.root_cause.cause == "cpu_incompatible"
    crash = next(v for v in m.secondary_causes if v.cause == "qemu_crash")
    assert "earlier" not in (crash.ranked_lower_because or "")
    assert (crash.ranked_lower_because or "").startswith("generic symptom")


def test_completed_migration_with_lock_noise_is_no_failure(make: Factory) -> None:
    make.completed_with_lock_noise()
    report = make.correlate()
    (m,) = report.migrations
    assert m.outcome is Outcome.COMPLETED
    assert m.root_cause is None
    assert m.remediation == ()
    lock = [v for v in m.secondary_causes if v.cause == "libvirt_busy_lock"]
    assert len(lock) == 1
    assert (lock[0].ranked_lower_because or "").startswith("seen only on a completed migration")
    assert report.summary.primary_cause == "none"
    assert report.summary.failed == 0
    assert report.summary.causes == {}
    assert m.missing_evidence == ()  # nothing to chase on a success


def test_lock_error_on_a_failed_migration_is_a_cause(make: Factory) -> None:
    """The same lock line is not dismissed when the attempt actually failed."""
    make.add("EV_MIGRATE_API", "About to invoke the migrate API", at=0.0, host="compute-01",
             request_id=make.REQ_1, instance=make.UUID_A)
    reason = ("Timed out during operation: cannot acquire state change lock (held by "
              "monitor=remoteDispatchDomainMigratePerform3Params)")
    carrier = make.add("EV_LM_FAILURE", f"Live Migration failure: {reason}", at=1.0,
                       host="compute-01", request_id=make.REQ_1, instance=make.UUID_A,
                       fields={"reason": reason})
    make.also(carrier, "CA_LOCK")
    m = make.correlate().migrations[0]
    assert m.outcome is Outcome.ROLLED_BACK
    assert m.root_cause is not None and m.root_cause.cause == "libvirt_busy_lock"


def test_single_pasted_line_without_host_or_time(make: Factory) -> None:
    reason = ("operation failed: Failed to connect to remote libvirt URI qemu+tcp://compute-02/"
              "system: unable to connect to server at 'compute-02:16509': Connection refused")
    carrier = make.add("EV_LM_FAILURE", f"Live Migration failure: {reason}", at=None,
                       host=None, fields={"reason": reason})
    make.also(carrier, "CA_REFUSED", {"dest": "compute-02"})
    report = make.correlate()
    (m,) = report.migrations
    assert m.instance_uuid is None and m.request_ids == ()
    assert m.start is None and m.end is None
    assert m.source_host is None
    assert m.dest_host == "compute-02"  # named by the captured `dest`
    assert m.root_cause is not None
    assert m.root_cause.cause == "migration_network_unreachable"
    # the carrier's reason matched a cause pattern, so it is not also an unexplained `other`
    assert [v.cause for v in m.secondary_causes] == []
    assert m.outcome is Outcome.ROLLED_BACK  # `Live Migration failure` is logged mid-transfer
    assert report.summary.primary_cause == "migration_network_unreachable"


def test_carrier_with_unknown_reason_becomes_other_with_the_reason(make: Factory) -> None:
    reason = "internal error: unable to execute QEMU command 'migrate': some new failure"
    make.add("EV_MIGRATE_API", "About to invoke the migrate API", at=0.0, host="compute-01",
             request_id=make.REQ_1, instance=make.UUID_A)
    make.add("EV_LM_FAILURE", f"Live Migration failure: {reason}", at=2.0, host="compute-01",
             request_id=make.REQ_1, instance=make.UUID_A, fields={"reason": reason})
    make.add("EV_OP_ABORTED", "Migration operation has aborted", at=2.5, host="compute-01",
             request_id=make.REQ_1, instance=make.UUID_A)
    m = make.correlate().migrations[0]
    rc = m.root_cause
    assert rc is not None and rc.cause == "other"
    assert reason in rc.summary
    assert rc.evidence[0].role == "cause" and "Live Migration failure" in rc.evidence[0].text
    # the bare "has aborted" line is a symptom of it, not a second unexplained cause
    assert [e.role for e in rc.evidence if "has aborted" in e.text] == ["symptom"]
    assert m.secondary_causes == ()


def test_cancel_without_earlier_failure_is_operator_abort(make: Factory) -> None:
    make.add("EV_MIGRATE_API", "About to invoke the migrate API", at=0.0, host="compute-01",
             request_id=make.REQ_1, instance=make.UUID_A)
    for at, pct in ((5, 80), (10, 60), (15, 40)):
        make.add("EV_PROGRESS", f"Migration running for {at} secs, memory {pct}% remaining "
                 "(bytes processed=1, remaining=2, total=3); disk 0% remaining (bytes "
                 "processed=0, remaining=0, total=0).", at=float(at), host="compute-01",
                 request_id=make.REQ_1, instance=make.UUID_A,
                 fields={"secs": str(at), "mem": str(pct)})
    reason = "operation aborted: job 'migration out' canceled by client"
    make.add("EV_LM_FAILURE", f"Live Migration failure: {reason}", at=17.0, host="compute-01",
             request_id=make.REQ_1, instance=make.UUID_A, fields={"reason": reason})
    make.add("EV_CANCELLED", "Migration operation was cancelled", at=17.5, host="compute-01",
             request_id=make.REQ_1, instance=make.UUID_A)
    m = make.correlate().migrations[0]
    assert m.outcome is Outcome.ABORTED
    assert m.root_cause is not None and m.root_cause.cause == "operator_abort"


def test_cancel_after_timeout_is_completion_timeout_not_operator_abort(make: Factory) -> None:
    make.add("EV_MIGRATE_API", "About to invoke the migrate API", at=0.0, host="compute-01",
             request_id=make.REQ_1, instance=make.UUID_A)
    make.add("CA_TIMEOUT", "Live migration not completed after 800 sec", at=800.0,
             host="compute-01", request_id=make.REQ_1, instance=make.UUID_A)
    reason = "operation aborted: job 'migration out' canceled by client"
    make.add("EV_LM_FAILURE", f"Live Migration failure: {reason}", at=801.0,
             host="compute-01", request_id=make.REQ_1, instance=make.UUID_A,
             fields={"reason": reason})
    m = make.correlate().migrations[0]
    assert m.outcome is Outcome.ABORTED  # Nova's timeout action aborted the job
    assert m.root_cause is not None and m.root_cause.cause == "completion_timeout"
    # the cancel is Nova's own timeout action: part of completion_timeout (one of its
    # symptom lines), not a second cause
    assert "operator_abort" not in {v.cause for v in m.secondary_causes}
    assert any(e.role == "symptom" and "canceled by client" in e.text
               for e in m.root_cause.evidence)


def test_cancel_long_after_the_timeout_is_not_novas_own_action(make: Factory) -> None:
    """Nova aborts right after logging the timeout; a cancel minutes later (timeout action
    force_complete, then someone aborted) stays a cause of its own, ranked lower."""
    make.add("EV_MIGRATE_API", "About to invoke the migrate API", at=0.0, host="compute-01",
             request_id=make.REQ_1, instance=make.UUID_A)
    make.add("CA_TIMEOUT", "Live migration not completed after 800 sec", at=800.0,
             host="compute-01", request_id=make.REQ_1, instance=make.UUID_A)
    reason = "operation aborted: job 'migration out' canceled by client"
    make.add("EV_LM_FAILURE", f"Live Migration failure: {reason}", at=1100.0,
             host="compute-01", request_id=make.REQ_1, instance=make.UUID_A,
             fields={"reason": reason})
    m = make.correlate().migrations[0]
    assert m.root_cause is not None and m.root_cause.cause == "completion_timeout"
    abort = [v for v in m.secondary_causes if v.cause == "operator_abort"]
    assert abort and "after an earlier completion_timeout" in (abort[0].ranked_lower_because
                                                                or "")


def test_lower_confidence_and_later_causes_are_explained(make: Factory) -> None:
    make.add("EV_MIGRATE_API", "About to invoke the migrate API", at=0.0, host="compute-01",
             request_id=make.REQ_1, instance=make.UUID_A)
    make.add("CA_APPARMOR", 'apparmor="DENIED" operation="open" profile="libvirt-'
             f'{make.UUID_A}" name="/var/lib/nova/instances/{make.UUID_A}/disk" pid=4321 '
             'comm="qemu-system-x86" requested_mask="r" denied_mask="r"', at=0.5,
             host="compute-02", kind=SourceKind.AUDIT)
    make.add("CA_CPU_LIBVIRT", "the CPU is incompatible with host CPU: Host CPU does not "
             "provide required features: avx512f", at=3.0, host="compute-02",
             kind=SourceKind.LIBVIRTD)
    make.add("EV_LM_FAILURE", "Live Migration failure: operation failed: job 'migration out' "
             "failed: Unable to write to socket", at=4.0, host="compute-01",
             request_id=make.REQ_1, instance=make.UUID_A,
             fields={"dest": "compute-02"})
    m = make.correlate(hosts={}).migrations[0]
    # the AppArmor line carries the UUID in its profile name: it joins without a request id
    assert m.root_cause is not None and m.root_cause.cause == "security_policy_denied"
    cpu = next(v for v in m.secondary_causes if v.cause == "cpu_incompatible")
    assert cpu.ranked_lower_because == "appeared after the primary cause"


def test_lead_evidence_is_the_clearly_strongest_line_else_the_earliest(make: Factory) -> None:
    kw: dict[str, Any] = {"host": "compute-02", "kind": SourceKind.QEMU,
                          "source": "compute-02:/var/log/libvirt/qemu/instance-0000002a.log"}
    make.add("EV_MIGRATE_API", "About to invoke the migrate API", at=0.0, host="compute-01",
             request_id=make.REQ_1, instance=make.UUID_A, fields={"dest": "compute-02"})
    # QEMU wrote these slightly out of order: the generic line carries the earlier stamp
    make.add("CA_LOAD_STATE", "qemu-system-x86_64: error while loading state for instance 0x0 "
             "of device 'ram'", at=1.0000, **kw)
    make.add("CA_LENGTH_MISMATCH", "qemu-system-x86_64: Length mismatch: /rom@etc/acpi/tables: "
             "0x40000 in != 0x20000", at=1.0002, **kw)
    make.add("EV_LM_FAILURE", "Live Migration failure: internal error: qemu unexpectedly closed "
             "the monitor (vm='instance-0000002a')", at=1.1, host="compute-01",
             request_id=make.REQ_1, instance=make.UUID_A)
    rc = make.correlate().migrations[0].root_cause
    assert rc is not None and rc.cause == "version_mismatch"
    assert "Length mismatch" in rc.evidence[0].text  # 0.85 beats 0.7 despite the order
    assert "error while loading state" in rc.evidence[1].text


def test_near_equal_lines_lead_in_time_order(make: Factory) -> None:
    kw: dict[str, Any] = {"request_id": make.REQ_1, "instance": make.UUID_A}
    make.add("EV_MIGRATE_API", "About to invoke the migrate API", at=0.0, host="compute-01",
             fields={"dest": "compute-02"}, **kw)
    make.add("CA_CONN_LOST", "Connection event '0' reason 'Connection to libvirt lost: 1'",
             at=5.0, host="compute-01", **kw)
    make.add("CA_CONN_CLOSED", "The connection which controls migration of domain "
             "instance-0000002a was closed", at=5.003, host="compute-02",
             kind=SourceKind.LIBVIRTD)
    make.add("EV_LM_FAILED", "Live migration failed.: libvirt.libvirtError: internal error: "
             "client socket is closed", at=6.0, host="compute-01", **kw)
    m = make.correlate().migrations[0]
    assert m.root_cause is not None and m.root_cause.cause == "service_interrupted"
    assert m.root_cause.evidence[0].host == "compute-01"
    assert "Connection to libvirt lost" in m.root_cause.evidence[0].text
    # Nova set the instance to ERROR without a rollback: where the guest runs is not known
    assert m.outcome is Outcome.UNKNOWN
    assert make.correlate().summary.primary_cause == "service_interrupted"


def test_conductor_precheck_carrier_gives_other_with_its_reason(make: Factory) -> None:
    reason = ("Migration pre-check error: Unable to migrate 6f1a2b3c to compute-02: some "
              "check nobody wrote a pattern for")
    make.add("EV_MIGRATE_SERVER_FAILED", f"Failed to compute_task_migrate_server: {reason}",
             at=0.0, host="ctl-01", kind=SourceKind.NOVA_CONDUCTOR, request_id=make.REQ_1,
             fields={"reason": reason})
    make.add("EV_SET_ERROR", "Setting instance to ACTIVE state.", at=0.1, host="ctl-01",
             kind=SourceKind.NOVA_CONDUCTOR, request_id=make.REQ_1, instance=make.UUID_A)
    m = make.correlate().migrations[0]
    assert m.outcome is Outcome.FAILED_PRECHECK
    assert m.root_cause is not None and m.root_cause.cause == "other"
    assert reason in m.root_cause.summary
    assert "compute_task_migrate_server" in m.root_cause.evidence[0].text


def test_lock_held_by_the_migration_is_someone_elses_timeout(make: Factory) -> None:
    """A monitoring agent's query times out because the *migration* holds the domain."""
    make.add("CA_LOCK", 'level=warn warn="failed to get DomainBlockStats" '
             'domain=instance-00001045 msg="Timed out during operation: cannot acquire state '
             'change lock (held by monitor=remoteDispatchDomainMigratePrepare3Params)"',
             at=0.0, host="xfusion-3", kind=SourceKind.SYSLOG)
    report = make.correlate()
    (m,) = report.migrations
    assert m.root_cause is None
    (lock,) = m.secondary_causes
    assert (lock.ranked_lower_because or "").startswith("the migration job itself holds")
    assert report.summary.primary_cause == "none"
