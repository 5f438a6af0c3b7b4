#!/usr/bin/env python3
"""Seeded generator of a realistic mixed compute-host log for the matcher benchmark.

The mix follows shared/notes/matcher-benchmark.md (measured on real-looking compute hosts):
about 72% nova-compute oslo.log lines (periodic tasks, lockutils, AMQP, resource tracker, and
1-4 KB DEBUG dumps of network_info / Instance(...) objects), 22% libvirtd lines, 5% audit
lines, and about one live-migration episode per 8,000 lines, 35% of which fail with real
failure messages (templates from shared/notes/messages.md). Benign near-misses that real
hosts log are included (apparmor="STATUS" records, `During sync_power_state ... Skip.`), and
about 7% of nova lines carry UTF-8 network names.

Usage: python bench/gen_corpus.py OUT.log --size 1G [--seed 42]
"""

from __future__ import annotations

import argparse
import random
import uuid
from datetime import datetime, timedelta

NOISE_NOVA = [
    "DEBUG oslo_service.periodic_task [None req-{req} - - - - - -] Running periodic task ComputeManager._poll_rebooting_instances run_periodic_tasks /usr/lib/python3/dist-packages/oslo_service/periodic_task.py:210",
    "DEBUG oslo_service.periodic_task [None req-{req} - - - - - -] Running periodic task ComputeManager._poll_volume_usage run_periodic_tasks /usr/lib/python3/dist-packages/oslo_service/periodic_task.py:210",
    "DEBUG oslo_concurrency.lockutils [None req-{req} - - - - - -] Acquiring lock \"compute_resources\" by \"nova.compute.resource_tracker.ResourceTracker.update_available_resource\" inner /usr/lib/python3/dist-packages/oslo_concurrency/lockutils.py:404",
    "DEBUG oslo_concurrency.lockutils [None req-{req} - - - - - -] Lock \"compute_resources\" acquired by \"nova.compute.resource_tracker.ResourceTracker.update_available_resource\" :: waited 0.000s inner /usr/lib/python3/dist-packages/oslo_concurrency/lockutils.py:409",
    "INFO nova.compute.resource_tracker [None req-{req} - - - - - -] Final resource view was: name=compute-01 phys_ram=385563MB used_ram=73216MB phys_disk=1787GB used_disk=480GB total_vcpus=64 used_vcpus=36 pci_stats=[]",
    "DEBUG nova.compute.resource_tracker [None req-{req} - - - - - -] Auditing locally available compute resources for compute-01 (node: compute-01.example.org) update_available_resource /usr/lib/python3/dist-packages/nova/compute/resource_tracker.py:910",
    "INFO oslo.messaging._drivers.impl_rabbit [-] [{req}] Reconnected to AMQP server on 10.0.0.11:5672 via [amqp] client with port 41234.",
    "DEBUG nova.virt.libvirt.driver [None req-{req} - - - - - -] Hypervisor/Node resource view: name=compute-01 free_ram=312347MB free_disk=1306.2GB free_vcpus=28 pci_devices=[{{\"dev_id\": \"pci_0000_00_00_0\", \"address\": \"0000:00:00.0\", \"product_id\": \"1450\", \"vendor_id\": \"1022\", \"numa_node\": null, \"label\": \"label_1022_1450\", \"dev_type\": \"type-PCI\"}}] _report_hypervisor_resource_view /usr/lib/python3/dist-packages/nova/virt/libvirt/driver.py:9287",
    "DEBUG nova.network.neutron [None req-{req} {user} {proj} - - default default] [instance: {inst}] Updating instance_info_cache with network_info: [{{\"id\": \"{port}\", \"address\": \"fa:16:3e:{mac}\", \"network\": {{\"id\": \"{net}\", \"bridge\": \"br-int\", \"label\": \"测试网络 ñandú\", \"subnets\": [{{\"cidr\": \"10.10.0.0/24\", \"dns\": [], \"gateway\": {{\"address\": \"10.10.0.1\", \"type\": \"gateway\", \"version\": 4, \"meta\": {{}}}}, \"ips\": [{{\"address\": \"10.10.0.{ip}\", \"type\": \"fixed\", \"version\": 4, \"meta\": {{}}, \"floating_ips\": []}}], \"routes\": [], \"version\": 4, \"meta\": {{\"enable_dhcp\": true, \"dhcp_server\": \"10.10.0.2\"}}}}], \"meta\": {{\"injected\": false, \"tenant_id\": \"{proj}\", \"mtu\": 1450, \"physical_network\": null, \"tunneled\": true}}}}, \"type\": \"ovs\", \"details\": {{\"connectivity\": \"l2\", \"port_filter\": true, \"ovs_hybrid_plug\": false, \"datapath_type\": \"system\", \"bridge_name\": \"br-int\"}}, \"devname\": \"tap{port8}\", \"ovs_interfaceid\": \"{port}\", \"qbh_params\": null, \"qbg_params\": null, \"active\": true, \"vnic_type\": \"normal\", \"profile\": {{}}, \"preserve_on_delete\": false, \"delegate_create\": true, \"meta\": {{}}}}] update_instance_cache_with_nw_info /usr/lib/python3/dist-packages/nova/network/neutron.py:117{pad}",
]
NOISE_LIBVIRT = [
    "{lts}: {tid}: info : virObjectUnref:378 : OBJECT_UNREF: obj=0x7f3c{hex}",
    "{lts}: {tid}: debug : virThreadJobSet:93 : Thread {tid} (rpc-virtqemud) is now running job remoteDispatchDomainGetInfo",
    "{lts}: {tid}: debug : qemuDomainObjBeginJobInternal:9837 : Starting job: job=query agentJob=none asyncJob=none (vm=0x7f3c{hex} name=instance-0000{n4}, current job=none agentJob=none async=none)",
    "{lts}: {tid}: warning : virSecuritySELinuxRestoreFileLabel:1461 : cannot resolve symlink /var/lib/nova/instances/{inst}/disk.info: No such file or directory",
]
NOISE_AUDIT = [
    "type=SYSCALL msg=audit({epoch}:{serial}): arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c a1=55d0 a2=80000 a3=0 items=1 ppid=1 pid={pid} auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm=\"virtqemud\" exe=\"/usr/sbin/virtqemud\" key=(null)",
    "type=VIRT_RESOURCE msg=audit({epoch}:{serial}): pid={pid} uid=0 auid=4294967295 ses=4294967295 msg='virt=kvm resrc=disk reason=start vm=\"instance-0000{n4}\" uuid={inst} old-disk=\"?\" new-disk=\"/var/lib/nova/instances/{inst}/disk\" exe=\"/usr/sbin/libvirtd\" hostname=? addr=? terminal=? res=success'",
    "type=AVC msg=audit({epoch}:{serial}): apparmor=\"STATUS\" operation=\"profile_replace\" profile=\"unconfined\" name=\"libvirt-{inst}\" pid={pid} comm=\"apparmor_parser\"",
]
EPISODE_OK = [
    "INFO nova.compute.manager [None req-{req} {user} {proj} - - default default] [instance: {inst}] Took 2.31 seconds for pre_live_migration on destination host compute-02.",
    "DEBUG nova.virt.libvirt.driver [None req-{req} {user} {proj} - - default default] [instance: {inst}] Starting monitoring of live migration _live_migration /usr/lib/python3/dist-packages/nova/virt/libvirt/driver.py:11843",
    "DEBUG nova.virt.libvirt.driver [None req-{req} {user} {proj} - - default default] [instance: {inst}] About to invoke the migrate API _live_migration_operation /usr/lib/python3/dist-packages/nova/virt/libvirt/driver.py:11475",
    "INFO nova.virt.libvirt.driver [None req-{req} {user} {proj} - - default default] [instance: {inst}] Migration running for 30 secs, memory 41% remaining (bytes processed=3263744, remaining=1780432896, total=4295499776); disk 100% remaining (bytes processed=0, remaining=0, total=0).",
    "INFO nova.compute.manager [-] [instance: {inst}] VM Migration completed (Lifecycle Event)",
    "INFO nova.virt.libvirt.driver [None req-{req} {user} {proj} - - default default] [instance: {inst}] Migration operation has completed",
    "INFO nova.compute.manager [None req-{req} {user} {proj} - - default default] [instance: {inst}] _post_live_migration() is started..",
    "INFO nova.compute.manager [None req-{req} {user} {proj} - - default default] [instance: {inst}] Migrating instance to compute-02 finished successfully.",
]
FAILURES = [
    "ERROR nova.virt.libvirt.driver [None req-{req} {user} {proj} - - default default] [instance: {inst}] Live Migration failure: operation failed: guest CPU doesn't match specification: missing features: pcid,md-clear: libvirt.libvirtError: operation failed: guest CPU doesn't match specification: missing features: pcid,md-clear",
    "ERROR nova.virt.libvirt.driver [None req-{req} {user} {proj} - - default default] [instance: {inst}] Live Migration failure: Cannot recv data: Host key verification failed.: Connection reset by peer: libvirt.libvirtError: Cannot recv data: Host key verification failed.: Connection reset by peer",
    "ERROR nova.virt.libvirt.driver [None req-{req} {user} {proj} - - default default] [instance: {inst}] Live Migration failure: unable to connect to server at 'compute-02:49152': Connection refused: libvirt.libvirtError: unable to connect to server at 'compute-02:49152': Connection refused",
    "WARNING nova.virt.libvirt.migration [None req-{req} {user} {proj} - - default default] [instance: {inst}] Live migration not completed after 800 sec",
    "ERROR nova.virt.libvirt.driver [None req-{req} {user} {proj} - - default default] [instance: {inst}] Migration operation has aborted",
]
FAIL_LIBVIRT = [
    "{lts}: {tid}: error : qemuMigrationJobCheckStatus:1774 : operation failed: job 'migration out' failed: Unable to write to socket: Broken pipe",
    "{lts}: {tid}: error : virDomainObjBeginJobInternal:9872 : Timed out during operation: cannot acquire state change lock (held by monitor=remoteDispatchDomainMigratePerform3Params)",
]
FAIL_AUDIT = [
    "type=AVC msg=audit({epoch}:{serial}): apparmor=\"DENIED\" operation=\"open\" profile=\"libvirt-{inst}\" name=\"/var/lib/nova/instances/{inst}/disk\" pid={pid} comm=\"qemu-system-x86\" requested_mask=\"r\" denied_mask=\"r\" fsuid=64055 ouid=64055",
]


