"""File collector: paths, globs, stdin, pipes, compression, and bad input.

Every fixture is built in ``tmp_path`` by the test itself; nothing is mocked: real files,
real pipes, a real subprocess reading stdin, a real privilege drop for the unreadable file.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import json
import lzma
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

import pytest

from analyzer.errors import CollectorError
from analyzer.records import LogSource, SourceInfo, SourceKind
from analyzer.sources import Collector, StreamReadError, collect, open_decompressed
from analyzer.sources import files as files_mod
from tests.sources._common import split

REPO = Path(__file__).resolve().parents[2]

NOVA = (b"2024-05-01 10:00:00.123 7 INFO nova.compute.manager [req-1 - - - - - -] "
        b"[instance: 6f1c2d3e-0000-4000-8000-000000000001] Migration operation has started\n")


def text(n: int) -> bytes:
    """n distinct oslo-like lines (distinct so compression cannot hide truncation)."""
    return b"".join(b"2024-05-01 10:00:%02d.%06d 7 INFO nova.compute.manager line %d\n"
                    % (i % 60, i, i) for i in range(n))




def read_all(src: LogSource) -> bytes:
    with src.open() as f:
        return f.read()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- plain inputs


def test_plain_file_sets_path_kind_and_default_host(tmp_path: Path) -> None:
    p = write(tmp_path / "nova-compute.log", NOVA)
    sources, problems = split(collect([str(p)], default_host="cmp-7"))
    assert problems == []
    (src,) = sources
    assert src.path == str(p)  # mmap-able
    assert src.info.kind is SourceKind.NOVA_COMPUTE
    assert src.info.host == "cmp-7"
    assert src.info.origin is None  # a loose file is not a bundle
    assert read_all(src) == NOVA


def test_loose_file_under_var_log_takes_host_from_etc_hostname(tmp_path: Path) -> None:
    write(tmp_path / "etc" / "hostname", b"cmp-3\n")
    p = write(tmp_path / "var" / "log" / "libvirt" / "libvirtd.log", b"x\n")
    (src,) = split(collect([str(p)], default_host="ignored"))[0]
    assert src.info.host == "cmp-3"
    assert src.info.kind is SourceKind.LIBVIRTD


def test_directory_is_walked_recursively_logs_only_rotations_oldest_first(tmp_path: Path) -> None:
    d = tmp_path / "logs"
    write(d / "nova" / "nova-compute.log", b"live\n")
    write(d / "nova" / "nova-compute.log.1", b"one\n")
    write(d / "nova" / "nova-compute.log.2.gz", gzip.compress(b"two\n"))
    write(d / "nova" / "nova-compute.log.10.gz", gzip.compress(b"ten\n"))
    write(d / "audit" / "audit.log", b"type=VIRT_CONTROL msg=audit(1.0:1): x\n")
    write(d / "messages-20240501", b"May  1 10:00:00 h k: x\n")
    write(d / "nova" / "nova.conf", b"[DEFAULT]\n")  # not a log: skipped silently
    write(d / "README.txt", b"hello\n")
    sources, problems = split(collect([str(d)]))
    assert problems == []
    names = [os.path.relpath(s.info.name, d) for s in sources]
    assert names == ["messages-20240501", "audit/audit.log", "nova/nova-compute.log.10.gz",
                     "nova/nova-compute.log.2.gz", "nova/nova-compute.log.1",
                     "nova/nova-compute.log"]
    assert [read_all(s) for s in sources[2:]] == [b"ten\n", b"two\n", b"one\n", b"live\n"]
    kinds = {os.path.relpath(s.info.name, d): s.info.kind for s in sources}
    assert kinds["messages-20240501"] is SourceKind.SYSLOG
    assert kinds["audit/audit.log"] is SourceKind.AUDIT
    # compressed files are streams, plain ones carry their path for mmap
    assert sources[2].path is None and sources[4].path == str(d / "nova" / "nova-compute.log.1")


def test_walked_binary_file_is_skipped_but_an_explicit_one_is_scanned(tmp_path: Path) -> None:
    p = write(tmp_path / "d" / "weird.log", b"abc\0def\n")
    sources, problems = split(collect([str(tmp_path / "d")]))
    assert sources == []
    (pr,) = problems
    assert pr.source == str(p) and "binary" in pr.message and pr.offset == 3
    sources, problems = split(collect([str(p)]))
    assert problems == [] and [s.info.name for s in sources] == [str(p)]


def test_glob_matches_in_rotation_order_and_empty_glob_is_a_problem(tmp_path: Path) -> None:
    for name in ("nova-api.log", "nova-api.log.1", "nova-api.log.2.gz"):
        write(tmp_path / name, gzip.compress(b"x\n") if name.endswith(".gz") else b"x\n")
    sources, problems = split(collect([str(tmp_path / "nova-api.log*")]))
    assert problems == []
    assert [Path(s.info.name).name for s in sources] == [
        "nova-api.log.2.gz", "nova-api.log.1", "nova-api.log"]
    assert {s.info.kind for s in sources} == {SourceKind.NOVA_API}
    pattern = str(tmp_path / "nothing-*.log")
    sources, problems = split(collect([pattern]))
    assert sources == []
    assert [(p.source, p.severity) for p in problems] == [(pattern, "error")]
    assert "glob matched nothing" in problems[0].message


def test_nonexistent_path_is_a_problem_and_collection_continues(tmp_path: Path) -> None:
    good = write(tmp_path / "syslog", b"x\n")
    missing = str(tmp_path / "no-such.log")
    sources, problems = split(collect([missing, str(good)]))
    assert [s.info.name for s in sources] == [str(good)]
    assert problems[0].source == missing and "no such file" in problems[0].message
    assert problems[0].severity == "error"


def test_host_override_beats_hostname_file(tmp_path: Path) -> None:
    write(tmp_path / "b" / "etc" / "hostname", b"from-file\n")
    write(tmp_path / "b" / "var" / "log" / "nova" / "nova-compute.log", NOVA)
    c = Collector(default_host="default")
    (src,) = split(c.collect([f"cmp-override={tmp_path / 'b'}"]))[0]
    assert src.info.host == "cmp-override"
    assert [b.host_from for b in c.bundles()] == ["HOST=PATH"]
    (src,) = split(collect([str(tmp_path / "b")], default_host="default"))[0]
    assert src.info.host == "from-file"


def test_same_file_twice_is_read_once(tmp_path: Path) -> None:
    p = write(tmp_path / "d" / "kern.log", b"x\n")
    os.symlink(p, tmp_path / "d" / "kern.log.1")
    sources, problems = split(collect([str(p), str(tmp_path / "d")]))
    assert problems == [] and [s.info.name for s in sources] == [str(p)]


# --------------------------------------------------------------------------- compression


@pytest.mark.parametrize("fmt,compress", [("gzip", gzip.compress), ("bzip2", bz2.compress),
                                          ("xz", lzma.compress)])
def test_decompression_is_chosen_by_magic_not_name(tmp_path: Path, fmt: str,
                                                   compress: object) -> None:
    data = text(2000)
    # a rotation without any compression suffix, as some tools write them
    p = write(tmp_path / "nova-compute.log.3", compress(data))  # type: ignore[operator]
    (src,) = split(collect([str(p)]))[0]
    assert src.path is None  # compressed: a stream, not mmap
    assert read_all(src) == data
    assert files_mod.sniff_compression(p.read_bytes()[:8]) == fmt


def test_gz_suffix_on_plain_text_is_read_as_plain(tmp_path: Path) -> None:
    p = write(tmp_path / "nova-compute.log.1.gz", NOVA)
    (src,) = split(collect([str(p)]))[0]
    assert src.path == str(p) and read_all(src) == NOVA


def test_gzip_goes_through_isal_when_importable(tmp_path: Path) -> None:
    pytest.importorskip("isal")
    import io

    from isal import isal_zlib

    stream = open_decompressed(io.BytesIO(gzip.compress(NOVA)), "x.gz")
    inner = stream._inner  # type: ignore[attr-defined]
    assert isinstance(inner, files_mod._GzipReader)
    assert inner._inflate is isal_zlib.decompressobj  # the fast inflater, not zlib's
    assert stream.read() == NOVA


def test_open_decompressed_on_a_pipe_without_peek() -> None:
    r, w = os.pipe()
    data = text(500)
    payload = gzip.compress(data)

    def writer() -> None:
        with os.fdopen(w, "wb", buffering=0) as f:
            for i in range(0, len(payload), 3):  # the magic arrives in pieces
                f.write(payload[i:i + 3])

    t = threading.Thread(target=writer)
    t.start()
    with os.fdopen(r, "rb", buffering=0) as raw:  # FileIO: no peek()
        assert not hasattr(raw, "peek")
        assert open_decompressed(raw, "pipe").read() == data
    t.join()


def test_truncated_gz_raises_collector_error_with_offsets(tmp_path: Path) -> None:
    data = text(60000)
    blob = gzip.compress(data)
    cut = len(blob) // 2
    p = write(tmp_path / "nova-compute.log.1.gz", blob[:cut])
    (src,) = split(collect([str(p)]))[0]
    got = bytearray()
    with pytest.raises(CollectorError) as ei:
        with src.open() as f:
            while chunk := f.read(65536):
                got += chunk
    err = ei.value
    assert isinstance(err, StreamReadError)
    assert err.source == str(p)
    assert "truncated gzip at byte" in err.reason
    assert 0 < err.offset == len(got) < len(data)
    assert err.compressed_offset == cut
    assert bytes(got) == data[:len(got)]  # what was delivered is good data
    # and all that can be decoded was delivered before the error
    assert_all_decodable(bytes(got), zlib.decompressobj(wbits=31).decompress(blob[:cut]))


def test_corrupt_gz_data_names_the_position(tmp_path: Path) -> None:
    blob = bytearray(gzip.compress(text(20000)))
    blob[len(blob) // 2: len(blob) // 2 + 64] = b"\xff" * 64
    p = write(tmp_path / "x.log.gz", bytes(blob))
    (src,) = split(collect([str(p)]))[0]
    got = 0
    with pytest.raises(StreamReadError) as ei:
        with src.open() as f:
            while chunk := f.read(4096):
                got += len(chunk)
    assert "corrupt gzip data within the first" in ei.value.reason
    assert 0 < ei.value.offset == got


def test_truncated_gz_that_fails_in_its_first_bytes_is_a_problem(tmp_path: Path) -> None:
    p = write(tmp_path / "x.log.gz", gzip.compress(text(100))[:30])
    sources, problems = split(collect([str(p)]))
    assert sources == []
    (pr,) = problems
    assert pr.source == str(p) and "truncated gzip" in pr.message and pr.severity == "error"


def assert_all_decodable(got: bytes, decodable: bytes) -> None:
    """``got`` is what zlib decodes from the same truncated data, but for the last byte:
    isal's inflater holds back at most one decoded byte at a cut (files.py, _GzipReader)."""
    assert decodable.startswith(got) and len(decodable) - len(got) <= 1, \
        (len(got), len(decodable))


