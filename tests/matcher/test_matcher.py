"""The streaming matcher against a naive per-line reference, across chunk boundaries.

The catalogue here is a small throwaway one built in tmp_path (the real catalogue is tested
by tests/catalogue/test_samples.py); what is under test is the chunking, line numbering,
record joining and both engines agreeing.
"""

from __future__ import annotations

import io
import random
import re
import textwrap
from pathlib import Path

import pytest

import analyzer.matcher as matcher_mod
from analyzer.catalogue.loader import load_catalogue
from analyzer.matcher import Matcher, available_engines, scan_expression

#: the two newline counters line numbering can run on: StringZilla's (installed as a
#: dependency) and the stdlib fallback used where it is missing
COUNTERS = {"stringzilla": matcher_mod._count_newlines_sz, "stdlib": matcher_mod._count_newlines_py}

PAT = textwrap.dedent("""\
    id: {id}
    title: t
    status: test
    kind: cause
    cause: other
    severity: error
    confidence: 0.5
    sources: [nova-compute]
    match:
      regex: '{rx}'
      caseless: {ci}
    summary: s
    why: w
    fix: f
    references: [here]
    samples:
      match: ['{m}']
      no_match: ['nothing to see here at all']
    """)

RXES = [
    ("LM901", r"Live Migration failure: (?P<reason>[^\n]+)", "false", "Live Migration failure: x"),
    ("LM902", r"cannot acquire state change lock", "false", "cannot acquire state change lock"),
    ("LM903", r"unexpectedly closed the monitor", "true", "QEMU UNEXPECTEDLY closed the monitor"),
    ("LM904", r"Migration running for (?P<secs>[0-9]+) secs", "false", "Migration running for 5 secs"),
]


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    d = tmp_path_factory.mktemp("pats")
    for pid, rx, ci, m in RXES:
        (d / f"{pid}-x.yaml").write_text(PAT.format(id=pid, rx=rx, ci=ci, m=m))
    return load_catalogue([d], builtin=False)


def _start(line: bytes) -> bool:
    return bool(re.match(rb"\d{4}-\d\d-\d\d ", line))


def _corpus(seed: int, n: int = 3000) -> bytes:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        r = rnd.random()
        ts = f"2024-07-11 22:{i // 60 % 60:02d}:{i % 60:02d}.000 2 "
        if r < 0.02:
            out.append(ts + f"ERROR nova.virt.libvirt.driver [-] Live Migration failure: reason {i}")
        elif r < 0.03:
            out.append(ts + "ERROR x [-] CPU doesn't have compatibility.\n\n0\n\nRefer to cannot acquire state change lock")
        elif r < 0.05:
            out.append(ts + f"INFO x [-] Migration running for {i} secs, memory 5% remaining")
        elif r < 0.06:
            out.append(ts + "ERROR x [-] internal error: qemu Unexpectedly Closed The Monitor: tail")
        else:
            out.append(ts + "DEBUG oslo_service.periodic_task [-] Running periodic task " + "x" * rnd.randint(0, 300))
    return ("\n".join(out) + "\n").encode()


def _reference(data: bytes) -> dict[int, set[str]]:
    """line number -> pattern ids, one line at a time with Python re (slow but obvious)."""
    out: dict[int, set[str]] = {}
    for no, line in enumerate(data.split(b"\n"), 1):
        text = line.decode()
        for pid, rx, ci, _ in RXES:
            if re.search(rx, text, re.I if ci == "true" else 0):
                out.setdefault(no, set()).add(pid)
    return out


@pytest.mark.parametrize("counter", sorted(COUNTERS))
@pytest.mark.parametrize("engine", available_engines())
@pytest.mark.parametrize("chunk", [256, 1000, 4096, 1 << 20])
def test_hits_equal_reference_across_chunk_boundaries(catalogue, engine: str, chunk: int, counter: str,  # type: ignore[no-untyped-def]
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matcher_mod, "_count_newlines", COUNTERS[counter])
    data = _corpus(seed=chunk)
    m = Matcher(catalogue, engine=engine, cache_dir=None)
    got: dict[int, set[str]] = {}
    warnings: list[str] = []
    stats: dict[str, int] = {}
    for hit in m.iter_hits(io.BytesIO(data), is_record_start=_start, chunk_size=chunk,
                           on_warning=lambda msg, line, off: warnings.append(msg), stats=stats):
        for i in hit.hit_lines:
            got.setdefault(hit.line_no + i, set()).update(m.patterns[j].id for j in hit.pattern_idx)
    ref = _reference(data)
    assert set(got) == set(ref)
    for line in ref:
        assert ref[line] <= got[line]
    assert stats["bytes"] == len(data)
    assert stats["lines"] == data.count(b"\n")
    assert not warnings


