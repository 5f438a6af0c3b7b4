"""analyzer.sources.journal against real journal files and a live journald.

Fixture journals are written by ``systemd-journal-remote`` from the export format with
fixed timestamps (messages rendered from /work/shared/notes/messages.md); the live test
writes to the journald namespace ``ci`` that ``.ci/services-up.sh`` starts, with the
stdout-stream protocol systemd uses for services.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from systemd import journal

from analyzer.records import LogSource, Problem, SourceKind
from analyzer.sources.journal import journal_sources
from tests.sources._common import read_all, split_by_name

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BASE = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
BOOT = "0123456789abcdef0123456789abcdef"
MID1 = "11111111111111111111111111111111"
INSTANCE = "7b7edae6-0000-4000-8000-000000000001"
REQ = "[None req-590602d0-1111-4c7e-9a51-2b7f0c4d9e10 - - - - - -]"
CPU_MSG = ("CPU doesn't have compatibility.\n\n0\n\n"
           "Refer to http://libvirt.org/html/libvirt-libvirt-host.html#virCPUCompareResult")
APPARMOR = ('audit: type=1400 audit(1767323047.623:456): apparmor="DENIED" operation="open" '
            f'profile="libvirt-{INSTANCE}" name="/var/lib/nova/instances/{INSTANCE}/disk" pid=4321 '
            'comm="qemu-system-x86" requested_mask="r" denied_mask="r" fsuid=64055 ouid=64055')


def _e(secs: float, host: str, message: str, **fields: str) -> dict[str, str]:
    us = (BASE - EPOCH) // timedelta(microseconds=1) + round(secs * 1_000_000)
    entry = {"__REALTIME_TIMESTAMP": str(us), "__MONOTONIC_TIMESTAMP": str(1_000_000 + us % 10**9),
             "_BOOT_ID": BOOT, "_HOSTNAME": host, "PRIORITY": "6"}
    entry.update(fields)
    entry["MESSAGE"] = message
    return entry


def _nova(level: str, logger: str, msg: str, at: str = "2026-01-02 03:04:05.123") -> str:
    return f"{at} 1234 {level} {logger} {REQ} [instance: {INSTANCE}] {msg}"


# compute-1: two files in one sosreport-like directory var/log/journal/<machine-id>/
C1_SYSTEM = [
    _e(0, "compute-1", _nova("INFO", "nova.compute.manager",
                             "Took 2.31 seconds for pre_live_migration on destination host compute-2."),
       _SYSTEMD_UNIT="nova-compute.service", SYSLOG_IDENTIFIER="nova-compute", _PID="1234", _TRANSPORT="stdout"),
    _e(1, "compute-1", "operation failed: job 'migration out' failed: Unable to write to socket: Broken pipe",
       _SYSTEMD_UNIT="libvirtd.service", SYSLOG_IDENTIFIER="libvirtd", _PID="984", _TRANSPORT="journal",
       PRIORITY="3"),
    _e(2, "compute-1", "unrelated entry of another unit",
       _SYSTEMD_UNIT="cron.service", SYSLOG_IDENTIFIER="CRON", _PID="555", _TRANSPORT="syslog"),
    _e(3.000001, "compute-1", _nova("ERROR", "nova.virt.libvirt.driver", CPU_MSG),
       _SYSTEMD_UNIT="openstack-nova-compute.service", SYSLOG_IDENTIFIER="nova-compute", _PID="1234",
       _TRANSPORT="journal"),
]
C1_USER = [
    _e(4, "compute-1", _nova("ERROR", "nova.virt.libvirt.driver",
                             "Live Migration failure: operation failed: job 'migration out' failed: Unable to "
                             "write to socket: Broken pipe: libvirt.libvirtError: operation failed: job 'migration "
                             "out' failed: Unable to write to socket: Broken pipe"),
       SYSLOG_IDENTIFIER="nova_compute", _TRANSPORT="syslog"),
    _e(5, "compute-1", _nova("DEBUG", "nova.conductor.tasks.live_migrate",
                             "Start binding ports on destination host: compute-2"),
       _SYSTEMD_UNIT="nova-conductor.service", SYSLOG_IDENTIFIER="nova-conductor", _PID="77", _TRANSPORT="stdout"),
    _e(6, "compute-1", "internal error: End of file from qemu monitor (vm='instance-0000002a')",
       CONTAINER_NAME="nova_libvirt", SYSLOG_IDENTIFIER="3f2a1b9c0d4e", _TRANSPORT="journal"),
]
# compute-2: one loose journal file
C2 = [
    _e(1.5, "compute-2", "internal error: End of file from qemu monitor (vm='instance-0000002a')",
       _SYSTEMD_UNIT="virtqemud.service", SYSLOG_IDENTIFIER="virtqemud", _PID="2001", _TRANSPORT="journal"),
    _e(2.5, "compute-2", APPARMOR, _TRANSPORT="kernel", PRIORITY="5"),
    _e(3.5, "compute-2", _nova("INFO", "nova.compute.manager", "Post operation of migration started"),
       _SYSTEMD_UNIT="nova-compute.service", SYSLOG_IDENTIFIER="nova-compute", _PID="4242", _TRANSPORT="stdout"),
]


def canonical(entries: Sequence[Mapping[str, str]]) -> bytes:
    """The expected text, built independently of the module under test."""
    out = []
    for e in sorted(entries, key=lambda e: int(e["__REALTIME_TIMESTAMP"])):
        ts = (EPOCH + timedelta(microseconds=int(e["__REALTIME_TIMESTAMP"]))).isoformat(timespec="microseconds")
        ident = e.get("SYSLOG_IDENTIFIER") or ("kernel" if e.get("_TRANSPORT") == "kernel" else "-")
        pid = f"[{e['_PID']}]" if "_PID" in e else ""
        out.append(f"{ts} {e['_HOSTNAME']} {ident}{pid}: {e['MESSAGE']}\n")
    return "".join(out).encode()


@pytest.fixture(scope="module")
def journals(tmp_path_factory: pytest.TempPathFactory,
             make_journal_file: Callable[[Sequence[Mapping[str, str]], Path], Path]) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("journal")
    sos = root / "sosreport-compute-1" / "var" / "log" / "journal"
    make_journal_file(C1_SYSTEM, sos / MID1 / "system.journal")
    make_journal_file(C1_USER, sos / MID1 / "user-1000.journal")
    c2 = make_journal_file(C2, root / "compute-2" / "compute-2.journal")
    return {"root": root, "sos": sos, "c2": c2}


def _run(paths: Sequence[str] | None, **kw: Any) -> tuple[dict[str, LogSource], list[Problem]]:
    return split_by_name(list(journal_sources(paths, since=kw.get("since"), until=kw.get("until"))))


def test_one_source_per_host_and_unit_group(journals: dict[str, Path]) -> None:
    sos, c2 = str(journals["sos"]), str(journals["c2"])
    sources, problems = _run([sos, c2])
    assert problems == []
    got = {n: (s.info.host, s.info.kind, s.info.origin) for n, s in sources.items()}
    assert got == {
        f"journal:{sos}#compute-1/nova-compute": ("compute-1", SourceKind.NOVA_COMPUTE, f"journal:{sos}"),
        f"journal:{sos}#compute-1/nova-conductor": ("compute-1", SourceKind.NOVA_CONDUCTOR, f"journal:{sos}"),
        f"journal:{sos}#compute-1/libvirtd": ("compute-1", SourceKind.LIBVIRTD, f"journal:{sos}"),
        f"journal:{c2}#compute-2/nova-compute": ("compute-2", SourceKind.NOVA_COMPUTE, f"journal:{c2}"),
        f"journal:{c2}#compute-2/libvirtd": ("compute-2", SourceKind.LIBVIRTD, f"journal:{c2}"),
        f"journal:{c2}#compute-2/kernel": ("compute-2", SourceKind.KERNEL, f"journal:{c2}"),
    }


def test_canonical_lines_exact(journals: dict[str, Path]) -> None:
    sos, c2 = str(journals["sos"]), str(journals["c2"])
    sources, _ = _run([sos, c2])
    # Two files of one directory merge in time order; the multi-line MESSAGE continues bare.
    nova = read_all(sources[f"journal:{sos}#compute-1/nova-compute"])
    assert nova == canonical([C1_SYSTEM[0], C1_SYSTEM[3], C1_USER[0]])
    assert b"+00:00 compute-1 nova-compute[1234]: 2026-01-02 03:04:05.123 1234 ERROR nova.virt.libvirt.driver" in nova
    assert b"\n\n0\n\nRefer to http://libvirt.org/html/" in nova
    assert b" compute-1 nova_compute: 2026-01-02" in nova  # no _PID: no brackets
    assert read_all(sources[f"journal:{sos}#compute-1/libvirtd"]) == canonical([C1_SYSTEM[1], C1_USER[2]])
    assert read_all(sources[f"journal:{sos}#compute-1/nova-conductor"]) == canonical([C1_USER[1]])
    kernel = read_all(sources[f"journal:{c2}#compute-2/kernel"])
    assert kernel == canonical([C2[1]])
    assert kernel.startswith(b"2026-01-02T03:04:07.623456+00:00 compute-2 kernel: audit: type=1400")
    assert read_all(sources[f"journal:{c2}#compute-2/libvirtd"]) == canonical([C2[0]])
    assert b"cron" not in b"".join(read_all(s) for s in sources.values()).lower()


def test_time_window_is_inclusive_to_the_microsecond(journals: dict[str, Path]) -> None:
    sos = str(journals["sos"])
    name = f"journal:{sos}#compute-1/nova-compute"
    t3 = BASE + timedelta(seconds=3, microseconds=1)  # C1_SYSTEM[3]
    t4 = BASE + timedelta(seconds=4)                  # C1_USER[0]
    sources, _ = _run([sos], since=t3, until=t4)
    assert read_all(sources[name]) == canonical([C1_SYSTEM[3], C1_USER[0]])
    assert set(sources) == {name}  # libvirtd (t+1, t+6) and conductor (t+5) are outside
    sources, _ = _run([sos], since=t3 + timedelta(microseconds=1), until=t4 - timedelta(microseconds=1))
    assert sources == {}
    sources, _ = _run([sos], since=t3 + timedelta(microseconds=1), until=t4)
    assert read_all(sources[name]) == canonical([C1_USER[0]])
    # a naive datetime is UTC
    sources, _ = _run([sos], since=t3.replace(tzinfo=None), until=t3.replace(tzinfo=None))
    assert read_all(sources[name]) == canonical([C1_SYSTEM[3]])
    # nothing in the window: said, not silent
    sources, problems = _run([sos], since=BASE + timedelta(hours=1), until=None)
    assert sources == {} and [p.source for p in problems] == [f"journal:{sos}"]
    assert "time window" in problems[0].message


def test_corrupt_journal_file_is_named_and_the_others_are_read(journals: dict[str, Path]) -> None:
    d = journals["root"] / "mixed"
    d.mkdir()
    good = d / "good.journal"
    shutil.copy(journals["c2"], good)
    garbled = d / "garbled.journal"
    shutil.copy(journals["c2"], garbled)
    with open(garbled, "r+b") as f:
        f.write(b"NOTAJRNL" + os.urandom(56))  # header signature and flags
    truncated = d / "truncated.journal"
    shutil.copy(journals["c2"], truncated)
    os.truncate(truncated, os.path.getsize(truncated) // 3)
    sources, problems = _run([str(d), str(garbled)])
    assert sorted((p.source, p.severity) for p in problems) == sorted([
        (f"journal:{garbled}", "error"), (f"journal:{truncated}", "error"), (f"journal:{garbled}", "error")])
    assert all("corrupt" in p.message for p in problems)
    assert set(sources) == {f"journal:{d}#compute-2/{g}" for g in ("nova-compute", "libvirtd", "kernel")}
    assert read_all(sources[f"journal:{d}#compute-2/kernel"]) == canonical([C2[1]])


def test_missing_path_and_directory_without_journals(tmp_path: Path) -> None:
    sources, problems = _run([str(tmp_path / "nope"), str(tmp_path)])
    assert sources == {}
    assert [(p.source, p.severity) for p in problems] == [(f"journal:{tmp_path / 'nope'}", "error"),
                                                          (f"journal:{tmp_path}", "error")]
    assert "no such file" in problems[0].message and "no journal files" in problems[1].message


def test_local_journal_does_not_raise() -> None:
    sources, problems = _run(None)
    # This machine kind runs no journald (no files): then it is said; elsewhere: sources.
    assert sources or any(p.source == "journal:local" for p in problems)
    for s in sources.values():
        assert s.info.origin == "journal:local" and s.info.kind is not None


def test_live_journald_namespace(journal_dir: str, write_live_journal: Callable[[str, str, bytes], None]) -> None:
    token = uuid.uuid4().hex
    t0 = datetime.now(UTC) - timedelta(seconds=1)
    write_live_journal("nova-compute.service", "nova-compute",
                       f"live {token} one\n<3>live {token} two\n".encode())
    write_live_journal("libvirtd.service", "libvirtd", f"live {token} libvirt\n".encode())
    write_live_journal("sshd.service", "sshd", f"live {token} not selected\n".encode())
    t1 = datetime.now(UTC) + timedelta(seconds=1)
    host = socket.gethostname()
    deadline = time.monotonic() + 5
    while True:  # journald writes asynchronously: wait until the entries are visible
        sources, _ = _run([journal_dir], since=t0, until=t1)
        nova = sources.get(f"journal:{journal_dir}#{host}/nova-compute")
        libvirt = sources.get(f"journal:{journal_dir}#{host}/libvirtd")
        nova_text = read_all(nova) if nova else b""
        libvirt_text = read_all(libvirt) if libvirt else b""
        if (nova_text.count(token.encode()) == 2 and token.encode() in libvirt_text) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    mine = [line for line in nova_text.splitlines() if token.encode() in line]
    assert len(mine) == 2, nova_text
    # What journald stored, read independently: the _PID it assigned (journald has been
    # seen, once, under load, to store a stream's entries without _PID/_SYSTEMD_UNIT).
    stored = journal.Reader(path=journal_dir, converters={"MESSAGE": bytes, "__REALTIME_TIMESTAMP": int})
    stored.add_match(SYSLOG_IDENTIFIER="nova-compute")
    entries = {e["MESSAGE"]: e for e in stored if token.encode() in e["MESSAGE"]}
    stored.close()
    for line, text in zip(mine, (f"live {token} one", f"live {token} two")):
        entry = entries[text.encode()]  # the <3> priority prefix was consumed by journald
        pid = f"[{entry['_PID']}]" if "_PID" in entry else ""
        stamp = (EPOCH + timedelta(microseconds=entry["__REALTIME_TIMESTAMP"])).isoformat(timespec="microseconds")
        assert line == f"{stamp} {host} nova-compute{pid}: {text}".encode()
        assert t0 <= datetime.fromisoformat(stamp) <= t1
    assert nova.info.kind is SourceKind.NOVA_COMPUTE and nova.info.host == host  # type: ignore[union-attr]
    assert f"live {token} libvirt".encode() in libvirt_text
    assert b"not selected" not in nova_text + libvirt_text
