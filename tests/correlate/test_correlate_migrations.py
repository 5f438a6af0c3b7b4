"""Grouping into attempts, host roles, outcomes and missing evidence.

Findings are built by hand (``correlate_factory.py`` says why that faking is acceptable).
"""

from __future__ import annotations

from typing import Any

from analyzer.model import InputSummary, Outcome
from analyzer.records import Problem, SourceKind

from correlate_factory import Factory


def test_two_attempts_with_different_request_ids(make: Factory) -> None:
    make.cpu_chain(req=make.REQ_1, t0=0.0)
    make.completed_with_lock_noise(req=make.REQ_2, t0=300.0)
    report = make.correlate()
    assert [m.outcome for m in report.migrations] == [Outcome.ROLLED_BACK, Outcome.COMPLETED]
    first, second = report.migrations
    assert first.request_ids == (make.REQ_1,) and second.request_ids == (make.REQ_2,)
    assert first.id != second.id
    assert first.instance_uuid == second.instance_uuid == make.UUID_A
    assert first.root_cause is not None and first.root_cause.cause == "cpu_incompatible"
    assert second.root_cause is None
    # the lock line on compute-02 at t=305 belongs to the second attempt only
    assert any("state change lock" in e.text for e in second.timeline)
    assert not any("state change lock" in e.text for e in first.timeline)
    assert report.summary.migrations == 2 and report.summary.failed == 1
    assert report.summary.primary_cause == "cpu_incompatible"


def test_two_attempts_without_request_ids_split_on_marks(make: Factory) -> None:
    """A start line after a terminal line begins a new attempt of the same instance."""
    kw: dict[str, Any] = {"host": "compute-01", "instance": make.UUID_A}
    make.add("EV_MIGRATE_API", "About to invoke the migrate API", at=0.0, **kw)
    make.add("EV_LM_FAILURE", "Live Migration failure: operation failed: job 'migration out' "
             "failed: Unable to write to socket: Broken pipe", at=3.0, **kw,
             fields={"reason": "operation failed: job 'migration out' failed"})
    make.add("EV_MIGRATE_API", "About to invoke the migrate API", at=20.0, **kw)
    make.add("EV_SUCCESS", "Migrating instance to compute-03 finished successfully.", at=40.0,
             **kw, fields={"dest": "compute-03"})
    report = make.correlate()
    assert [m.outcome for m in report.migrations] == [Outcome.ROLLED_BACK, Outcome.COMPLETED]
    assert report.migrations[1].dest_host == "compute-03"
    assert [m.id for m in report.migrations] == ["6f1a2b3c-1", "6f1a2b3c-2"]


def test_many_instances_and_hosts_are_kept_apart(make: Factory) -> None:
    """Two concurrent migrations on different host pairs; host-only lines go to the right one."""
    make.cpu_chain(req=make.REQ_1, uuid=make.UUID_A)
    # a second instance, compute-03 -> compute-04, at the same time
    kw: dict[str, Any] = {"host": "compute-03", "request_id": make.REQ_2, "instance": make.UUID_B}
    make.add("EV_TOOK", "Took 1.00 seconds for pre_live_migration on destination host "
             "compute-04.", at=0.0, fields={"dest": "compute-04"}, **kw)
    make.add("EV_MIGRATE_API", "About to invoke the migrate API", at=0.1, **kw)
    make.add("CA_LOCK", "Timed out during operation: cannot acquire state change lock (held by "
             "monitor=remoteDispatchDomainGetJobStats)", at=2.0, host="compute-04",
             kind=SourceKind.LIBVIRTD)
    make.add("EV_SUCCESS", "Migrating instance to compute-04 finished successfully.", at=8.0,
             fields={"dest": "compute-04"}, **kw)
    report = make.correlate()
    by_uuid = {m.instance_uuid: m for m in report.migrations}
    assert set(by_uuid) == {make.UUID_A, make.UUID_B}
    a, b = by_uuid[make.UUID_A], by_uuid[make.UUID_B]
    assert (b.source_host, b.dest_host, b.outcome) == ("compute-03", "compute-04",
                                                      Outcome.COMPLETED)
    assert any("state change lock" in e.text for e in b.timeline)
    assert not any("state change lock" in e.text for e in a.timeline)
    assert not any(e.host in ("compute-03", "compute-04") for e in a.timeline)
    assert report.summary.primary_cause == "cpu_incompatible"
    assert report.summary.migrations == 2 and report.summary.failed == 1


def test_qemu_log_lines_join_through_the_instance_name(make: Factory) -> None:
    """A QEMU log outside the ±60 s host window still joins: its file name maps to the UUID."""
    make.add("EV_MIGRATE_API", "About to invoke the migrate API "
             "(guest instance-0000002a)", at=0.0, host="compute-01", request_id=make.REQ_1,
             instance=make.UUID_A)
    make.add("EV_LM_FAILURE", "Live Migration failure: internal error: QEMU unexpectedly "
             "closed the monitor (vm='instance-0000002a'): ", at=2.0, host="compute-01",
             request_id=make.REQ_1, instance=make.UUID_A)
    # the destination's clock is 200 s behind, and nothing names compute-02 as a host of the
    # attempt: only the guest name in the file name ties the line to it
    make.add("EV_QEMU_SHUTDOWN_FAILED", "shutting down, reason=failed", at=1.0,
             host="compute-02", kind=SourceKind.QEMU,
             source="compute-02:/var/log/libvirt/qemu/instance-0000002a.log", skew=-200.0)
    (m,) = make.correlate().migrations
    assert any(e.source.endswith("instance-0000002a.log") for e in m.timeline)
    assert "compute-02" in m.hosts


