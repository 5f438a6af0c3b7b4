"""Audit and kernel lines: AppArmor, SELinux (messages.md §1.4, rows 190 and 192)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import pytest

from analyzer.parsers import is_record_start
from analyzer.records import Record, SourceKind

ParseFn = Callable[..., Record]  # the `parse` fixture (conftest.py)

UUID = "6f1a2b3c-4d5e-4f6a-8b9c-0d1e2f3a4b5c"
AT = datetime(2024, 1, 15, 10, 23, 45, 123000, tzinfo=timezone.utc)  # audit(1705314225.123:…)
# row 190 (AppArmor file denial), profile libvirt-<uuid>
APPARMOR = (f'apparmor="DENIED" operation="open" profile="libvirt-{UUID}" '
            f'name="/var/lib/nova/instances/{UUID}/disk" pid=4321 comm="qemu-system-x86" '
            'requested_mask="r" denied_mask="r" fsuid=64055 ouid=64055')
# row 192 (SELinux AVC; double spaces are real)
SELINUX = ('avc:  denied  { read write } for  pid=4321 comm="qemu-kvm" name="disk" dev="0:52" '
           'ino=1234 scontext=system_u:system_r:svirt_t:s0:c123,c456 '
           'tcontext=system_u:object_r:nfs_t:s0 tclass=file permissive=0')


def test_auditd_apparmor(parse: ParseFn) -> None:
    line = f"type=AVC msg=audit(1705314225.123:456): {APPARMOR}"
    assert is_record_start(line)
    r = parse(line, name="/var/log/audit/audit.log")
    assert (r.fmt, r.kind, r.logger) == ("audit", SourceKind.AUDIT, "AVC")
    assert r.timestamp == AT and r.tz_assumption == "explicit"
    assert r.instance_uuid == UUID
    assert r.message == APPARMOR


def test_auditd_selinux_has_no_instance(parse: ParseFn) -> None:
    r = parse(f"type=AVC msg=audit(1705314225.123:789): {SELINUX}")
    assert r.fmt == "audit" and r.instance_uuid is None and r.timestamp == AT
    assert r.message == SELINUX


def test_auditd_node_prefix_gives_host(parse: ParseFn) -> None:
    r = parse(f"node=compute-2 type=AVC msg=audit(1705314225.123:456): {APPARMOR}")
    assert r.host == "compute-2" and r.kind is SourceKind.AUDIT


def test_bare_selinux_line(parse: ParseFn) -> None:
    assert is_record_start(SELINUX)
    r = parse(SELINUX)
    assert (r.fmt, r.kind, r.timestamp) == ("audit", SourceKind.AUDIT, None)


@pytest.mark.parametrize("prefix", ["", "kernel: "])
def test_kernel_ring_buffer_audit(parse: ParseFn, prefix: str) -> None:
    # §1.4 "kernel: [12345.678901] audit: type=1400 audit(…): apparmor=…"
    line = f"{prefix}[12345.678901] audit: type=1400 audit(1705314225.123:456): {APPARMOR}"
    assert is_record_start(line)
    r = parse(line, name="/var/log/kern.log")
    assert (r.fmt, r.kind) == ("kernel", SourceKind.KERNEL)
    assert r.timestamp == AT and r.tz_assumption == "explicit"
    assert r.instance_uuid == UUID
    assert r.message == f"audit: type=1400 audit(1705314225.123:456): {APPARMOR}"


def test_kernel_line_without_epoch_has_no_time(parse: ParseFn) -> None:
    # seconds since boot are not a wall-clock time
    r = parse("[12345.678901] kvm [4321]: vcpu0, guest rIP: 0xffffffff8106f9b4 unhandled rdmsr: 0x140")
    assert r.kind is SourceKind.KERNEL and r.timestamp is None


def test_kernel_prefix_only(parse: ParseFn) -> None:
    r = parse("kernel: kvm: exiting hardware virtualization")
    assert (r.fmt, r.kind, r.message) == ("kernel", SourceKind.KERNEL, "kvm: exiting hardware virtualization")


def test_dmesg_human_time_is_local(parse: ParseFn) -> None:
    r = parse("[Mon Jan 15 10:23:45 2024] audit: type=1400 apparmor=\"STATUS\"")
    assert r.timestamp == datetime(2024, 1, 15, 10, 23, 45, tzinfo=timezone.utc)
    assert r.tz_assumption == "assumed UTC (--tz)"


def test_profile_uuid_only_from_libvirt_profiles(parse: ParseFn) -> None:
    other = APPARMOR.replace(f"libvirt-{UUID}", "/usr/sbin/libvirtd")
    assert parse(f"type=AVC msg=audit(1705314225.123:456): {other}").instance_uuid is None