def _read_until_error(src: LogSource, size: int = 8 << 20) -> tuple[bytes, StreamReadError | None]:
    got = bytearray()
    try:
        with src.open() as f:
            while chunk := f.read(size):
                got += chunk
    except StreamReadError as e:
        return bytes(got), e
    return bytes(got), None


def test_one_line_gz_cut_short_still_delivers_its_line(tmp_path: Path) -> None:
    """The reviewer's case: a one-line gzip without its last 6 bytes (part of the trailer)
    used to give "0 bytes decompressed"; every byte zlib can decode must come out."""
    line = NOVA.rstrip(b"\n") + b" " + b"x" * 60 + b"\n"
    blob = gzip.compress(line)[:-6]
    p = write(tmp_path / "nova-compute.log.1.gz", blob)
    (src,) = split(collect([str(p)]))[0]
    got, err = _read_until_error(src)
    assert got == zlib.decompressobj(wbits=31).decompress(blob) == line
    assert err is not None and err.source == str(p)
    assert err.reason.startswith(f"truncated gzip at byte {len(blob)} of the compressed data")
    assert err.offset == len(line) and err.compressed_offset == len(blob)


def test_truncated_gz_is_scanned_up_to_the_cut(tmp_path: Path) -> None:
    """End to end: the failure line inside the truncated tail is found, and the scan reports
    the truncation with the byte offset (previously the tail was lost with the error)."""
    from analyzer.catalogue import load_catalogue
    from analyzer.scan import scan

    fail = (b"2024-07-11 22:10:59.946 2 ERROR nova.virt.libvirt.driver [None req-590602d0-3c2b-"
            b"4a8e-9f1d-6e7a5b4c3d21 3de117d2 eab438b1 - - default default] [instance: 7b7edae6-"
            b"5e8a-4c1f-9d6b-2f3c8a1e4b90] Live Migration failure: Cannot recv data: Host key "
            b"verification failed.: Connection reset by peer\n")
    data = text(30000) + fail
    blob = gzip.compress(data)[:-6]  # the last line is in the last block, the trailer is cut
    p = write(tmp_path / "nova-compute.log.1.gz", blob)
    result = scan(collect([str(p)]), load_catalogue())
    assert any(f.record.line == 30001 for f in result.findings), result.findings
    (pr,) = [pr for pr in result.problems if pr.source == str(p)]
    assert "truncated gzip" in pr.message and pr.offset == len(data)
    (summary,) = result.inputs
    assert summary.bytes_read == len(data)