def test_in_progress_when_the_logs_end_inside_the_window(make: Factory) -> None:
    kw: dict[str, Any] = {"host": "compute-01", "request_id": make.REQ_1, "instance": make.UUID_A}
    make.add("EV_MIGRATE_API", "About to invoke the migrate API", at=0.0, **kw)
    for at, pct in ((30, 70), (60, 50)):
        make.add("EV_PROGRESS", f"Migration running for {at} secs, memory {pct}% remaining "
                 "(bytes processed=1, remaining=2, total=3)", at=float(at), **kw,
                 fields={"secs": str(at), "mem": str(pct)})
    (m,) = make.correlate().migrations
    assert m.outcome is Outcome.IN_PROGRESS
    assert m.root_cause is None


def test_unknown_when_the_logs_go_on_without_a_terminal_line(make: Factory) -> None:
    kw: dict[str, Any] = {"host": "compute-01", "request_id": make.REQ_1, "instance": make.UUID_A}
    make.add("EV_MIGRATE_API", "About to invoke the migrate API", at=0.0, **kw)
    make.add("EV_LIFECYCLE", "VM Started (Lifecycle Event)", at=3600.0, host="compute-01",
             instance=make.UUID_B)
    m = next(m for m in make.correlate().migrations if m.instance_uuid == make.UUID_A)
    assert m.outcome is Outcome.UNKNOWN


def test_precheck_failure_names_the_rejected_destination(make: Factory) -> None:
    make.add("EV_REQUESTING_CELL", "Requesting cell c1 while live migrating", at=0.0,
             host="ctl-01", kind=SourceKind.NOVA_CONDUCTOR, request_id=make.REQ_1,
             instance=make.UUID_A, logger="nova.conductor.tasks.live_migrate")
    make.add("EV_SKIPPING_HOST", "Skipping host: compute-07 because: Migration pre-check "
             "error: Unacceptable CPU info: CPU doesn't have compatibility.", at=1.0,
             host="ctl-01", kind=SourceKind.NOVA_CONDUCTOR, request_id=make.REQ_1,
             fields={"dest": "compute-07"}, logger="nova.conductor.tasks.live_migrate")
    (m,) = make.correlate().migrations
    assert m.outcome is Outcome.FAILED_PRECHECK
    assert m.dest_host == "compute-07" and m.source_host is None


def test_source_only_input_asks_for_the_destination_logs(make: Factory) -> None:
    make.cpu_chain(with_dest=False)
    (m,) = make.correlate().migrations
    assert m.dest_host == "compute-02"
    assert m.outcome is Outcome.ROLLED_BACK
    dest = [e for e in m.missing_evidence if "destination" in e.what]
    assert len(dest) == 1
    assert "compute-02" in dest[0].what
    assert "names the cause" in dest[0].why
    # one command, run on that host, that gets the destination's logs
    assert dest[0].how.startswith("on compute-02: `sudo sh -c 'tar -czf - ")
    assert "/var/log/libvirt/libvirtd.log" in dest[0].how
    assert "instance-0000002a.log" in dest[0].how  # the guest name is known from the carrier
    # QEMU exited and nothing explains it: its instance log and the audit log are asked for
    whats = " | ".join(e.what for e in m.missing_evidence)
    assert "/var/log/libvirt/qemu/instance-0000002a.log on compute-02" in whats
    assert "/var/log/audit/audit.log on compute-02" in whats
    assert m.root_cause is not None and m.root_cause.cause == "qemu_crash"


def test_with_both_hosts_nothing_is_asked_for_the_destination(make: Factory) -> None:
    make.cpu_chain()
    make.result.problems.append(Problem(source="compute-03:nova-compute.log",
                                        message="permission denied", severity="error"))
    (m,) = make.correlate().migrations
    assert not [e for e in m.missing_evidence if "destination" in e.what]
    unreadable = [e for e in m.missing_evidence if "compute-03:nova-compute.log" in e.what]
    assert unreadable and "permission denied" in unreadable[0].why


def test_debug_off_is_reported_when_no_progress_and_no_debug(make: Factory) -> None:
    kw: dict[str, Any] = {"host": "compute-01", "request_id": make.REQ_1, "instance": make.UUID_A}
    make.add("EV_TOOK", "Took 1.00 seconds for pre_live_migration on destination host "
             "compute-02.", at=0.0, fields={"dest": "compute-02"}, **kw)
    make.add("CA_TIMEOUT", "Live migration not completed after 800 sec", at=800.0, **kw)
    make.add("EV_LM_FAILURE", "Live Migration failure: operation aborted: job 'migration out' "
             "canceled by client", at=801.0, **kw)
    (m,) = make.correlate().migrations
    assert any("set [DEFAULT] debug = True" in e.how for e in m.missing_evidence)