@pytest.mark.parametrize("chunk", [128, 4096])
def test_multiline_records_are_joined_even_at_chunk_edges(catalogue, chunk: int) -> None:  # type: ignore[no-untyped-def]
    data = _corpus(seed=7, n=600)
    m = Matcher(catalogue, cache_dir=None)
    joined = [h for h in m.iter_hits(io.BytesIO(data), is_record_start=_start, chunk_size=chunk,
                                     on_warning=lambda *a: None)
              if h.lines[0].endswith(b"CPU doesn't have compatibility.")]
    assert joined, "the corpus has multi-line records"
    for h in joined:
        assert h.lines[1:] == (b"", b"0", b"", b"Refer to cannot acquire state change lock")
        assert h.hit_lines == (4,)  # the continuation line is the one that matched


def test_nul_bytes_and_overlong_line_are_reported_not_fatal(catalogue) -> None:  # type: ignore[no-untyped-def]
    data = (b"2024-07-11 22:00:00.000 2 INFO a [-] ok\n" + b"\x00\x01binary\n"
            + b"y" * 150000 + b" Live Migration failure: inside a huge line " + b"z" * 150000 + b"\n"
            + b"2024-07-11 22:00:01.000 2 ERROR a [-] Live Migration failure: after\n")
    m = Matcher(catalogue, cache_dir=None)
    warnings: list[tuple[str, int | None]] = []
    hits = list(m.iter_hits(io.BytesIO(data), is_record_start=_start, chunk_size=1024,
                            max_line=2048, on_warning=lambda msg, line, off: warnings.append((msg, line))))
    assert any("NUL" in w for w, _ in warnings) and ("binary data (NUL bytes) in the stream; scanning it as text", 2) in warnings
    assert any("longer than" in w for w, _ in warnings)
    assert hits[-1].lines[0].endswith(b"Live Migration failure: after")
    assert hits[-1].line_no == 4


@pytest.mark.parametrize("window", [64, 4096])
def test_mapped_path_reports_nul_bytes_at_their_line(catalogue, tmp_path: Path, window: int) -> None:  # type: ignore[no-untyped-def]
    lines = [f"2024-07-11 22:00:{i:02d}.000 2 INFO a [-] ok {i}".encode() for i in range(40)]
    lines[23] = b"\x00\x01binary"
    lines[30] = b"2024-07-11 22:00:30.000 2 ERROR a [-] Live Migration failure: after"
    f = tmp_path / "nul.log"
    f.write_bytes(b"\n".join(lines) + b"\n")
    warnings: list[tuple[str, int | None, int | None]] = []
    hits = list(Matcher(catalogue, cache_dir=None).iter_hits_mapped(
        str(f), is_record_start=_start, window=window,
        on_warning=lambda msg, line, off: warnings.append((msg, line, off))))
    nul_at = f.read_bytes().index(b"\x00")
    assert warnings == [("binary data (NUL bytes) in the stream; scanning it as text", 24, nul_at)]
    assert [h.line_no for h in hits] == [31]


