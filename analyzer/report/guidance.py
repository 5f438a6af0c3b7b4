"""Generic prevention guidance per root cause, keyed by taxonomy id.

The catalogue's ``fix`` says how to repair *this* failure; this table says how to keep the
whole class of failure from recurring. It is data (one entry per id of the closed taxonomy in
``analyzer/catalogue/schema.py``; a test keeps the two in step), rendered by the markdown and
HTML reporters under "Prevention".
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["PREVENTION", "prevention_for"]

PREVENTION: Mapping[str, tuple[str, ...]] = {
    "cpu_incompatible": (
        "Group hosts with the same CPU generation into host aggregates and keep migrations "
        "inside an aggregate.",
        "Pin a common guest CPU model (`[libvirt] cpu_mode = custom`, `cpu_models` set to the "
        "oldest generation in the pool) instead of host-model/host-passthrough on mixed pools.",
        "Keep kernel, microcode and QEMU versions aligned across compute nodes so CPU "
        "features do not appear or disappear on one host.",
    ),
    "shared_storage_misconfig": (
        "Decide per pool whether instances live on shared storage or migrate with block "
        "migration, and make `[libvirt] images_type` and the instances path consistent.",
        "Monitor that the shared instances mount is present on every compute node.",
    ),
    "version_mismatch": (
        "Upgrade compute nodes of a migration pool together; do not migrate from a newer to "
        "an older QEMU/libvirt.",
        "Pin `hw_machine_type` to a machine type every host in the pool supports.",
    ),
    "migration_network_unreachable": (
        "Check libvirtd reachability (16509/16514/22) and the QEMU migration port range "
        "(49152-49215) between all compute pairs after every network or firewall change.",
        "Set `live_migration_inbound_addr` explicitly to an address resolvable from every "
        "other compute node.",
    ),
    "auth_transport_failure": (
        "Distribute SSH host keys / TLS certificates with configuration management and "
        "alert on certificate expiry.",
        "Test `virsh -c qemu+tls://<dest>/system list` (or the ssh URI) from each source as "
        "part of host commissioning.",
    ),
    "completion_timeout": (
        "Enable post-copy (`live_migration_permit_post_copy`) or auto-converge for "
        "write-heavy guests, and size the migration network for their dirty rate.",
        "Tune `live_migration_completion_timeout` and `live_migration_timeout_action` to the "
        "workload instead of relying on the defaults.",
    ),
    "operator_abort": (
        "Record who aborts a migration and why (change ticket), so an abort is not mistaken "
        "for a failure.",
    ),
    "security_policy_denied": (
        "Keep SELinux/AppArmor policy packages and file labels identical on all compute "
        "nodes; relabel shared storage after mounting.",
        "Alert on AVC / AppArmor DENIED records for libvirt and QEMU.",
    ),
    "numa_hugepages_pinning": (
        "Reserve the same huge page sizes and dedicated CPU sets on all hosts of a NUMA-aware "
        "aggregate, and leave headroom for incoming pinned guests.",
    ),
    "destination_resources": (
        "Keep spare capacity in every aggregate for evacuations and migrations, and watch "
        "Placement inventory and allocation ratios.",
    ),
    "destination_service_down": (
        "Monitor nova-compute service state and RabbitMQ connectivity; disable a compute "
        "service before maintenance so the scheduler skips it.",
    ),
    "service_interrupted": (
        "Do not restart nova-compute or libvirtd while migrations are running; drain the "
        "host (`openstack server migration list --host`) before maintenance.",
    ),
    "port_binding_failure": (
        "Check that the Neutron agent/OVN chassis and the bridges named in the domain XML "
        "exist on every compute node before putting it in service.",
        "Alert on `network-vif-plugged` timeouts.",
    ),
    "volume_connection_failure": (
        "Verify storage connectivity (iSCSI/FC/RBD, multipath, libvirt Ceph secret) from "
        "every compute node as part of commissioning.",
    ),
    "pci_passthrough": (
        "Keep instances with PCI, SR-IOV or vGPU devices out of live-migration runbooks, or "
        "use a Nova release and device type that supports migrating them.",
    ),
    "config_drive_unsupported": (
        "Use `config_drive_format = vfat` or the metadata service for instances that must "
        "be live-migratable.",
    ),
    "libvirt_busy_lock": (
        "Avoid running snapshots, backups or other libvirt jobs on an instance while it "
        "migrates; serialise maintenance automation per instance.",
    ),
    "instance_state_invalid": (
        "Check instance state (vm_state, task_state, lock, snapshots) before starting a "
        "migration, and clear stuck task states through the API, not the database.",
    ),
    "qemu_crash": (
        "Collect the QEMU instance log from both hosts for every failed migration, so the "
        "real reason behind a QEMU exit is visible.",
        "Keep QEMU at a maintained version and watch for crash dumps (`coredumpctl`).",
    ),
    "migration_config_error": (
        "Manage `[libvirt] live_migration_*` options and `vncserver_listen` centrally and "
        "keep them identical across a pool.",
    ),
    "hypervisor_bug": (
        "Track the upstream libvirt/QEMU bug and apply the fixed package on all hosts; until "
        "then avoid the affected feature.",
    ),
    "stale_destination_state": (
        "Clean up leftovers of failed migrations on the destination (instance directory, "
        "defined domains) as part of the rollback runbook.",
    ),
    "other": (
        "Enable debug logging for nova-compute and libvirt on both hosts and retry, so the "
        "next failure can be attributed.",
    ),
    "none": (),
}


def prevention_for(cause: str) -> tuple[str, ...]:
    """Guidance for one taxonomy id (empty for ``none`` or an id this table does not know)."""
    return PREVENTION.get(cause, ())