def test_lines_other_operations_also_log_do_not_make_a_migration(make: Factory) -> None:
    """A delete ('Instance destroyed successfully.') and a failed boot ('Setting instance to
    ERROR state.') next to a real migration are not reported as failed migrations."""
    make.completed_with_lock_noise()
    make.add("EV_DESTROYED", "Instance destroyed successfully.", at=900.0, host="compute-02",
             request_id=make.REQ_1, instance=make.UUID_B)
    make.add("EV_SET_ERROR", "Setting instance to ERROR state.", at=950.0, host="ctl-01",
             kind=SourceKind.NOVA_CONDUCTOR, instance=make.UUID_B,
             request_id="req-33333333-3333-4333-8333-333333333333")
    report = make.correlate()
    assert [m.instance_uuid for m in report.migrations] == [make.UUID_A]
    assert report.summary.failed == 0 and report.summary.primary_cause == "none"


def test_rollback_without_a_failure_line_still_fails_the_attempt(make: Factory) -> None:
    """Only the destination's logs: it prepared, then rolled back; the failure line is absent."""
    kw: dict[str, Any] = {"host": "compute-02", "request_id": make.REQ_1}
    make.add("EV_PLM_DATA", "pre_live_migration data is LibvirtLiveMigrateData()", at=0.0, **kw)
    make.add("EV_DESTROYED", "Instance destroyed successfully.", at=5.0,
             instance=make.UUID_A, **kw)
    (m,) = make.correlate().migrations
    assert m.outcome is Outcome.ROLLED_BACK
    assert m.dest_host == "compute-02"


def test_a_log_that_begins_after_the_migration_began_is_flagged(make: Factory) -> None:
    make.cpu_chain()
    # compute-02's nova log starts (line 1) well after the attempt began: rotated
    make.add("EV_DESTROYED", "Instance destroyed successfully.", at=40.0, host="compute-02",
             request_id=make.REQ_1, instance=make.UUID_A, source="compute-02:nova-new.log",
             line=1)
    (m,) = make.correlate().migrations
    rotated = [e for e in m.missing_evidence if "compute-02:nova-new.log" in e.what]
    assert len(rotated) == 1
    assert "rotated" in rotated[0].why and "compute-02:nova-new.log.1" in rotated[0].how
    # a log whose first relevant line is deep inside it is not suspected
    assert not [e for e in m.missing_evidence if "compute-01:nova-compute.log" in e.what]


def test_silent_source_is_found_by_elimination(make: Factory) -> None:
    """A pre-check failure leaves no line of the request on the source; when the input holds
    exactly one other compute host, that is the source."""
    make.add("EV_SKIPPING_HOST", "Skipping host: compute-02 because: Migration pre-check "
             "error: CPU doesn't have compatibility.", at=1.0, host="ctl-01",
             kind=SourceKind.NOVA_CONDUCTOR, request_id=make.REQ_1, instance=make.UUID_A,
             fields={"dest": "compute-02"})
    make.result.inputs.append(InputSummary(name="c1/nova-compute.log", host="compute-01",
                                           kind="nova-compute", bytes_read=10, lines=1,
                                           findings=0))
    make.result.inputs.append(InputSummary(name="c2/nova-compute.log", host="compute-02",
                                           kind="nova-compute", bytes_read=10, lines=1,
                                           findings=0))
    (m,) = make.correlate().migrations
    assert (m.source_host, m.dest_host) == ("compute-01", "compute-02")
    # a third compute host makes it ambiguous: no guess
    make.result.inputs.append(InputSummary(name="c3/nova-compute.log", host="compute-03",
                                           kind="nova-compute", bytes_read=10, lines=1,
                                           findings=0))
    (m,) = make.correlate().migrations
    assert m.source_host is None


def test_a_stray_host_error_next_to_real_attempts_is_not_an_attempt(make: Factory) -> None:
    make.completed_with_lock_noise(t0=600.0)
    # ten minutes earlier, outside every attempt's window: an old client disconnect
    make.add("CA_CONN_LOST", "End of file while reading data: Input/output error", at=0.0,
             host="compute-02", kind=SourceKind.LIBVIRTD)
    report = make.correlate()
    assert [m.outcome for m in report.migrations] == [Outcome.COMPLETED]
    assert report.summary.primary_cause == "none"
    # alone, the same line is what was found: it is reported
    alone = Factory()
    alone.add("CA_CONN_LOST", "End of file while reading data: Input/output error", at=0.0,
              host="compute-02", kind=SourceKind.LIBVIRTD)
    (m,) = alone.correlate().migrations
    assert m.root_cause is not None and m.root_cause.cause == "service_interrupted"


def test_lines_every_host_logs_alone_are_no_migration(make: Factory) -> None:
    make.add("EV_LIFECYCLE", "VM Started (Lifecycle Event)", at=0.0, host="compute-01",
             instance=make.UUID_A)
    report = make.correlate()
    assert report.migrations == ()
    assert report.summary.headline == "No live-migration activity found in the input."