def _size(s: str) -> int:
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(float(s[:-1]) * mult[s[-1].upper()]) if s[-1].upper() in mult else int(s)


def generate(out: str, size: int, seed: int) -> tuple[int, int]:
    rnd = random.Random(seed)
    uuids = [str(uuid.UUID(int=rnd.getrandbits(128), version=4)) for _ in range(64)]
    t = datetime(2024, 7, 11, 0, 0, 0)
    written = lines = 0
    serial = 1000
    with open(out, "w", encoding="utf-8") as fh:
        block: list[str] = []
        while written < size:
            t += timedelta(milliseconds=rnd.randint(1, 40))
            ots = t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d} 7 "
            lts = t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d}+0000"
            serial += 1
            v = {
                "req": rnd.choice(uuids), "user": uuids[1].replace("-", ""), "proj": uuids[2].replace("-", ""),
                "inst": rnd.choice(uuids[:16]), "port": uuids[5], "port8": uuids[5][:11], "net": uuids[6],
                "mac": f"{rnd.randint(0, 255):02x}:{rnd.randint(0, 255):02x}:{rnd.randint(0, 255):02x}",
                "ip": rnd.randint(3, 250), "pad": "", "lts": lts, "tid": rnd.randint(1000, 9999),
                "hex": f"{rnd.getrandbits(32):08x}", "n4": f"{rnd.randint(0, 9999):04d}",
                "epoch": f"{t.timestamp():.3f}", "serial": serial, "pid": rnd.randint(1000, 60000),
            }
            r = rnd.random()
            if r < 1 / 8000:
                v["req"] = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
                ep = [ots + line.format(**v) for line in EPISODE_OK[:4]]
                if rnd.random() < 0.35:
                    ep.append(ots + rnd.choice(FAILURES).format(**v))
                    ep.append(rnd.choice(FAIL_LIBVIRT + FAIL_AUDIT).format(**v))
                else:
                    ep += [ots + line.format(**v) for line in EPISODE_OK[4:]]
                text = "\n".join(ep)
            elif r < 0.72:
                tpl = rnd.choice(NOISE_NOVA)
                if "network_info" in tpl:
                    v["pad"] = " " + "x" * rnd.randint(0, 2500)
                text = ots + tpl.format(**v)
            elif r < 0.945:
                text = rnd.choice(NOISE_LIBVIRT).format(**v)
            else:
                text = rnd.choice(NOISE_AUDIT).format(**v)
            block.append(text)
            if len(block) >= 5000:
                data = "\n".join(block) + "\n"
                fh.write(data)
                written += len(data.encode("utf-8"))
                lines += data.count("\n")
                block = []
        if block:
            data = "\n".join(block) + "\n"
            fh.write(data)
            lines += data.count("\n")
            written += len(data.encode("utf-8"))
    return written, lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--size", default="1G")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    n, lines = generate(a.out, _size(a.size), a.seed)
    print(f"wrote {a.out}: {n} bytes, {lines} lines")


if __name__ == "__main__":
    main()
