"""sniff_structured / transcode on output of the real tools.

Journal: entries are written to a journal file by ``systemd-journal-remote`` (the shared
``make_journal_file`` fixture; export input, so times are fixed), then read back with the real ``journalctl -o json`` /
``-o export``; our canonical lines are compared with ``journalctl -o short-iso-precise``.
Docker: a container runs on the real dockerd brought up by services-up.sh (shared
``docker_client`` fixture: fails when it is down, skips with NMA_NO_SERVICES=1), its json-file log
is transcoded and compared with ``docker logs --timestamps``.
Malformed input cannot come from those tools; it is spliced into their real output.
"""

from __future__ import annotations

import io
import os
import re
import struct
import subprocess
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import analyzer.parsers.structured as structured
from analyzer.parsers import is_record_start, parse_record, sniff_structured, transcode
from analyzer.records import Record, SourceInfo, SourceKind

BASE_US = 1767323045123456  # 2026-01-02T03:04:05.123456Z
QEMU_TAIL = ("internal error: QEMU unexpectedly closed the monitor (vm='instance-0000002a'): "  # row 182
             "2024-01-15T10:23:40.512345Z qemu-system-x86_64: Unknown savevm section or instance "
             "'0000:00:05.0/virtio-balloon' 0\n"
             "2024-01-15T10:23:40.512400Z qemu-system-x86_64: load of migration failed: Invalid argument")
OSLO = ("2024-07-11 22:10:59.946 2 ERROR nova.virt.libvirt.driver [None req-590602d0-9d5a-4c1e-9d3b-"
        "4c5d86bbf0c5 u p - - default default] [instance: 7b7edae6-2b8c-4a3e-9c1d-0e5f6a7b8c9d] "
        "Live Migration failure: operation failed: domain is not running")  # §1.1 / row 117
# (extra fields, message) per entry; the common fields are added by _entries()
ENTRIES: list[tuple[dict[str, str], bytes]] = [
    ({"SYSLOG_IDENTIFIER": "nova-compute", "_PID": "42"}, OSLO.encode()),
    ({"SYSLOG_IDENTIFIER": "nova-compute", "_PID": "42"},  # row 61, multi-line
     b"CPU doesn't have compatibility.\n\n0\n\nRefer to http://libvirt.org/x"),
    ({"SYSLOG_IDENTIFIER": "libvirtd", "_PID": "984"}, QEMU_TAIL.encode()),
    ({"SYSLOG_IDENTIFIER": "kernel"}, b"kvm: exiting hardware virtualization"),  # no _PID
    ({"SYSLOG_IDENTIFIER": "virtqemud", "_PID": "7", "_SOURCE_REALTIME_TIMESTAMP": str(BASE_US - 5)},
     b"internal error: End of file from qemu monitor (vm='instance-0000002a')"),  # row 183
    ({"SYSLOG_IDENTIFIER": "nova-compute", "_PID": "42"}, b"bad \xff\xfe bytes"),  # not UTF-8
    ({"SYSLOG_IDENTIFIER": "3f2a1b4c5d6e", "CONTAINER_NAME": "nova_compute", "_PID": "9"}, b"from docker"),
    ({"SYSLOG_IDENTIFIER": "nova-compute", "_PID": "42"}, b"x" * 5000),  # null in JSON w/o --all
]


def _field(key: str, value: bytes) -> bytes:
    """One journal export field (binary form when the value has a newline)."""
    if b"\n" in value:
        return key.encode() + b"\n" + struct.pack("<Q", len(value)) + value + b"\n"
    return key.encode() + b"=" + value + b"\n"


def _entries() -> list[dict[str, str | bytes]]:
    out: list[dict[str, str | bytes]] = []
    for i, (extra, message) in enumerate(ENTRIES):
        out.append({"__REALTIME_TIMESTAMP": str(BASE_US + i * 1_000_000),
                    "__MONOTONIC_TIMESTAMP": str(1_000_000 + i),
                    "_BOOT_ID": "0123456789abcdef0123456789abcdef", "_HOSTNAME": "compute-1",
                    "PRIORITY": "6", **extra, "MESSAGE": message})
    return out


