"""Odd input: empty lines, huge lines, replacement characters, tabs, bare timestamps, garbage.

parse_record must never raise and must stay cheap; is_record_start must stay cheap on the
neighbouring lines the matcher did not select.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest

from analyzer.parsers import is_record_start, parse_record
from analyzer.records import Record, SourceInfo, SourceKind

ParseFn = Callable[..., Record]  # the `parse` fixture (conftest.py)

OSLO_HEAD = "2024-07-11 22:10:59.946 2 ERROR nova.virt.libvirt.driver [-] "


def test_empty_line(parse: ParseFn) -> None:
    assert not is_record_start("")
    r = parse("", line_no=3)
    assert (r.fmt, r.message, r.text, r.line, r.end_line, r.timestamp) == ("raw", "", "", 3, 3, None)


def test_no_lines_at_all() -> None:
    r = parse_record([], SourceInfo("x.log", kind=SourceKind.QEMU), 5, timezone.utc)
    assert (r.message, r.kind, r.line) == ("", SourceKind.QEMU, 5)


@pytest.mark.parametrize("body", ["x" * 1_000_000, "é" * 1_000_000, "a:" * 500_000,
                                  "/" * 1_000_000 + ":2024-07-11 22:10:59.946"])
def test_one_megabyte_lines(parse: ParseFn, body: str) -> None:
    for line in (body, OSLO_HEAD + body):
        t0 = time.perf_counter()
        start = is_record_start(line)
        r = parse(line)
        elapsed = time.perf_counter() - t0
        assert elapsed < 0.25, f"{elapsed:.3f}s for a {len(line)} character line"
        assert start is line.startswith("2024")
        assert len(r.text) == len(line)
        if start:
            assert r.fmt == "oslo" and r.message == body


def test_replacement_characters_survive(parse: ParseFn) -> None:
    # bytes that were not UTF-8, already decoded with errors="replace"
    line = OSLO_HEAD + "Live Migration failure: \ufffd\ufffd bad bytes"
    r = parse(line)
    assert r.fmt == "oslo" and r.message == "Live Migration failure: \ufffd\ufffd bad bytes"
    r = parse("\ufffd\ufffd\ufffd")
    assert r.fmt == "raw" and r.message == "\ufffd\ufffd\ufffd"


def test_tabs(parse: ParseFn) -> None:
    r = parse(OSLO_HEAD + "a\tb")
    assert r.message == "a\tb"
    tabbed = "2024-07-11 22:10:59.946\t2\tERROR\tnova.x\t[-]\tmsg"  # not oslo's layout
    r = parse(tabbed)
    assert r.fmt == "raw" and r.text == tabbed
    assert r.timestamp == datetime(2024, 7, 11, 22, 10, 59, 946000, tzinfo=timezone.utc)
    assert not is_record_start("\tat continuation")


@pytest.mark.parametrize(("line", "expected", "assumption"), [
    ("2024-07-11 22:10:59.946", datetime(2024, 7, 11, 22, 10, 59, 946000, tzinfo=timezone.utc),
     "assumed UTC (--tz)"),
    ("2024-07-11T22:10:59Z", datetime(2024, 7, 11, 22, 10, 59, tzinfo=timezone.utc), "explicit"),
    ("2024-01-15 10:23:45.123+0000", datetime(2024, 1, 15, 10, 23, 45, 123000, tzinfo=timezone.utc),
     "explicit"),
])
def test_line_that_is_only_a_timestamp(parse: ParseFn, line: str, expected: datetime,
                                       assumption: str) -> None:
    assert is_record_start(line)
    r = parse(line)
    assert r.fmt == "raw" and r.message == line
    assert (r.timestamp, r.tz_assumption) == (expected, assumption)


def test_impossible_dates_do_not_raise(parse: ParseFn) -> None:
    for line in ["2024-13-45 99:99:99.999 2 ERROR nova.x [-] y",
                 "2024-02-30T25:61:00.000000Z qemu-system-x86_64: x",
                 "Feb 30 25:61:99 host prog[1]: x",
                 "type=AVC msg=audit(99999999999999999999.1:2): x",
                 "[Mon Foo 99 10:23:45 2024] x"]:
        r = parse(line)
        assert r.text == line


@pytest.mark.parametrize(("line", "hours"), [
    ("9999-12-31 23:59:59.999 2 ERROR nova.compute.manager [-] y", -5),
    ("0001-01-01 00:00:00.000 2 ERROR nova.compute.manager [-] y", 5),
    ("0001-01-01T00:00:00.000+05:00 h nova-compute[1]: y", 0),
])
def test_dates_at_the_edge_of_the_calendar(parse: ParseFn, line: str, hours: int) -> None:
    r = parse(line, tz=timezone(timedelta(hours=hours)))
    assert r.timestamp is None and r.message == "y"  # other fields still parsed
    assert r.kind is SourceKind.NOVA_COMPUTE


def test_crlf_line_endings(parse: ParseFn) -> None:
    r = parse([OSLO_HEAD + "first\r", "second\r"])
    assert r.message == "first\nsecond" and "\r" not in r.text


def test_random_garbage_never_raises() -> None:
    rng = random.Random(20240711)
    alphabet = "0123456789-: T.+Z[]()=/\"'abcqemuJulkernel\x1b#\ufffd\t"
    info = SourceInfo("fuzz", kind=SourceKind.SYSLOG)
    seeds = ["2024-07-11 22:10:59.946 2 ", "Jul 11 18:10:59 h p[1]: ", "2024-07-11T22:10:59Z ",
             "type=AVC msg=audit(1.2:3): ", "/a/b.log:1:", "[1.2] ", ""]
    for _ in range(3000):
        line = rng.choice(seeds) + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        is_record_start(line)
        is_record_start(line, SourceKind.NOVA_COMPUTE)
        r = parse_record([line, line[::-1]], info, 1, timezone.utc)
        assert r.source == "fuzz" and r.end_line == 2
        assert r.timestamp is None or r.timestamp.utcoffset() is not None
