"""Wrapped lines: syslog, journalctl text, docker/podman timestamps, grep output, ANSI, CLI."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest

from analyzer.parsers import is_record_start, kind_for_path
from analyzer.records import Record, SourceKind

ParseFn = Callable[..., Record]  # the `parse` fixture (conftest.py)

INST = "7b7edae6-2b8c-4a3e-9c1d-0e5f6a7b8c9d"
REQ = "req-590602d0-9d5a-4c1e-9d3b-4c5d86bbf0c5"
# §1.1 Zed+ example, and (row 117) `Live Migration failure: %s`
OSLO = (f"2024-07-11 22:10:59.946 2 ERROR nova.virt.libvirt.driver [None {REQ} u p - - default "
        f"default] [instance: {INST}] Live Migration failure: operation failed: domain is not running")
# §1.1 "containers often go to journald/syslog: Jul 11 18:10:59 host nova_compute[129891]: …"
SYSLOG_OSLO = f"Jul 11 18:10:59 host nova_compute[129891]: {OSLO}"
# §1.2 journald/syslog outputs carry only the message text
SYSLOG_LIBVIRT = "Jul 11 18:10:58 compute-1 libvirtd[984]: internal error: End of file from qemu monitor"


# ---------------------------------------------------------------- syslog

def test_syslog_wrapped_oslo_takes_year_from_inner_line(parse: ParseFn) -> None:
    r = parse(SYSLOG_OSLO + "#033[00m", name="/var/log/syslog", kind=SourceKind.SYSLOG)
    assert r.fmt == "oslo" and r.kind is SourceKind.NOVA_COMPUTE
    assert r.host == "host"
    assert r.timestamp == datetime(2024, 7, 11, 22, 10, 59, 946000, tzinfo=timezone.utc)
    assert r.tz_assumption == "assumed UTC (--tz)"
    assert (r.request_id, r.instance_uuid, r.level) == (REQ, INST, "ERROR")
    assert r.message.endswith("domain is not running")  # #033[00m residue removed
    assert "#033" not in r.text


def test_syslog_without_inner_stamp_assumes_year(parse: ParseFn) -> None:
    r = parse(SYSLOG_LIBVIRT, name="/var/log/syslog", tz=timezone(timedelta(hours=-4)))
    now = datetime.now(timezone.utc)
    assert r.fmt == "syslog" and r.kind is SourceKind.LIBVIRTD
    assert (r.host, r.logger, r.pid) == ("compute-1", "libvirtd", 984)
    assert r.message == "internal error: End of file from qemu monitor"
    assert r.timestamp is not None
    year = r.timestamp.year
    assert year in (now.year, now.year - 1)
    assert r.timestamp <= now + timedelta(days=2)  # never put in the future
    assert (r.timestamp.month, r.timestamp.day, r.timestamp.hour) == (7, 11, 22)  # 18:10 -04:00
    assert r.tz_assumption == f"assumed -04:00 (--tz), year assumed {year}"


@pytest.mark.parametrize(("program", "kind"), [
    ("nova-compute", SourceKind.NOVA_COMPUTE), ("nova_compute", SourceKind.NOVA_COMPUTE),
    ("nova-conductor", SourceKind.NOVA_CONDUCTOR), ("nova-api", SourceKind.NOVA_API),
    ("nova-scheduler", SourceKind.NOVA_SCHEDULER), ("libvirtd", SourceKind.LIBVIRTD),
    ("virtqemud", SourceKind.LIBVIRTD), ("virtproxyd", SourceKind.LIBVIRTD),
    ("kernel", SourceKind.KERNEL), ("sshd", SourceKind.SYSLOG),
])
def test_syslog_program_kind(parse: ParseFn, program: str, kind: SourceKind) -> None:
    line = f"Jan  5 01:02:03 compute-1 {program}[42]: something happened"
    assert is_record_start(line)
    assert parse(line).kind is kind


def test_syslog_program_beats_oslo_logger(parse: ParseFn) -> None:
    # row 227: nova.scheduler.utils logs in the conductor; the program says so
    inner = "2024-07-11 22:11:00.000 5 WARNING nova.scheduler.utils [-] Failed to compute_task_migrate_server: x"
    r = parse(f"Jul 11 18:11:00 ctl-1 nova-conductor[77]: {inner}")
    assert r.kind is SourceKind.NOVA_CONDUCTOR and r.logger == "nova.scheduler.utils"


def test_syslog_kernel_audit(parse: ParseFn) -> None:
    # §1.4 kernel AppArmor line through syslog: the audit epoch beats the syslog clock
    line = ('Jan 15 10:23:46 dst-host kernel: [12345.678901] audit: type=1400 audit(1705314225.123:456): '
            'apparmor="DENIED" operation="open" profile="libvirt-6f1a2b3c-4d5e-4f6a-8b9c-0d1e2f3a4b5c" '
            'name="/x" pid=4321 comm="qemu-system-x86"')
    r = parse(line)
    assert (r.fmt, r.kind, r.host) == ("kernel", SourceKind.KERNEL, "dst-host")
    assert r.timestamp == datetime(2024, 1, 15, 10, 23, 45, 123000, tzinfo=timezone.utc)
    assert r.tz_assumption == "explicit"
    assert r.instance_uuid == "6f1a2b3c-4d5e-4f6a-8b9c-0d1e2f3a4b5c"


def test_rsyslog_escaped_newlines_decoded_in_message(parse: ParseFn) -> None:
    # row 61 multi-line message through rsyslog (control characters escaped as #ooo)
    line = ("Jul 11 18:10:50 dst nova-compute[9]: 2024-07-11 22:10:50.100 2 ERROR nova.virt.libvirt.driver "
            "[-] CPU doesn't have compatibility.#012#0120#012#012Refer to http://x")
    r = parse(line)
    assert r.message == "CPU doesn't have compatibility.\n\n0\n\nRefer to http://x"
    assert r.text == line


def test_syslog_stated_host_wins(parse: ParseFn) -> None:
    assert parse(SYSLOG_LIBVIRT, host="compute-9").host == "compute-9"


# ---------------------------------------------------------------- journalctl text / RFC 5424

@pytest.mark.parametrize("stamp", [
    "2024-07-11T22:10:59.946123+00:00",  # short-iso-precise (newer systemd), canonical form
    "2024-07-11T22:10:59.946123+0000",  # short-iso-precise (systemd 252)
    "2024-07-11T18:10:59.946123-04:00",  # RFC 5424-ish with a local offset
])
def test_journal_iso_lines(parse: ParseFn, stamp: str) -> None:
    line = f"{stamp} compute-1 libvirtd[984]: internal error: End of file from qemu monitor"
    assert is_record_start(line)
    r = parse(line, name="journal:/var/log/journal", kind=SourceKind.JOURNAL)
    assert (r.fmt, r.kind, r.host, r.pid) == ("journal", SourceKind.LIBVIRTD, "compute-1", 984)
    assert r.timestamp == datetime(2024, 7, 11, 22, 10, 59, 946123, tzinfo=timezone.utc)
    assert r.tz_assumption == "explicit"


def test_journal_iso_wrapping_oslo_uses_explicit_journal_time(parse: ParseFn) -> None:
    r = parse(f"2024-07-11T22:10:59.950001+00:00 compute-1 nova-compute[129891]: {OSLO}",
              tz=timezone(timedelta(hours=5)))
    assert r.fmt == "oslo" and r.request_id == REQ
    assert r.timestamp == datetime(2024, 7, 11, 22, 10, 59, 950001, tzinfo=timezone.utc)
    assert r.tz_assumption == "explicit"


def test_journal_continuation_lines_are_deindented(parse: ParseFn) -> None:
    # journalctl aligns further lines of a multi-line MESSAGE under the message (row 61 text)
    first = "2026-01-02T03:04:06.123456+00:00 compute-1 nova-compute[42]: CPU doesn't have compatibility."
    pad = " " * first.index("CPU")
    rest = [pad, pad + "0", pad, pad + "Refer to x", pad + "  indented"]
    assert not any(is_record_start(x) for x in rest)
    r = parse([first, *rest])
    assert r.message == "CPU doesn't have compatibility.\n\n0\n\nRefer to x\n  indented"


def test_journal_kernel_line_without_pid(parse: ParseFn) -> None:
    r = parse("2024-01-15T10:23:45.200000+00:00 dst-host kernel: kvm: exiting hardware virtualization")
    assert (r.kind, r.host, r.pid, r.fmt) == (SourceKind.KERNEL, "dst-host", None, "kernel")


# ---------------------------------------------------------------- docker / podman

def test_docker_timestamps_nanoseconds(parse: ParseFn) -> None:
    line = f"2024-07-11T22:10:59.946123456Z {OSLO}"
    assert is_record_start(line)
    r = parse(line, name="docker://compute-02/nova_compute", kind=SourceKind.NOVA_COMPUTE)
    assert r.fmt == "oslo" and r.instance_uuid == INST
    assert r.timestamp == datetime(2024, 7, 11, 22, 10, 59, 946123, tzinfo=timezone.utc)
    assert r.tz_assumption == "explicit"


def test_podman_without_fraction_raw_inner(parse: ParseFn) -> None:
    r = parse("2024-07-11T22:10:59Z + sudo -E kolla_set_configs",
              name="podman://c/nova_compute", kind=SourceKind.NOVA_COMPUTE)
    assert (r.fmt, r.kind, r.message) == ("docker", SourceKind.NOVA_COMPUTE, "+ sudo -E kolla_set_configs")
    assert r.timestamp == datetime(2024, 7, 11, 22, 10, 59, tzinfo=timezone.utc)


def test_cri_log_file_line(parse: ParseFn) -> None:
    # podman k8s-file / containerd / CRI-O: "<RFC3339Nano with offset> <stream> <F|P> <line>"
    r = parse(f"2024-07-11T18:10:59.946123456-04:00 stdout F {OSLO}", kind=SourceKind.NOVA_COMPUTE)
    assert r.fmt == "oslo" and r.request_id == REQ
    assert r.timestamp == datetime(2024, 7, 11, 22, 10, 59, 946123, tzinfo=timezone.utc)
    raw = parse("2024-07-11T22:10:59.946123456Z stderr F + sudo -E kolla_set_configs")
    assert (raw.fmt, raw.message) == ("docker", "+ sudo -E kolla_set_configs")


def test_docker_wrapping_libvirtd_keeps_libvirt_time(parse: ParseFn) -> None:
    line = ("2024-01-15T10:23:45.200000001Z 2024-01-15 10:23:45.123+0000: 1234: error : "
            "qemuMigrationJobCheckStatus:1774 : operation failed: job 'migration out' unexpectedly failed")
    r = parse(line, kind=SourceKind.LIBVIRTD)
    assert r.fmt == "libvirtd"
    assert r.timestamp == datetime(2024, 1, 15, 10, 23, 45, 123000, tzinfo=timezone.utc)


# ---------------------------------------------------------------- grep output and ANSI

@pytest.mark.parametrize("prefix", [
    "/var/log/nova/nova-compute.log:",  # grep -r
    "/var/log/nova/nova-compute.log:1234:",  # grep -rn
    "nova/nova-compute.log.1:77:",  # relative path, rotated file
    "1234:",  # grep -n on one file
])
def test_grep_prefixes_stripped(parse: ParseFn, prefix: str) -> None:
    line = prefix + OSLO
    assert is_record_start(line)
    r = parse(line, name="-")
    assert r.text == OSLO and r.fmt == "oslo" and r.request_id == REQ
    assert r.kind is SourceKind.NOVA_COMPUTE


def test_grep_context_continuations(parse: ParseFn) -> None:
    # grep -rn -A2 on row 61's multi-line message: match line then context lines
    path = "/var/log/nova/nova-compute.log"
    first = f"{path}:40:2024-07-11 22:10:50.100 2 ERROR nova.virt.libvirt.driver [-] CPU doesn't have compatibility."
    rest = [f"{path}-41-", f"{path}-42-0", "--"]  # "--": grep's group separator
    assert is_record_start(first) and not any(is_record_start(x) for x in rest)
    r = parse([first, *rest], name="-")
    assert r.message == "CPU doesn't have compatibility.\n\n0"
    assert path not in r.text


def test_grep_path_hints_kind_only_for_stdin(parse: ParseFn) -> None:
    line = ("/var/log/nova/nova-conductor.log:9:2024-07-11 22:11:00.000 5 ERROR "
            "oslo_messaging.rpc.server [-] Exception during message handling")
    assert parse(line, name="-").kind is SourceKind.NOVA_CONDUCTOR
    assert parse(line, name="<stdin>").kind is SourceKind.NOVA_CONDUCTOR
    assert parse(line, name="bundle.txt").kind is SourceKind.NOVA  # a file: path not trusted
    qemu = ("/var/log/libvirt/qemu/instance-0000002a.log:3:qemu-system-x86_64: terminating on "
            "signal 15 from pid 1234 (/usr/sbin/libvirtd)")
    assert parse(qemu, name="-").kind is SourceKind.QEMU


def test_oslo_colons_are_not_a_grep_prefix(parse: ParseFn) -> None:
    # a naive "path:" strip would cut "2024-07-11 22:" off an oslo line
    assert parse(OSLO).text == OSLO


def test_path_with_dash_numbers(parse: ParseFn) -> None:
    line = "/srv/logs/compute-1-2024/nova-compute.log-20240712:5:" + OSLO
    assert parse(line, name="-").text == OSLO


def test_ansi_colour_from_grep(parse: ParseFn) -> None:
    line = ("\x1b[35m\x1b[K/var/log/nova/nova-compute.log\x1b[m\x1b[K\x1b[36m\x1b[K:\x1b[m\x1b[K"
            + OSLO.replace("Live Migration failure", "\x1b[01;31m\x1b[KLive Migration failure\x1b[m\x1b[K"))
    assert is_record_start(line)
    r = parse(line, name="-")
    assert r.text == OSLO and "\x1b" not in r.message


def test_oslo_colour_handler(parse: ParseFn) -> None:
    # §1.1 colour codes: ColorHandler appends ESC[00m (stdout/stderr logging)
    r = parse(OSLO + "\x1b[00m")
    assert r.message.endswith("domain is not running")


# ---------------------------------------------------------------- raw and CLI

@pytest.mark.parametrize(("line", "kind"), [
    ("error: operation failed: domain is not running", SourceKind.CLI),  # virsh
    ("error: Failed to start domain 'instance-0000002a'", SourceKind.CLI),
    ("ERROR (BadRequest): No valid host was found. (HTTP 400)", SourceKind.CLI),  # novaclient, row 78
    ("some unrelated text", SourceKind.UNKNOWN),
])
def test_raw_and_cli(parse: ParseFn, line: str, kind: SourceKind) -> None:
    r = parse(line, name="-")
    assert (r.fmt, r.kind, r.message, r.text) == ("raw", kind, line, line)
    assert r.level == ("ERROR" if kind is SourceKind.CLI else None)


def test_raw_line_gets_stated_kind(parse: ParseFn) -> None:
    assert parse("some unrelated text", kind=SourceKind.NOVA_COMPUTE).kind is SourceKind.NOVA_COMPUTE


@pytest.mark.parametrize(("path", "kind"), [
    ("/var/log/nova/nova-compute.log-20240712.gz", SourceKind.NOVA_COMPUTE),  # rotated
    ("nova-compute.log.1", SourceKind.NOVA_COMPUTE),
    ("/var/log/kolla/nova/nova-conductor.log", SourceKind.NOVA_CONDUCTOR),
    ("/var/log/libvirt/virtqemud.log", SourceKind.LIBVIRTD),
    ("/var/log/libvirt/qemu/instance-0000002a.log", SourceKind.QEMU),
    ("/var/log/audit/audit.log.3", SourceKind.AUDIT),
    ("kern.log.2.gz", SourceKind.KERNEL),
    ("/var/log/messages", SourceKind.SYSLOG),
    ("/home/me/notes.txt", SourceKind.UNKNOWN),
])
def test_kind_for_path(path: str, kind: SourceKind) -> None:
    assert kind_for_path(path) is kind