@pytest.fixture(scope="module")
def journal(make_journal_file: Callable[[Sequence[Mapping[str, str | bytes]], Path], Path],
            tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Real journalctl output (json, export, short-iso-precise) of a real journal file."""
    path = make_journal_file(_entries(), tmp_path_factory.mktemp("journal") / "compute-1.journal")
    env = {**os.environ, "TZ": "UTC"}

    def jctl(*args: str) -> bytes:
        return subprocess.run(["journalctl", f"--file={path}", "--no-pager", *args], check=True,
                              capture_output=True, env=env).stdout

    return {"json": jctl("-o", "json"), "json-all": jctl("-o", "json", "--all"),
            "export": jctl("-o", "export"), "short": jctl("-o", "short-iso-precise", "--all")}


def _records(data: bytes, name: str = "journal:test", kind: SourceKind | None = None) -> list[Record]:
    """Group lines into records the way the scan layer does, then parse them."""
    lines = data.decode("utf-8", "replace").splitlines()
    groups: list[tuple[int, list[str]]] = []
    for no, line in enumerate(lines, 1):
        if is_record_start(line, kind) or not groups:
            groups.append((no, [line]))
        else:
            groups[-1][1].append(line)
    info = SourceInfo(name, kind=kind)
    return [parse_record(g, info, no, timezone.utc) for no, g in groups]


def _run(fmt: str, data: bytes) -> tuple[bytes, list[tuple[int, str]]]:
    problems: list[tuple[int, str]] = []
    out = b"".join(transcode(fmt, io.BytesIO(data), lambda n, m: problems.append((n, m))))
    return out, problems


_DOCKER_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z ")


def _key(r: Record) -> tuple[object, ...]:
    return (r.timestamp, r.host, r.logger, r.pid, r.kind, r.fmt, r.message)


# ---------------------------------------------------------------- journal

def test_sniff_real_journal_output(journal: dict[str, bytes]) -> None:
    assert sniff_structured(journal["json"][:4096]) == "journal-json"
    assert sniff_structured(journal["json"][:100]) == "journal-json"  # head cut mid-object
    assert sniff_structured(journal["export"][:4096]) == "journal-export"
    assert sniff_structured(journal["short"][:4096]) is None


def test_json_and_export_give_the_same_lines(journal: dict[str, bytes]) -> None:
    from_json, p1 = _run("journal-json", journal["json-all"])
    from_export, p2 = _run("journal-export", journal["export"])
    assert p1 == [] and p2 == []
    assert from_json == from_export
    assert from_json.count(b"\n") == len(ENTRIES) + 4 + 1  # + continuation lines
    assert b"bad \xff\xfe bytes" in from_json  # raw bytes passed through, not "[10B blob data]"


def test_canonical_lines_parse_like_journalctl_text(journal: dict[str, bytes]) -> None:
    ours = _records(_run("journal-json", journal["json-all"])[0])
    theirs = _records(journal["short"])
    assert len(ours) == len(theirs) == len(ENTRIES)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if i == 6:  # documented difference: CONTAINER_NAME preferred to a container-id ident
            assert (a.logger, b.logger) == ("nova_compute", "3f2a1b4c5d6e")
            assert a.kind is SourceKind.NOVA_COMPUTE
            continue
        assert _key(a) == _key(b), i


def test_journal_record_fields(journal: dict[str, bytes]) -> None:
    recs = _records(_run("journal-export", journal["export"])[0])
    oslo, cpu, tail, kern, src_ts = recs[:5]
    assert (oslo.fmt, oslo.kind, oslo.host, oslo.request_id) == (
        "oslo", SourceKind.NOVA_COMPUTE, "compute-1", "req-590602d0-9d5a-4c1e-9d3b-4c5d86bbf0c5")
    assert oslo.timestamp == datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc)
    assert cpu.message == "CPU doesn't have compatibility.\n\n0\n\nRefer to http://libvirt.org/x"
    # the QEMU tail inside the libvirt message stays one record (indented continuation)
    assert tail.kind is SourceKind.LIBVIRTD and tail.message == QEMU_TAIL
    assert (kern.kind, kern.pid, kern.fmt) == (SourceKind.KERNEL, None, "kernel")
    assert src_ts.timestamp == datetime(2026, 1, 2, 3, 4, 5, 123451, tzinfo=timezone.utc)


def test_null_message_reported(journal: dict[str, bytes]) -> None:
    out, problems = _run("journal-json", journal["json"])  # without --all: MESSAGE null
    assert [n for n, _ in problems] == [len(ENTRIES)]
    assert "MESSAGE is null" in problems[0][1]
    assert out.splitlines()[-1].endswith(b"nova-compute[42]: ")


def test_malformed_json_lines_are_emitted_and_reported(journal: dict[str, bytes]) -> None:
    lines = journal["json-all"].splitlines(keepends=True)
    spliced = b"".join([b"{\"MESSAGE\": \"cut\n", lines[0], b"[1, 2]\n", *lines[1:]])
    out, problems = _run("journal-json", spliced)
    assert [n for n, _ in problems] == [1, 3]
    assert "not valid JSON" in problems[0][1] and "not a JSON object" in problems[1][1]
    text = out.decode("utf-8", "replace").splitlines()
    # before any good entry: epoch 0; afterwards: the previous entry's time
    assert text[0] == '1970-01-01T00:00:00.000000+00:00 - nma-unparsed: {"MESSAGE": "cut'
    assert text[2] == "2026-01-02T03:04:05.123456+00:00 - nma-unparsed: [1, 2]"
    recs = _records(out)
    assert len(recs) == len(ENTRIES) + 2
    assert recs[0].host is None and recs[0].logger == "nma-unparsed"


def test_export_binary_and_broken_fields() -> None:
    good = _field("__REALTIME_TIMESTAMP", str(BASE_US).encode()) + _field("_HOSTNAME", b"h") \
        + _field("SYSLOG_IDENTIFIER", b"libvirtd") + _field("MESSAGE", b"a\nb") + b"\n"
    bad_line = b"this is not a field\n"
    truncated = b"MESSAGE\n" + struct.pack("<Q", 100) + b"short"
    out, problems = _run("journal-export", good + bad_line + good + truncated)
    lines = out.splitlines()
    assert lines[0] == b"2026-01-02T03:04:05.123456+00:00 h libvirtd: a"
    assert lines[1].strip() == b"b"
    assert b"nma-unparsed: this is not a field" in lines[2]
    # physical lines: the binary MESSAGE "a\nb" spans lines 4-6, the blank line is 7
    assert [n for n, _ in problems] == [8, 16, 16]
    assert "not a KEY=VALUE field" in problems[0][1]
    assert "truncated" in problems[1][1]
    assert "no __REALTIME_TIMESTAMP" in problems[2][1]
    assert lines[-1] == b"2026-01-02T03:04:05.123456+00:00 - -: short"  # still emitted


def test_line_length_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(structured, "MAX_FIELD", 64)
    entry = b'{"__REALTIME_TIMESTAMP":"%d","MESSAGE":"%s"}\n'
    data = entry % (BASE_US, b"y" * 200) + entry % (BASE_US, b"ok")
    out, problems = _run("journal-json", data)
    assert problems and problems[0][0] == 1 and "longer than 64 bytes" in problems[0][1]
    assert out.splitlines()[-1].endswith(b": ok")


class _CountingRaw(io.RawIOBase):
    """An unbuffered stream (like scan.py's prefixed stream) that counts its reads."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.reads = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        self.reads += 1
        return self._data.readinto(b)


def test_raw_streams_are_read_in_large_chunks(journal: dict[str, bytes]) -> None:
    data = journal["json-all"] * 50
    raw = _CountingRaw(data)
    out = b"".join(transcode("journal-json", raw))  # type: ignore[arg-type]
    assert out.count(b"\n") == 50 * (len(ENTRIES) + 5)
    assert raw.reads < 10, f"{raw.reads} reads for {len(data)} bytes"


def test_unknown_format_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="journal-json"):
        transcode("syslog", io.BytesIO(b""))


@pytest.mark.parametrize("head", [
    b"", b"\n\n", b"2024-07-11 22:10:59.946 2 INFO nova.compute.manager [-] x\n",
    b"LC_ALL=C PATH=/usr/bin HOME=/var/lib/libvirt/qemu/domain-1 /usr/bin/qemu-system-x86_64\n",
    b'{"name": "not a log"}\n', b"type=AVC msg=audit(1705314225.123:456): x\n",
])
def test_sniff_negatives(head: bytes) -> None:
    assert sniff_structured(head) is None


# ---------------------------------------------------------------- docker

def test_docker_json_file_matches_docker_logs(docker_client: Any) -> None:
    script = (f"echo '{OSLO}'; printf 'partial-'; printf 'line\\n'; "
              "head -c 40000 /dev/zero | tr '\\0' a; echo; echo 'to stderr' >&2; "
              "printf 'last line without newline'")
    c = docker_client.containers.run("ci/busybox:latest", ["sh", "-c", script],
                                     detach=True, network_mode="none")
    try:
        c.wait(timeout=30)
        c.reload()
        raw = Path(c.attrs["LogPath"]).read_bytes()
        reference = {name: c.logs(stdout=name == "stdout", stderr=name == "stderr", timestamps=True)
                     for name in ("stdout", "stderr")}
    finally:
        c.remove(force=True)
    assert sniff_structured(raw[:4096]) == "docker-json"
    assert raw.count(b"\n") > 5  # the 40000-byte line really was split (16 KiB partials)
    out, problems = _run("docker-json", raw)
    assert problems == []
    ours = _records(out, "docker://local/x", SourceKind.NOVA_COMPUTE)
    for name in ("stdout", "stderr"):
        mine = [r for r in ours if r.logger in (name, "nova.virt.libvirt.driver")
                and (name == "stdout") == (r.message != "to stderr")]
        theirs = _records(reference[name], "docker://local/x", SourceKind.NOVA_COMPUTE)
        # `docker logs -t` repeats the stamp in front of every 16 KiB part of a long line
        # (observed: 3 stamps inside the 40000-byte line); transcode joins the parts.
        assert [(r.timestamp, r.message) for r in mine] == \
               [(r.timestamp, _DOCKER_STAMP.sub("", r.message)) for r in theirs], name
    messages = [r.message for r in ours]
    assert "a" * 40000 in messages and "partial-line" in messages
    assert "last line without newline" in messages
    # stdout and stderr are copied by separate goroutines: only per-stream order is stable
    oslo = [r for r in ours if r.fmt == "oslo"]
    assert len(oslo) == 1 and oslo[0].kind is SourceKind.NOVA_COMPUTE
    assert oslo[0].instance_uuid == "7b7edae6-2b8c-4a3e-9c1d-0e5f6a7b8c9d"


def test_docker_partials_per_stream_and_bad_entries() -> None:
    def e(log: str, stream: str, sec: int) -> bytes:
        return (b'{"log":"%s","stream":"%s","time":"2024-07-11T22:10:%02d.946123456Z"}\n'
                % (log.encode(), stream.encode(), sec))
    data = (e("out-1 ", "stdout", 1) + e("err complete\\n", "stderr", 2) + b"garbage\n"
            + e("out-2\\n", "stdout", 3) + b'{"stream":"stdout"}\n' + e("dangling", "stderr", 4))
    out, problems = _run("docker-json", data)
    assert [n for n, _ in problems] == [3, 5]
    lines = out.decode().splitlines()
    assert "2024-07-11T22:10:02.946123+00:00 - stderr: err complete" in lines
    assert "2024-07-11T22:10:01.946123+00:00 - stdout: out-1 out-2" in lines  # time of first part
    assert lines[-1] == "2024-07-11T22:10:04.946123+00:00 - stderr: dangling"
    assert sum("nma-unparsed" in x for x in lines) == 2


def test_docker_partial_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(structured, "MAX_FIELD", 110)
    part = b'{"log":"%s","stream":"stdout","time":"2024-07-11T22:10:01Z"}\n' % (b"0123456789" * 4)
    out, problems = _run("docker-json", part * 4)
    assert len(problems) == 1 and "split" in problems[0][1]
    assert [len(x) for x in out.splitlines()] == [len(b"2024-07-11T22:10:01.000000+00:00 - stdout: ") + n
                                                  for n in (120, 40)]  # cut at the cap, rest at EOF