@pytest.mark.parametrize("cut_at", [0.1, 0.5, 0.9, 0.999])
def test_truncated_gz_delivers_what_zlib_can_decode(tmp_path: Path, cut_at: float) -> None:
    data = text(80000)  # ~5 MB: several decoder steps before the cut
    blob = gzip.compress(data, compresslevel=6)
    cut = max(20, int(len(blob) * cut_at))
    p = write(tmp_path / "x.log.gz", blob[:cut])
    (src,) = split(collect([str(p)]))[0]
    got, err = _read_until_error(src, size=1 << 20)
    assert_all_decodable(got, zlib.decompressobj(wbits=31).decompress(blob[:cut]))
    assert err is not None and "truncated gzip" in err.reason and err.offset == len(got)


def test_gz_members_headers_and_truncation_through_a_trickling_pipe() -> None:
    """Several members (as ``cat a.gz b.gz`` or logrotate's ``delaycompress`` leave them),
    headers with FEXTRA/FNAME/FCOMMENT/FHCRC, zero padding between members, all arriving
    through a real pipe a few bytes at a time (isal's own header parser fails when such a
    header is split across reads); then the same cut inside the second member."""
    import struct

    def member(payload: bytes, flags: int) -> bytes:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        body = c.compress(payload) + c.flush()
        hdr = b"\x1f\x8b\x08" + bytes([flags]) + b"\0\0\0\0\0\xff"
        if flags & 4:
            hdr += struct.pack("<H", 5) + b"extra"
        if flags & 8:
            hdr += b"nova-compute.log\0"
        if flags & 16:
            hdr += b"rotated by logrotate\0"
        if flags & 2:
            hdr += struct.pack("<H", zlib.crc32(hdr) & 0xFFFF)
        return hdr + body + struct.pack("<II", zlib.crc32(payload), len(payload))

    parts = [text(3000), NOVA + text(1500)[::-1], text(2000)]
    blob = member(parts[0], 2 | 4 | 8 | 16) + b"\0" * 4 + member(parts[1], 2 | 16) + \
        member(parts[2], 8)

    def through_pipe(payload: bytes) -> tuple[bytes, StreamReadError | None]:
        r, w = os.pipe()

        def writer() -> None:
            with os.fdopen(w, "wb", buffering=0) as f:
                for i in range(0, len(payload), 7):
                    f.write(payload[i:i + 7])

        t = threading.Thread(target=writer)
        t.start()
        got = bytearray()
        err = None
        with os.fdopen(r, "rb", buffering=0) as raw:
            stream = open_decompressed(raw, "pipe")
            try:
                while chunk := stream.read(65536):
                    got += chunk
            except StreamReadError as e:
                err = e
        t.join()
        return bytes(got), err

    assert through_pipe(blob) == (b"".join(parts), None)
    second = len(member(parts[0], 2 | 4 | 8 | 16)) + 4
    cut = second + len(member(parts[1], 2 | 16)) // 2  # in the middle of the second member
    got, err = through_pipe(blob[:cut])
    first = zlib.decompressobj(31)
    expected = first.decompress(blob[:cut])
    expected += zlib.decompressobj(31).decompress(first.unused_data.lstrip(b"\0"))
    assert_all_decodable(got, expected)
    assert got.startswith(parts[0]) and len(got) > len(parts[0])
    assert err is not None and "truncated gzip" in err.reason and err.offset == len(got)


