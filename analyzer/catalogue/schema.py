"""The pattern record: one YAML file in ``patterns/`` becomes one :class:`Pattern`.

File format (every key is validated by :mod:`analyzer.catalogue.loader`)::

    id: LM117                      # stable, never reused; file name starts with it: LM117-<slug>.yaml
    title: Live migration failed inside libvirt on the source host
    status: stable                 # stable | test | experimental | deprecated
    kind: cause                    # cause | event
    cause: other                   # kind=cause: a taxonomy id from shared/taxonomy.md
    stage: live_migration_operation  # Nova method name the line belongs to (required for events)
    marks: [failure]               # optional, closed set MARKS below: what the correlator learns
    severity: error                # critical | error | warning | info | debug
    confidence: 0.4                # kind=cause: how surely this line alone names the cause (0..1]
    sources: [nova-compute]        # SourceKind values whose lines it applies to
    where: {level: [ERROR], logger: [nova.virt.libvirt.driver]}   # optional record filters
    match:
      regex: 'Live Migration failure: (?P<reason>[^\\n]+)'   # line-safe dialect, named groups
      caseless: false
    summary: one sentence, what happened
    why: why it happens
    fix: |
      concrete commands / config
    references: [ 'nova/virt/libvirt/driver.py:11490 LOG.error("Live Migration failure: %s")' ]
    versions: 'Liberty..master'    # optional free text
    samples:
      match:
        - line: '<a full log line>'
          source: nova-compute     # optional SourceKind the sample is read as (default: auto)
          expect: {reason: '...', instance_uuid: '...'}   # captures or Record fields
      no_match:
        - '<a near-miss line>'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "KINDS",
    "STATUSES",
    "SEVERITIES",
    "MARKS",
    "STAGES",
    "TAXONOMY",
    "Sample",
    "Pattern",
]

KINDS = ("cause", "event")
STATUSES = ("stable", "test", "experimental", "deprecated")
SEVERITIES = ("critical", "error", "warning", "info", "debug")

#: What a line tells the correlator about the migration it belongs to.
MARKS = {
    "attempt": "a new live-migration attempt begins (conductor/API or first pre-check)",
    "precheck": "pre-check on source or destination",
    "precheck_failed": "a pre-check failed: nothing was transferred",
    "pre_live_migration": "destination prepares (pre_live_migration)",
    "transfer_start": "the data transfer begins (migrate API invoked, QEMU initiating)",
    "progress": "a progress sample (captures secs, mem and byte counts)",
    "postcopy": "switched to post-copy",
    "completed": "libvirt job completed / switch-over done",
    "post_migration": "post_live_migration or post_live_migration_at_destination",
    "success": "the terminal success line",
    "failure": "the migration failed (the line may carry the reason)",
    "rollback": "rollback ran",
    "aborted": "the job was cancelled / aborted",
    "host_identity": "the line names the host that wrote it (captures hostname)",
    "names_destination": "the line names the destination host (captures dest)",
    "names_source": "the line names the source host (captures src)",
    "incoming": "the destination side of the transfer (incoming QEMU)",
}

#: Stages are Nova's own method names (nova/compute/manager.py, nova/virt/libvirt/driver.py).
STAGES = (
    "live_migrate",  # conductor LiveMigrationTask / API
    "check_can_live_migrate_destination",
    "check_can_live_migrate_source",
    "pre_live_migration",
    "live_migration",  # compute manager live_migration / driver.live_migration
    "live_migration_operation",  # libvirt _live_migration_operation (virDomainMigrateToURI3)
    "live_migration_monitor",  # libvirt _live_migration_monitor (progress, timeouts)
    "incoming_migration",  # destination libvirt / QEMU receiving the stream
    "live_migration_force_complete",
    "live_migration_abort",
    "post_live_migration",
    "post_live_migration_at_destination",
    "rollback_live_migration",
    "rollback_live_migration_at_destination",
    "lifecycle_event",  # VM Started/Paused/Resumed/... (Lifecycle Event)
    "service",  # service or connection state (libvirt connection lost, restart)
    "security",  # MAC/DAC denials
)

#: shared/taxonomy.md, the closed set of root-cause ids.
TAXONOMY = (
    "cpu_incompatible",
    "shared_storage_misconfig",
    "version_mismatch",
    "migration_network_unreachable",
    "auth_transport_failure",
    "completion_timeout",
    "operator_abort",
    "security_policy_denied",
    "numa_hugepages_pinning",
    "destination_resources",
    "destination_service_down",
    "service_interrupted",
    "port_binding_failure",
    "volume_connection_failure",
    "pci_passthrough",
    "config_drive_unsupported",
    "libvirt_busy_lock",
    "instance_state_invalid",
    "qemu_crash",
    "migration_config_error",
    "hypervisor_bug",
    "stale_destination_state",
    "other",
    "none",
)


@dataclass(frozen=True, slots=True)
class Sample:
    line: str
    source: str | None = None
    expect: Mapping[str, str] = field(default_factory=dict)
    todo: bool = False  # a known miss, documented rather than hidden


@dataclass(frozen=True, slots=True)
class Pattern:
    id: str
    title: str
    status: str
    kind: str
    cause: str | None
    stage: str | None
    marks: tuple[str, ...]
    severity: str
    confidence: float
    sources: tuple[str, ...]
    where: Mapping[str, tuple[str, ...]]
    regex: str
    caseless: bool
    summary: str
    why: str
    fix: str
    references: tuple[str, ...]
    versions: str | None
    samples_match: tuple[Sample, ...]
    samples_no_match: tuple[Sample, ...]
    path: str
