"""HTML reporter: self-contained, escaped, and drawn correctly by a real headless browser.

The browser tests run Debian's ``chromium`` (``apt-get install -y chromium``). Without it they
FAIL with the install command; ``NMA_NO_BROWSER=1`` turns that into a skip. The screenshot is
checked with a tiny PNG decoder (zlib + the five PNG row filters) so no imaging library is
needed.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from analyzer.model import Report, Summary
from analyzer.records import Problem
from analyzer.report import render
from analyzer.report._common import as_utc, lane_hosts
from analyzer.report.html import COLORS

INSTALL = "apt-get install -y chromium"
EVIL = "<script>alert('x')</script> & \"quoted\" <b>bold</b>"


# -- HTML structure -----------------------------------------------------------------------


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


class Dom(HTMLParser):
    """Flat list of elements (with the text directly inside each) from an HTML string."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(source)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(el)
        if tag not in ("meta", "br", "line", "circle", "rect", "polyline", "polygon", "i"):
            self._open.append(el)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i].tag == tag:
                del self._open[i:]
                break

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1].text += data

    def find(self, tag: str, cls: str | None = None) -> list[Element]:
        return [e for e in self.elements
                if e.tag == tag and (cls is None or cls in e.classes)]


def svgs(dom: Dom, cls: str) -> Iterator[list[Element]]:
    """The elements of each ``<svg class=cls>``, in document order."""
    current: list[Element] | None = None
    for el in dom.elements:
        if el.tag == "svg":
            if current is not None:
                yield current
            current = [] if cls in el.classes else None
        elif current is not None:
            current.append(el)
    if current is not None:
        yield current


EXTERNAL_REF = [
    re.compile(r"""\b(?:src|href|xlink:href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//""",
               re.I),
    re.compile(r"@import", re.I),
    re.compile(r"""url\(\s*["']?\s*(?:https?:)?//""", re.I),
    re.compile(r"<(?:script|link|iframe|object|embed|img)\b", re.I),
]


