"""Scan engines: find which catalogue patterns match which lines of a whole buffer.

Design (measured in shared/notes/matcher-benchmark.md on this machine kind):

* Hyperscan (PyPI ``hyperscan``, vectorscan inside) compiles every pattern into ONE database
  and scans multi-megabyte buffers at 1.5-2.2 GB/s; per-line designs are capped at
  ~0.35 GB/s by Python's line iteration, so we never loop over lines on the hot path.
* Where Hyperscan has no wheel, google-re2 with one combined alternation over the buffer
  reaches ~0.4 GB/s (ripgrep parity); each candidate line is then attributed to patterns
  with an ``re2.Set``. Python ``re``/``regex`` would be 30-600x slower, so they are only
  used on the few matched lines (field extraction), never for the scan.

Both engines return, for a buffer, a mapping ``line_end_offset -> set(pattern indexes)``
plus each line's start, so the caller decodes only matched lines.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

__all__ = ["Engine", "LineHits", "HyperscanEngine", "Re2Engine", "available_engines", "make_engine",
           "scan_expression"]


@dataclass(slots=True)
class LineHits:
    """Matched lines of one buffer: start offset and pattern indexes, keyed by line end."""

    starts: dict[int, int]
    ids: dict[int, set[int]]


class Engine(Protocol):
    name: str

    def scan(self, buf: Any, end: int, start: int = 0, scratch: Any = None) -> LineHits:
        """Scan ``buf[start:end]`` (whole lines) and return matched lines (offsets into buf).

        ``scratch`` (from :meth:`new_scratch`) lets several threads scan at once.
        """
        ...

    def new_scratch(self) -> Any:
        """Per-thread scan state (None where the engine needs none)."""
        ...


# Trailing greedy atoms do not change whether a line matches, but Hyperscan reports every
# end offset of a match, so `(?P<reason>[^\n]+)` on a 5 KB line would call back 5000 times.
# The scan expression drops them (the `regex` pass on the matched line extracts the field).
_TRAIL = re.compile(r"(?:\[(?:\\.|[^\]\\])+\]|\\.|(?<!\\)\.)([+*])(\)*)$")


def scan_expression(rx: str) -> str:
    """The pattern as compiled for the whole-buffer scan (trailing repeats trimmed)."""
    while True:
        m = _TRAIL.search(rx)
        if not m:
            return rx
        atom = rx[m.start():m.start(1)]
        before = rx[:m.start()]
        if atom.startswith("\\") and (len(before) - len(before.rstrip("\\"))) % 2:
            return rx  # the "escape" is itself an escaped backslash: leave the pattern alone
        if m.group(1) == "+":
            return rx[:m.start(1)] + m.group(2)  # one char still required
        rx = before + m.group(2)  # '*': the atom may be absent: drop it, keep trimming


def _line_bounds(buf: Any, end: int, pos: int, lo: int = 0) -> tuple[int, int]:
    """The line around ``pos``, clipped to the scanned region [lo, end)."""
    start = buf.rfind(b"\n", lo, pos) + 1 or lo
    stop = buf.find(b"\n", pos, end)
    return start, (end if stop < 0 else stop)


class HyperscanEngine:
    name = "hyperscan"

    def __init__(self, regexes: Sequence[str], caseless: Sequence[bool], cache_dir: Path | None,
                 digest: str) -> None:
        import hyperscan

        self._hs = hyperscan
        exprs = [scan_expression(r).encode() for r in regexes]
        flags = [hyperscan.HS_FLAG_MULTILINE | (hyperscan.HS_FLAG_CASELESS if c else 0)
                 for c in caseless]
        version = str(getattr(hyperscan, "__version__", ""))
        key = hashlib.sha256(repr((digest, exprs, flags, version)).encode()).hexdigest()[:32]
        self.db = None
        self.empty = not exprs  # an empty catalogue matches nothing (Hyperscan refuses 0 patterns)
        blob_path = cache_dir / f"hs-{key}.db" if cache_dir else None
        if blob_path is not None and blob_path.is_file():
            try:
                db0 = hyperscan.loadb(blob_path.read_bytes(), mode=hyperscan.HS_MODE_BLOCK)
                db0.scratch = hyperscan.Scratch(db0)  # a loaded database has no scratch space
                self.db = db0
            except Exception:  # a stale or foreign blob: recompile
                self.db = None
        if self.db is None and not self.empty:
            db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs),
                       flags=flags)
            self.db = db
            if blob_path is not None:
                try:
                    blob_path.parent.mkdir(parents=True, exist_ok=True)
                    tmp = blob_path.with_suffix(f".{os.getpid()}.tmp")
                    tmp.write_bytes(hyperscan.dumpb(db))
                    tmp.replace(blob_path)
                except OSError:
                    pass  # the cache is an optimisation only
        self._scratch = None

    def new_scratch(self) -> Any:
        if self.empty:
            return None
        return self._hs.Scratch(self.db)

    def scan(self, buf: Any, end: int, start: int = 0, scratch: Any = None) -> LineHits:
        starts: dict[int, int] = {}
        ids: dict[int, set[int]] = {}
        if self.empty:
            return LineHits(starts, ids)
        # Callback state: most hits of one line arrive together, so remember the last line.
        last = [-1, -1]  # [line_start, line_end) of the previous hit

        def on_match(pid: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            pos = start + to - 1  # the last byte of the match lies on the matched line
            if last[0] <= pos < last[1]:
                ids[last[1]].add(pid)
                return
            s, e = _line_bounds(buf, end, pos, start)
            last[0], last[1] = s, e
            starts[e] = s
            ids.setdefault(e, set()).add(pid)

        data: Any = buf if (start == 0 and end == len(buf)) else memoryview(buf)[start:end]
        db: Any = self.db
        if scratch is None:
            db.scan(data, match_event_handler=on_match)
        else:
            db.scan(data, match_event_handler=on_match, scratch=scratch)
        return LineHits(starts, ids)


class Re2Engine:
    """Fallback: one combined RE2 alternation over the buffer, then an re2.Set per hit line."""

    name = "re2"

    def __init__(self, regexes: Sequence[str], caseless: Sequence[bool]) -> None:
        import re2

        self._re2 = re2
        parts = []
        for rx, ci in zip(regexes, caseless):
            body = _strip_names(scan_expression(rx))
            parts.append(f"(?i:{body})" if ci else f"(?:{body})")
        opts = re2.Options()
        opts.max_mem = 256 << 20
        # bytes are matched as Latin-1, like Hyperscan matches bytes: a line with invalid
        # UTF-8 (a replaced display name, binary noise) must still match
        opts.encoding = re2.Options.Encoding.LATIN1
        self._combined = re2.compile("|".join(parts).encode("utf-8"),
                                     options=opts) if parts else None
        self._set = re2.Set.SearchSet(opts)
        for p in parts:
            self._set.Add(p.encode("utf-8"))
        self._set.Compile()

    def new_scratch(self) -> Any:
        return None  # re2 objects are thread-safe

    def scan(self, buf: Any, end: int, start: int = 0, scratch: Any = None) -> LineHits:
        starts: dict[int, int] = {}
        ids: dict[int, set[int]] = {}
        if self._combined is None:
            return LineHits(starts, ids)
        data = bytes(memoryview(buf)[start:end])
        n = len(data)
        pos = 0
        while pos < n:
            m = self._combined.search(data, pos)
            if m is None:
                break
            s, e = _line_bounds(data, n, m.start())
            hit = self._set.Match(data[s:e])
            if hit:
                starts[start + e] = start + s
                ids[start + e] = set(hit)
            pos = e + 1
        return LineHits(starts, ids)


def _strip_names(rx: str) -> str:
    return re.sub(r"\(\?P<[A-Za-z_][A-Za-z0-9_]*>", "(?:", rx)


#: the scan engines, fastest first
_ENGINES = ("hyperscan", "re2")


def _importable(module: str) -> bool:
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def available_engines() -> list[str]:
    return [n for n in _ENGINES if _importable(n)]


def make_engine(name: str | None, regexes: Sequence[str], caseless: Sequence[bool],
                digest: str, cache_dir: Path | None) -> Engine:
    """Build the named engine, or the fastest available one when name is None/'auto'.

    Only the engine chosen is imported: importing re2 beside Hyperscan cost `nma scan` ~6 ms
    of start-up for nothing."""
    from ..errors import UsageError

    if name in (None, "auto"):
        name = next((n for n in _ENGINES if _importable(n)), None)
        if name is None:
            raise UsageError("no scan engine: pip install hyperscan (or google-re2)")
    elif name not in _ENGINES or not _importable(name):
        avail = available_engines()
        raise UsageError(f"unknown or unavailable engine {name!r}; available: {', '.join(avail) or 'none'}")
    if name == "hyperscan":
        return HyperscanEngine(regexes, caseless, cache_dir, digest)
    return Re2Engine(regexes, caseless)
