"""libvirtd/virtqemud log files and QEMU instance logs (messages.md §1.2, §1.3)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import pytest

from analyzer.parsers import is_record_start
from analyzer.records import Record, SourceKind

ParseFn = Callable[..., Record]  # the `parse` fixture (conftest.py)

# §1.2 example line (virLogFormatString)
LIBVIRTD = ("2024-01-15 10:23:45.123+0000: 1234: error : qemuMigrationJobCheckStatus:1774 : "
            "operation failed: job 'migration out' failed: Unable to write to socket: Broken pipe")
# §1.3 header (dest: incoming QEMU start)
STARTING = ("2024-01-15 10:23:40.010+0000: starting up libvirt version: 8.0.0, package: "
            "1ubuntu7.10 (Ubuntu), qemu version: 6.2.0Debian 1:6.2+dfsg-2ubuntu6.16, kernel: "
            "5.15.0-91-generic, hostname: dst-host")
# §1.3 command line (older libvirt: one line)
CMDLINE = ("LC_ALL=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin /usr/bin/qemu-system-x86_64 "
           "-name guest=instance-0000002a,debug-threads=on -incoming defer")


@pytest.mark.parametrize(("word", "level"), [
    ("error", "ERROR"), ("warning", "WARNING"), ("info", "INFO"), ("debug", "DEBUG")])
def test_libvirtd_levels(parse: ParseFn, word: str, level: str) -> None:
    line = LIBVIRTD.replace(": error :", f": {word} :")
    r = parse(line)
    assert (r.fmt, r.kind, r.level) == ("libvirtd", SourceKind.LIBVIRTD, level)
    assert r.logger == "qemuMigrationJobCheckStatus"
    assert r.thread == "1234" and r.pid is None  # the number is a thread id (§1.2)
    assert r.message == ("operation failed: job 'migration out' failed: "
                         "Unable to write to socket: Broken pipe")
    assert r.timestamp == datetime(2024, 1, 15, 10, 23, 45, 123000, tzinfo=timezone.utc)
    assert r.tz_assumption == "explicit"


def test_libvirtd_line_without_function(parse: ParseFn) -> None:
    # row 171 `migration successfully aborted`, dest libvirtd log; VIR_LOG_REGEX has no func part
    r = parse("2024-01-15 10:24:10.300+0000: 5678: error : migration successfully aborted")
    assert r.logger is None and r.message == "migration successfully aborted"


def test_libvirtd_offset_converted_to_utc(parse: ParseFn) -> None:
    r = parse(LIBVIRTD.replace("+0000", "+0200"))
    assert r.timestamp == datetime(2024, 1, 15, 8, 23, 45, 123000, tzinfo=timezone.utc)


def test_qemu_header_sets_host_only_when_unknown(parse: ParseFn) -> None:
    r = parse(STARTING)
    assert (r.fmt, r.kind, r.host) == ("qemu", SourceKind.QEMU, "dst-host")
    assert r.timestamp == datetime(2024, 1, 15, 10, 23, 40, 10000, tzinfo=timezone.utc)
    assert parse(STARTING, host="compute-2").host == "compute-2"


@pytest.mark.parametrize("note", ["initiating migration", "shutting down, reason=migrated",
                                  "shutting down, reason=failed"])
def test_qemu_libvirt_notes(parse: ParseFn, note: str) -> None:
    # §1.3 / row 188 `%s: shutting down, reason=%s`
    r = parse(f"2024-01-15 10:24:10.150+0000: {note}")
    assert (r.fmt, r.kind, r.message, r.host) == ("qemu", SourceKind.QEMU, note, None)


@pytest.mark.parametrize("binary", ["qemu-system-x86_64", "qemu-kvm", "kvm", "qemu-system-aarch64"])
def test_qemu_stderr(parse: ParseFn, binary: str) -> None:
    # row 105 `load of migration failed: %s` (QEMU, dest)
    r = parse(f"2024-01-15T10:23:40.512345Z {binary}: load of migration failed: Invalid argument")
    assert (r.fmt, r.kind, r.logger) == ("qemu", SourceKind.QEMU, binary)
    assert r.message == "load of migration failed: Invalid argument"
    assert r.timestamp == datetime(2024, 1, 15, 10, 23, 40, 512345, tzinfo=timezone.utc)
    assert r.tz_assumption == "explicit"


def test_qemu_warning_level(parse: ParseFn) -> None:
    # row 72 `warning: host doesn't support requested feature: CPUID.%02XH:%s.%s [bit %d]`
    r = parse("2024-01-15T10:23:40.600000Z qemu-system-x86_64: warning: host doesn't support "
              "requested feature: CPUID.07H:EBX.avx512f [bit 16]")
    assert r.level == "WARNING"


def test_qemu_untimestamped_lines_are_record_starts(parse: ParseFn) -> None:
    # row 189 `terminating on signal %d from pid %d (%s)` printed before -msg timestamp=on
    bare = "qemu-system-x86_64: terminating on signal 15 from pid 1234 (/usr/sbin/libvirtd)"
    assert is_record_start(bare) and is_record_start(CMDLINE)
    r = parse(bare)
    assert (r.fmt, r.kind, r.timestamp, r.logger) == ("qemu", SourceKind.QEMU, None, "qemu-system-x86_64")
    assert r.message == "terminating on signal 15 from pid 1234 (/usr/sbin/libvirtd)"
    c = parse(CMDLINE)
    assert (c.fmt, c.kind, c.message) == ("qemu", SourceKind.QEMU, CMDLINE)


def test_qemu_multiline_command_line(parse: ParseFn) -> None:
    # newer libvirt writes one argument per line, continued with " \"
    lines = ["LC_ALL=C \\", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin \\",
             "/usr/bin/qemu-system-x86_64 \\", "-name guest=instance-0000002a,debug-threads=on \\",
             "-incoming defer"]
    assert is_record_start(lines[0])
    assert not any(is_record_start(x) for x in lines[1:])
    r = parse(lines)
    assert r.message.endswith("-incoming defer") and r.message.count("\n") == 4


def test_qemu_tail_embedded_in_nova_and_libvirtd_logs() -> None:
    # §1.3: libvirt copies the QEMU log tail into its error (row 182); in a nova or libvirtd
    # log those lines are continuation lines, in the QEMU log they are records.
    tail = ["2024-01-15T10:23:40.512345Z qemu-system-x86_64: load of migration failed: Invalid argument",
            "2024-01-15 10:23:40.600+0000: shutting down, reason=failed",
            "qemu-system-x86_64: terminating on signal 15 from pid 1234 (/usr/sbin/libvirtd)"]
    for kind in (SourceKind.NOVA_COMPUTE, SourceKind.LIBVIRTD, SourceKind.NOVA):
        assert not any(is_record_start(x, kind) for x in tail), kind
    assert all(is_record_start(x) for x in tail)
    for other in (SourceKind.QEMU, SourceKind.UNKNOWN, SourceKind.JOURNAL):
        assert all(is_record_start(x, other) for x in tail), other
    # the real starts of those logs stay starts
    assert is_record_start(LIBVIRTD, SourceKind.LIBVIRTD)
    assert is_record_start("2024-07-11 22:10:59.946 2 ERROR nova.virt.libvirt.driver [-] x",
                           SourceKind.NOVA_COMPUTE)


def test_libvirt_error_with_qemu_tail_joined(parse: ParseFn) -> None:
    # row 182 `internal error: QEMU unexpectedly closed the monitor (vm='%s'): %s`
    first = ("2024-01-15 10:23:40.700+0000: 4321: error : qemuProcessReportLogError:2000 : internal "
             "error: QEMU unexpectedly closed the monitor (vm='instance-0000002a'): "
             "2024-01-15T10:23:40.512345Z qemu-system-x86_64: Unknown savevm section or instance "
             "'0000:00:05.0/virtio-balloon' 0. Make sure that your current VM setup matches your "
             "saved VM setup, including any hotplugged devices")
    second = "2024-01-15T10:23:40.512400Z qemu-system-x86_64: load of migration failed: Invalid argument"
    assert not is_record_start(second, SourceKind.LIBVIRTD)
    r = parse([first, second], kind=SourceKind.LIBVIRTD)
    assert r.fmt == "libvirtd" and r.message.endswith("load of migration failed: Invalid argument")
    assert r.timestamp == datetime(2024, 1, 15, 10, 23, 40, 700000, tzinfo=timezone.utc)