def test_gz_crc_mismatch_and_trailing_garbage_come_after_the_data(tmp_path: Path) -> None:
    data = text(5000)
    blob = bytearray(gzip.compress(data))
    blob[-8] ^= 0xFF  # CRC-32 in the trailer
    p = write(tmp_path / "crc.log.gz", bytes(blob))
    (src,) = split(collect([str(p)]))[0]
    got, err = _read_until_error(src)
    assert got == data  # the data itself is whole: it is delivered, then the error
    assert err is not None and err.reason.startswith("corrupt gzip data") and err.offset == len(data)

    p = write(tmp_path / "garbage.log.gz", gzip.compress(data) + b"trailing junk")
    (src,) = split(collect([str(p)]))[0]
    got, err = _read_until_error(src)
    assert got == data
    assert err is not None and "is not a gzip member" in err.reason and "trailing" in err.reason


def test_gzip_reader_with_zlib_inflater_behaves_the_same() -> None:
    """The fallback when isal is missing: same reader, zlib's inflater."""
    import io

    data = text(20000)
    blob = gzip.compress(data)
    for payload, complete in ((blob, True), (blob[: len(blob) * 2 // 3], False)):
        reader = files_mod._GzipReader(io.BytesIO(payload), inflate=zlib.decompressobj)
        got = bytearray()
        with pytest.raises(EOFError) if not complete else contextlib.nullcontext():
            while chunk := reader.read1(4096):
                got += chunk
        assert bytes(got) == zlib.decompressobj(wbits=31).decompress(payload)
    # peek and readline keep their io meaning
    reader = files_mod._GzipReader(io.BytesIO(blob))
    assert reader.peek(10)[:10] == data[:10]
    first, second = data.split(b"\n")[:2]
    assert reader.readline() == first + b"\n" and reader.readline(5) == second[:5]


def test_zstd_file_is_a_clear_problem(tmp_path: Path) -> None:
    p = write(tmp_path / "x.log.zst", b"\x28\xb5\x2f\xfd" + b"\0" * 20)
    sources, problems = split(collect([str(p)]))
    assert sources == [] and "zstd" in problems[0].message and "zstd -d" in problems[0].message


def test_module_doctests() -> None:
    import doctest

    failed, tried = doctest.testmod(files_mod)
    assert tried > 0 and failed == 0


# --------------------------------------------------------------------------- stdin and pipes


def test_stdin_is_a_source_and_is_decompressed_in_a_real_subprocess(tmp_path: Path) -> None:
    data = text(3000)
    code = ("import sys\n"
            "from analyzer.sources import collect\n"
            "items = list(collect(['-']))\n"
            "assert len(items) == 1, items\n"
            "src = items[0]\n"
            "assert src.info.name == '<stdin>', src.info\n"
            "with src.open() as f:\n"
            "    sys.stdout.buffer.write(f.read())\n"
            "assert not sys.stdin.buffer.closed\n")
    out = subprocess.run([sys.executable, "-c", code], input=gzip.compress(data),
                         capture_output=True, cwd=REPO, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout == data


def test_piped_stdin_gets_a_wider_pipe_and_other_inputs_are_left_alone(tmp_path: Path) -> None:
    """A real pipe is widened to 1 MiB (fewer reads and writes on both ends); a regular file,
    a socket or a closed descriptor is left as it is, without an error."""
    import fcntl

    def allowed(size: int) -> bool:
        """Whether this system lets us set a pipe to ``size`` (pipe-max-size, user limits)."""
        r, w = os.pipe()
        try:
            fcntl.fcntl(r, fcntl.F_SETPIPE_SZ, size)
            return True
        except PermissionError:
            return False
        finally:
            os.close(r)
            os.close(w)

    r, w = os.pipe()
    try:
        with os.fdopen(r, "rb", closefd=False) as f:
            before = fcntl.fcntl(r, fcntl.F_GETPIPE_SZ)
            if allowed(files_mod.PIPE_SIZE):
                assert files_mod._widen_pipe(f) is True
                assert fcntl.fcntl(r, fcntl.F_GETPIPE_SZ) == files_mod.PIPE_SIZE > before
            else:  # refused by the system: left as it was, no error
                assert files_mod._widen_pipe(f) is False
                assert fcntl.fcntl(r, fcntl.F_GETPIPE_SZ) == before
    finally:
        os.close(r)
        os.close(w)
    plain = tmp_path / "x.log"
    plain.write_bytes(b"x\n")
    with open(plain, "rb") as f:
        assert files_mod._widen_pipe(f) is False
    a, b = socket.socketpair()
    with a, b, a.makefile("rb") as f:
        assert files_mod._widen_pipe(f) is False
    closed = open(plain, "rb")
    closed.close()
    assert files_mod._widen_pipe(closed) is False
    assert files_mod._widen_pipe(io.BytesIO(b"x")) is False  # no descriptor at all
    assert files_mod._widen_pipe(object()) is False  # type: ignore[arg-type]  # no fileno()


def test_a_pipe_already_wider_is_not_shrunk(monkeypatch: pytest.MonkeyPatch) -> None:
    import fcntl

    r, w = os.pipe()
    try:
        fcntl.fcntl(r, fcntl.F_SETPIPE_SZ, 256 << 10)
        monkeypatch.setattr(files_mod, "PIPE_SIZE", 128 << 10)
        with os.fdopen(r, "rb", closefd=False) as f:
            assert files_mod._widen_pipe(f) is False
        assert fcntl.fcntl(r, fcntl.F_GETPIPE_SZ) == 256 << 10
    finally:
        os.close(r)
        os.close(w)


def test_dash_twice_is_a_problem() -> None:
    sources, problems = split(collect(["-", "-"]))
    assert [s.info.name for s in sources] == ["<stdin>"]
    assert problems[0].source == "<stdin>" and "more than once" in problems[0].message


def test_closed_stdin_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    """``nma scan - <&-``: Python starts with sys.stdin = None (it used to crash with
    AttributeError in StdinSource.open)."""
    code = ("import sys\n"
            "assert sys.stdin is None\n"
            "from analyzer.sources import collect\n"
            "from analyzer.sources.files import StdinSource\n"
            "from analyzer.records import SourceInfo\n"
            "from analyzer.errors import CollectorError\n"
            "(p,) = collect(['-'])\n"
            "print(p.source, p.severity, p.message)\n"
            "try:\n"
            "    StdinSource(SourceInfo('<stdin>')).open()\n"
            "except CollectorError as e:\n"
            "    print('open:', e.reason)\n")
    out = subprocess.run(["sh", "-c", 'exec "$0" -c "$1" <&-', sys.executable, code],
                         capture_output=True, cwd=REPO, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr.decode()
    lines = out.stdout.decode().splitlines()
    assert lines[0] == f"<stdin> error {files_mod.STDIN_CLOSED}"
    assert lines[1] == f"open: {files_mod.STDIN_CLOSED}"
    # and the CLI says so instead of a traceback
    cli = subprocess.run(["sh", "-c", 'exec "$0" -m analyzer scan - <&-', sys.executable],
                         capture_output=True, cwd=REPO, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert b"Traceback" not in cli.stderr and b"standard input is closed" in cli.stderr, cli.stderr
    # fd 0 closed after start-up: sys.stdin still exists, its first read fails with EBADF
    late = ("import os\n"
            "os.close(0)\n"
            "from analyzer.sources.files import StdinSource\n"
            "from analyzer.records import SourceInfo\n"
            "from analyzer.errors import CollectorError\n"
            "try:\n"
            "    StdinSource(SourceInfo('<stdin>')).open()\n"
            "except CollectorError as e:\n"
            "    print(e.reason)\n")
    out = subprocess.run([sys.executable, "-c", late], input=b"x\n", capture_output=True,
                         cwd=REPO, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.stdout.decode().strip() == files_mod.STDIN_CLOSED, out.stderr.decode()


def test_stdin_stream_closed_before_open_is_a_collector_error() -> None:
    import io

    buf = io.BufferedReader(io.BytesIO(b"x\n"))
    buf.close()
    with pytest.raises(CollectorError, match="standard input is closed"):
        files_mod.StdinSource(SourceInfo("<stdin>"), buf).open()


def test_named_pipe_is_a_stream_source(tmp_path: Path) -> None:
    fifo = tmp_path / "nova-compute.log"
    os.mkfifo(fifo)
    data = text(1000)

    def writer() -> None:
        with open(fifo, "wb") as f:
            f.write(gzip.compress(data))

    (src,) = split(collect([str(fifo)]))[0]
    assert src.path is None and src.info.kind is SourceKind.NOVA_COMPUTE
    t = threading.Thread(target=writer)
    t.start()
    assert read_all(src) == data
    t.join()


# --------------------------------------------------------------------------- bad input


def test_unreadable_file_as_an_unprivileged_user(tmp_path: Path) -> None:
    """chmod 000 means nothing to root: drop to nobody in a subprocess to get a real EACCES."""
    base = Path(tempfile.mkdtemp(prefix="nma-unreadable-"))
    try:
        base.chmod(0o755)
        secret = write(base / "nova-compute.log", NOVA)
        secret.chmod(0)
        ok = write(base / "libvirtd.log", b"fine\n")
        ok.chmod(0o644)
        code = ("import json, os, sys\n"
                "from analyzer.sources import collect\n"
                "from analyzer.records import Problem\n"
                "if os.geteuid() == 0:\n"
                "    os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
                "out = []\n"
                "for it in collect(sys.argv[1:]):\n"
                "    if isinstance(it, Problem):\n"
                "        out.append(['problem', it.source, it.message, it.severity, it.offset])\n"
                "    else:\n"
                "        with it.open() as f:\n"
                "            out.append(['source', it.info.name, f.read().decode()])\n"
                "print(json.dumps(out))\n")
        run = subprocess.run([sys.executable, "-c", code, str(secret), str(base)],
                             capture_output=True, cwd=REPO, timeout=60,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
        assert run.returncode == 0, run.stderr.decode()
        out = json.loads(run.stdout)
        problems = [o for o in out if o[0] == "problem"]
        sources = [o for o in out if o[0] == "source"]
        # named explicitly, and found again by the directory walk: both say why, by name
        assert problems and all(p[1] == str(secret) for p in problems)
        assert all("Permission denied" in p[2] and p[3] == "error" and p[4] == 0
                   for p in problems)
        assert sources == [["source", str(ok), "fine\n"]]
    finally:
        shutil.rmtree(base)


def test_unopenable_special_file_even_as_root(tmp_path: Path) -> None:
    path = tmp_path / "nova-compute.log"
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(path))
        assert stat.S_ISSOCK(path.stat().st_mode)
        sources, problems = split(collect([str(path)]))
    finally:
        sock.close()
    assert sources == []
    (pr,) = problems
    assert pr.source == str(path) and pr.severity == "error" and "cannot open" in pr.message


def test_empty_file_is_a_warning(tmp_path: Path) -> None:
    p = write(tmp_path / "d" / "nova-compute.log", b"")
    q = write(tmp_path / "d" / "nova-compute.log.1.gz", gzip.compress(b""))
    for inputs in ([str(p)], [str(tmp_path / "d")]):
        sources, problems = split(collect(inputs))
        assert sources == []
        assert {pr.source for pr in problems} <= {str(p), str(q)}
        assert all("empty" in pr.message and pr.severity == "warning" and pr.offset == 0
                   for pr in problems)


def test_symlink_loops_in_a_directory_are_reported_and_do_not_hang(tmp_path: Path) -> None:
    d = tmp_path / "logs"
    write(d / "nova" / "nova-compute.log", NOVA)
    os.symlink("..", d / "nova" / "up")  # dir -> its parent: a cycle
    os.symlink("self.log", d / "self.log")  # a link to itself: ELOOP
    start = time.monotonic()
    sources, problems = split(collect([str(d)]))
    assert time.monotonic() - start < 10
    assert [s.info.name for s in sources] == [str(d / "nova" / "nova-compute.log")]
    by_source = {p.source: p.message for p in problems}
    assert "symlink loop" in by_source[str(d / "nova" / "up")]
    assert "symlink loop" in by_source[str(d / "self.log")]
    # the same loop given explicitly
    sources, problems = split(collect([str(d / "self.log")]))
    assert sources == [] and "symlink loop" in problems[0].message


def test_ten_thousand_small_files_do_not_explode(tmp_path: Path) -> None:
    d = tmp_path / "many"
    for i in range(10_000):
        sub = d / f"svc{i % 100}"
        if i < 100:
            sub.mkdir(parents=True)
        fd = os.open(sub / f"f{i}.log", os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(fd, b"x\n")
        os.close(fd)
    start = time.monotonic()
    sources, problems = split(collect([str(d)]))
    elapsed = time.monotonic() - start
    assert problems == [] and len(sources) == 10_000
    assert len({s.info.name for s in sources}) == 10_000
    assert elapsed < 30, f"collecting 10,000 files took {elapsed:.1f}s"