@pytest.mark.parametrize("data", [b"", b"\n", b"abc", b"a\nb\n\nc\n", bytes(range(256)) * 300])
def test_newline_counters_agree(data: bytes, tmp_path: Path) -> None:
    import mmap

    rnd = random.Random(len(data))
    f = tmp_path / "c.bin"
    f.write_bytes(data or b"\0")
    with open(f, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        view = memoryview(mm)
        try:
            for buf in (bytearray(data), memoryview(bytearray(data)), view if data else bytearray()):
                n = len(buf)
                for _ in range(50):
                    a, b = rnd.randint(0, n + 2), rnd.randint(0, n + 2)  # past the end, or b < a
                    want = bytes(buf)[a:b].count(b"\n")
                    assert [c(buf, a, b) for c in COUNTERS.values()] == [want, want]
        finally:
            view.release()


def test_scan_expression_trims_trailing_repeats() -> None:
    assert scan_expression(r"failure: (?P<reason>[^\n]+)") == r"failure: (?P<reason>[^\n])"
    assert scan_expression(r"abc [^\n]*") == "abc "
    assert scan_expression(r"lock(?: \(held by (?P<o>[^)\n]+)\))?") == r"lock(?: \(held by (?P<o>[^)\n]+)\))?"


def test_compiled_database_is_cached(catalogue, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if "hyperscan" not in available_engines():
        pytest.fail("hyperscan is a declared dependency on this platform: pip install hyperscan")
    Matcher(catalogue, engine="hyperscan", cache_dir=tmp_path)
    blobs = list(tmp_path.glob("hs-*.db"))
    assert len(blobs) == 1
    m2 = Matcher(catalogue, engine="hyperscan", cache_dir=tmp_path)
    hits = list(m2.iter_hits(io.BytesIO(b"x Live Migration failure: y\n"), is_record_start=_start,
                             on_warning=lambda *a: None))
    assert len(hits) == 1


@pytest.mark.parametrize("counter", sorted(COUNTERS))
@pytest.mark.parametrize("engine", available_engines())
@pytest.mark.parametrize("window", [300, 4096, 1 << 20])
def test_mapped_file_path_equals_reference(catalogue, engine: str, window: int, tmp_path: Path,  # type: ignore[no-untyped-def]
                                           counter: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The mmap + worker-thread path gives the same lines, numbers and joins as the reference."""
    monkeypatch.setattr(matcher_mod, "_count_newlines", COUNTERS[counter])
    data = _corpus(seed=window)
    path = tmp_path / "x.log"
    path.write_bytes(data)
    m = Matcher(catalogue, engine=engine, cache_dir=None)
    got: dict[int, set[str]] = {}
    stats: dict[str, int] = {}
    joined = 0
    for hit in m.iter_hits_mapped(str(path), is_record_start=_start, window=window,
                                  on_warning=lambda *a: pytest.fail(str(a)), stats=stats):
        joined += hit.lines[0].endswith(b"CPU doesn't have compatibility.")
        for i in hit.hit_lines:
            got.setdefault(hit.line_no + i, set()).update(m.patterns[j].id for j in hit.pattern_idx)
    ref = _reference(data)
    assert set(got) == set(ref)
    assert all(ref[line] <= got[line] for line in ref)
    assert stats == {"bytes": len(data), "lines": data.count(b"\n")}
    assert joined == data.count(b"CPU doesn't have compatibility.")


def _pair_catalogue(tmp: Path):  # type: ignore[no-untyped-def]
    for pid, rx in (("LM911", "FIRST marker here"), ("LM912", "SECOND marker here")):
        (tmp / f"{pid}-x.yaml").write_text(PAT.format(id=pid, rx=rx, ci="false", m=rx))
    return load_catalogue([tmp], builtin=False)


@pytest.mark.parametrize("window", [21, 40, 64])
def test_record_straddling_windows_keeps_every_hit(tmp_path: Path, window: int) -> None:
    """Review bug 2: a continuation line in the next mmap window must add its pattern."""
    cat = _pair_catalogue(tmp_path)
    data = b"2026-01-01 rec FIRST marker here\n  cont SECOND marker here\n2026-01-01 next\n"
    f = tmp_path / "a.log"
    f.write_bytes(data)
    m = Matcher(cat, cache_dir=None)
    (hit,) = list(m.iter_hits_mapped(str(f), is_record_start=_start, window=window,
                                     on_warning=lambda *a: None))
    assert hit.line_no == 1 and hit.hit_lines == (0, 1) and len(hit.pattern_idx) == 2
    assert hit.lines == (b"2026-01-01 rec FIRST marker here", b"  cont SECOND marker here")


@pytest.mark.parametrize("chunk", [22, 30, 50])
def test_stream_continuation_hit_finds_record_start_in_previous_chunk(tmp_path: Path, chunk: int) -> None:
    """Review bug 3: the record start (with its ids) lies in the chunk already consumed."""
    cat = _pair_catalogue(tmp_path)
    data = b"2026-01-01 rec no hit\n  cont SECOND marker here\n2026-01-01 next\n"
    m = Matcher(cat, cache_dir=None)
    stats: dict[str, int] = {}
    (hit,) = list(m.iter_hits(io.BytesIO(data), is_record_start=_start, chunk_size=chunk,
                              on_warning=lambda *a: None, stats=stats))
    assert hit.line_no == 1 and hit.hit_lines == (1,)
    assert hit.lines == (b"2026-01-01 rec no hit", b"  cont SECOND marker here")
    assert stats == {"bytes": len(data), "lines": 3}


@pytest.mark.parametrize("mapped", [False, True])
def test_last_line_without_newline_is_its_own_record(tmp_path: Path, mapped: bool) -> None:
    """Review bug 6: the final unterminated line is a record start, not a continuation."""
    cat = _pair_catalogue(tmp_path)
    data = b"2026-01-01 a FIRST marker here\n2026-01-01 b next record"
    f = tmp_path / "b.log"
    f.write_bytes(data)
    m = Matcher(cat, cache_dir=None)
    stats: dict[str, int] = {}
    if mapped:
        hits = list(m.iter_hits_mapped(str(f), is_record_start=_start, on_warning=lambda *a: None,
                                       stats=stats))
    else:
        hits = list(m.iter_hits(io.BytesIO(data), is_record_start=_start, on_warning=lambda *a: None,
                                stats=stats))
    assert [h.lines for h in hits] == [(b"2026-01-01 a FIRST marker here",)]
    assert stats["lines"] == 2