def test_self_contained(report: Report) -> None:
    page = render(report, "html")
    for rx in EXTERNAL_REF:
        assert not rx.search(page), rx.pattern
    dom = Dom(page)
    assert len(dom.find("style")) == 1
    csp = [m for m in dom.find("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0].attrs["content"]
    assert page.startswith("<!DOCTYPE html>")


def test_catches_external_references() -> None:
    """The check above is not vacuous."""
    for bad in ('<img src="https://x/y.png">', "<style>@import 'a.css';</style>",
                '<div style="background:url(http://x/a.png)">', '<a href="//x/">',
                "<script>1</script>"):
        assert any(rx.search(bad) for rx in EXTERNAL_REF), bad


def test_log_text_is_escaped(report: Report, build: Any) -> None:
    m = report.migrations[0]
    assert m.root_cause is not None
    ev = dataclasses.replace(m.root_cause.evidence[0], text=EVIL, host=EVIL)
    tl = tuple(dataclasses.replace(e, text=EVIL, title=EVIL) for e in m.timeline)
    m = dataclasses.replace(m, timeline=tl, root_cause=dataclasses.replace(
        m.root_cause, evidence=(ev,), why=EVIL, fix=EVIL))
    r = build.make_report(migrations=(m,), problems=(Problem(source=EVIL, message=EVIL),))
    page = render(r, "html")
    assert "<script>" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quoted&quot;" in page
    dom = Dom(page)
    assert not dom.find("script")
    assert not [b for b in dom.find("b") if b.text == "bold"]  # the injected <b> stayed text
    # every tooltip still carries the (escaped, then decoded) text
    titles = [t.text for t in dom.find("title")]
    assert any("<script>alert('x')</script>" in t for t in titles)


def test_timeline_svg_lanes_and_marks(report: Report) -> None:
    dom = Dom(render(report, "html"))
    drawn = list(svgs(dom, "timeline"))
    assert len(drawn) == len(report.migrations)
    for m, els in zip(report.migrations, drawn):
        lanes = [e for e in els if e.tag == "g" and "lane" in e.classes]
        assert [ln.attrs["data-host"] for ln in lanes] == [h or "(unknown host)"
                                                           for h in lane_hosts(m)]
        marks = [e for e in els if "mark" in e.classes]
        timed = [e for e in m.timeline if e.timestamp is not None]
        assert len(marks) == len(timed)
        primary = [e for e in marks if "primary-cause" in e.classes]
        assert len(primary) == (1 if m.root_cause else 0)
        if m.root_cause:
            assert primary[0].attrs["fill"] == COLORS["cause"]
        # x grows with clock-corrected time (the tooltips name the time)
        xs: list[tuple[str, float]] = []
        for mk in marks:
            x = float(mk.attrs["cx"]) if "cx" in mk.attrs else float(
                mk.attrs["points"].split()[0].split(",")[0])
            title = next(e for e in els[els.index(mk):] if e.tag == "title").text
            xs.append((title.split("Z", 1)[0], x))
        xs.sort()
        assert [x for _, x in xs] == sorted(x for _, x in xs)
        assert m.timeline[0].timestamp is not None
        span = (as_utc(timed[-1].timestamp) - as_utc(timed[0].timestamp)).total_seconds()  # type: ignore[arg-type]
        assert max(x for _, x in xs) - min(x for _, x in xs) > (100 if span > 0 else -1)


def test_convergence_svg(report: Report) -> None:
    dom = Dom(render(report, "html"))
    charts = list(svgs(dom, "convergence"))
    conv = [m for m in report.migrations if m.convergence is not None]
    assert len(charts) == len(conv) == 1
    els = charts[0]
    c = conv[0].convergence
    assert c is not None
    poly = [e for e in els if e.tag == "polyline" and "memory" in e.classes]
    assert len(poly) == 1
    pts = [tuple(map(float, p.split(","))) for p in poly[0].attrs["points"].split()]
    assert len(pts) == len(c.points)
    # x follows elapsed seconds, y grows downwards as memory remaining falls
    assert [p[0] for p in pts] == sorted(p[0] for p in pts)
    by_pct = sorted(zip((p.memory_remaining_pct for p in c.points), (y for _, y in pts)))
    assert [y for _, y in by_pct] == sorted((y for _, y in by_pct), reverse=True)
    labels = {e.text for e in els if e.tag == "text"}
    assert {"elapsed (s)", "memory remaining (%)", "0%", "100%"} <= labels


# -- browser ------------------------------------------------------------------------------


def _chromium() -> str:
    if os.environ.get("NMA_NO_BROWSER") == "1":
        pytest.skip("NMA_NO_BROWSER=1: headless-browser checks of the HTML report skipped")
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail(f"chromium is not installed; install it with `{INSTALL}` "
                    "(or set NMA_NO_BROWSER=1 to skip the browser checks)", pytrace=False)
    return exe


def _run(exe: str, page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--hide-scrollbars", f"--user-data-dir={profile}", *args, page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, f"{' '.join(cmd)} -> {proc.returncode}\n{proc.stderr[-2000:]}"
    return proc


@dataclass
class Rendered:
    dom: str
    png: bytes


def _browse(exe: str, report: Report, tmp: Path) -> Rendered:
    page = tmp / "report.html"
    page.write_text(render(report, "html"), encoding="utf-8")
    shot = tmp / "report.png"
    _run(exe, page, tmp / "profile", f"--screenshot={shot}", "--window-size=1280,2000")
    dom = _run(exe, page, tmp / "profile", "--dump-dom").stdout
    return Rendered(dom=dom, png=shot.read_bytes())


@pytest.fixture(scope="module")
def browsed(tmp_path_factory: pytest.TempPathFactory, build: Any) -> Rendered:
    return _browse(_chromium(), build.make_report(), tmp_path_factory.mktemp("html"))


@pytest.fixture(scope="module")
def browsed_success(tmp_path_factory: pytest.TempPathFactory, build: Any) -> Rendered:
    r = build.make_report(migrations=(build.completed_migration(),), problems=(),
                          summary=Summary("none", 1, 0))
    return _browse(_chromium(), r, tmp_path_factory.mktemp("html-ok"))


@dataclass
class Image:
    width: int
    height: int
    channels: int
    rows: list[bytes]

    def count(self, rgb: tuple[int, int, int]) -> int:
        """Pixels of exactly this colour (alpha ignored)."""
        target, n, step = bytes(rgb), 0, self.channels
        for row in self.rows:
            i = row.find(target)
            while i != -1:
                if i % step == 0:
                    n += 1
                i = row.find(target, i + 1)
        return n

    def ink(self) -> float:
        """Share of colour samples that are not pure white (255)."""
        total = sum(len(r) for r in self.rows)
        return sum(len(r) - r.count(b"\xff") for r in self.rows) / total


def decode_png(data: bytes) -> Image:
    """8-bit RGB/RGBA, non-interlaced PNG (what Chromium writes) -> rows of pixels."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, []
    width = height = channels = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
            channels = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    raw = zlib.decompress(b"".join(idat))
    stride, bpp = width * channels, channels
    # Up-filter rows add the row above bytewise; SWAR on big ints does it without a Python
    # loop per byte (the low 7 bits cannot carry past bit 7; bit 7 is an XOR)
    low7 = int.from_bytes(b"\x7f" * stride, "big")
    high = int.from_bytes(b"\x80" * stride, "big")
    prev = bytearray(stride)
    rows: list[bytes] = []
    for y in range(height):
        off = y * (stride + 1)
        ftype, line = raw[off], bytearray(raw[off + 1: off + 1 + stride])
        if ftype == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif ftype == 2:
            a, b = int.from_bytes(line, "big"), int.from_bytes(prev, "big")
            line = bytearray((((a & low7) + (b & low7)) ^ ((a ^ b) & high)).to_bytes(stride, "big"))
        elif ftype == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        else:
            assert ftype == 0, f"bad filter {ftype} in row {y}"
        rows.append(bytes(line))
        prev = line
    return Image(width, height, channels, rows)


def test_png_decoder_round_trip() -> None:
    """The decoder itself, on a PNG built here with every filter type."""
    w, h = 5, 5
    pixels = [bytes((x * 40, y * 50, (x * y * 7) & 0xFF)) * 1 for y in range(h) for x in range(w)]
    rows = [b"".join(pixels[y * w:(y + 1) * w]) for y in range(h)]
    filtered = b""
    prev = bytes(w * 3)
    for y, row in enumerate(rows):  # filter type y (0..4) on row y
        out = bytearray()
        for i, v in enumerate(row):
            a = row[i - 3] if i >= 3 else 0
            b, c = prev[i], prev[i - 3] if i >= 3 else 0
            p = a + b - c
            paeth = a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else (
                b if abs(p - b) <= abs(p - c) else c)
            pred = (0, a, b, (a + b) >> 1, paeth)[y]
            out.append((v - pred) & 0xFF)
        filtered += bytes([y]) + bytes(out)
        prev = row

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(filtered)) + chunk(b"IEND", b""))
    img = decode_png(png)
    assert img.rows == rows
    assert img.count((0, 50, 0)) == 1


def _rgb(hex_color: str) -> tuple[int, int, int]:
    v = int(hex_color.lstrip("#"), 16)
    return (v >> 16, (v >> 8) & 0xFF, v & 0xFF)


def test_browser_screenshot_shows_the_report_and_the_cause(browsed: Rendered) -> None:
    img = decode_png(browsed.png)
    assert (img.width, img.height) == (1280, 2000)
    assert img.ink() > 0.02, "screenshot is (nearly) blank"
    # the cause highlight (badge, verdict border, the timeline's cause mark) is on screen
    assert img.count(_rgb(COLORS["cause"])) > 200


def test_cause_colour_is_absent_without_a_failure(browsed_success: Rendered) -> None:
    """Negative control: the colour check above measures the highlight, not chance."""
    img = decode_png(browsed_success.png)
    assert img.ink() > 0.02
    assert img.count(_rgb(COLORS["cause"])) == 0


def test_browser_dom_has_the_svg_charts(browsed: Rendered, build: Any) -> None:
    report: Report = build.make_report()
    dom = Dom(browsed.dom)
    assert len(dom.find("svg", "timeline")) == len(report.migrations)
    assert len(dom.find("svg", "convergence")) == 1
    lanes = sum(len(lane_hosts(m)) for m in report.migrations)
    assert len(dom.find("g", "lane")) == lanes
    assert len(dom.find("circle", "primary-cause")) == 1
    assert len(dom.find("polyline", "memory")) == 1
    assert any(t.text == "elapsed (s)" for t in dom.find("text"))
    # the browser did not drop the inline style: its rules are still in the DOM
    assert any("--cause" in s.text for s in dom.find("style"))
