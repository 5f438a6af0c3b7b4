"""The streaming matcher: one pass over a byte stream, every catalogue pattern at once.

Hot path (see engines.py for the engine choice and the figures behind it):

1. ``readinto`` a fixed 16 MiB buffer (bounded memory whatever the input size);
2. scan everything up to the last newline with ONE engine call;
3. only for matched lines (about 1 in 1,000 on a compute host): compute the line number
   (one ``bytes.count`` from the previous hit), find the record start and its continuation
   lines, and hand them on. Nothing on the hot path is a Python loop over lines.

A record whose continuation lines run past the end of the buffer is deferred to the next
round (the buffer keeps it), so multi-line records are never cut at chunk boundaries.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import regex

try:  # numpy counts newlines ~4x faster than bytearray.count (bench/README figures)
    import numpy as _np
except ImportError:  # pragma: no cover - numpy is a declared dependency
    _np = None

from .._cache import default_cache_dir
from ..catalogue import Catalogue
from ..catalogue.schema import Pattern
from .engines import Engine, available_engines, make_engine, scan_expression

__all__ = ["Matcher", "RawHit", "available_engines", "scan_expression", "default_cache_dir",
           "CHUNK_SIZE", "MAX_LINE", "MAX_CONTINUATION_LINES"]

CHUNK_SIZE = 16 << 20
#: a line longer than this is classified in pieces (and reported once per source)
MAX_LINE = 4 << 20
MAX_CONTINUATION_LINES = 400
MAX_CONTINUATION_BYTES = 256 << 10
MAX_BACKWARD_LINES = 400


def _newline_counter(buf: bytearray) -> Callable[[int, int], int]:
    """count(start, end) of b"\\n" in buf: numpy's vectorised compare when available."""
    if _np is None:
        return lambda a, b: buf.count(b"\n", a, b)
    arr = _np.frombuffer(buf, dtype=_np.uint8)

    def count(a: int, b: int) -> int:
        return int(_np.count_nonzero(arr[a:b] == 10)) if b > a else 0
    return count


@dataclass(frozen=True, slots=True)
class RawHit:
    """One matched record in raw form: physical lines (bytes) and the patterns that hit."""

    line_no: int  # 1-based line number of lines[0]
    lines: tuple[bytes, ...]
    hit_lines: tuple[int, ...]  # indexes into lines of the physical lines that matched
    pattern_idx: frozenset[int]
    offset: int  # byte offset of lines[0] in the stream


class Matcher:
    """A catalogue compiled once for one engine; reusable across any number of streams."""

    def __init__(self, catalogue: Catalogue, *, engine: str | None = None,
                 cache_dir: Path | None | str = "default") -> None:
        self.catalogue = catalogue
        self.patterns: tuple[Pattern, ...] = catalogue.patterns
        cdir = default_cache_dir() if cache_dir == "default" else (Path(cache_dir) if cache_dir else None)
        self.engine: Engine = make_engine(engine, [p.regex for p in self.patterns],
                                          [p.caseless for p in self.patterns], catalogue.digest, cdir)
        # Field extraction runs only on matched lines, so the slower-but-complete `regex`
        # module is fine here (named groups, same syntax as the scan dialect).
        self.extractors = tuple(
            regex.compile(p.regex, flags=regex.IGNORECASE if p.caseless else 0) for p in self.patterns)

    @property
    def engine_name(self) -> str:
        return self.engine.name

    def iter_hits(self, fh: BinaryIO, *, is_record_start: Callable[[bytes], bool],
                  on_warning: Callable[[str, int | None, int | None], None],
                  chunk_size: int = CHUNK_SIZE, max_line: int = MAX_LINE,
                  stats: dict[str, int] | None = None) -> Iterator[RawHit]:
        """Scan a binary stream; yield one RawHit per matched record, in stream order.

        ``on_warning(message, line, offset)`` reports oddities (NUL bytes, over-long lines).
        ``stats`` receives ``bytes`` and ``lines`` counts.
        """
        buf = bytearray(chunk_size + max_line)
        view = memoryview(buf)
        nlcount = _newline_counter(buf)
        filled = 0
        base_line = 1  # line number of buf[0]
        base_off = 0  # stream offset of buf[0]
        eof = False
        read_error: Exception | None = None
        warned_nul = False
        warned_long = False
        readinto = getattr(fh, "readinto", None)
        while not eof or filled:
            # 1. fill the buffer: up to chunk_size, or up to capacity while no newline is seen
            cap = len(buf)
            target = chunk_size
            while True:
                while not eof and filled < target:
                    try:
                        if readinto is not None:
                            n = readinto(view[filled:target])
                        else:
                            data = fh.read(target - filled)
                            n = len(data) if data else 0
                            if n:
                                buf[filled:filled + n] = data
                    except Exception as e:  # noqa: BLE001 - re-raised once what was read is scanned
                        # a truncated .gz or a broken member: classify the bytes read so far,
                        # then let the caller report where the stream broke
                        read_error = e
                        n = 0
                    if not n:
                        eof = True
                        break
                    filled += n
                cut = buf.rfind(b"\n", 0, filled) + 1
                if eof or cut or filled >= cap:
                    break
                target = cap  # a line longer than the chunk: read on until its end
            if not filled:
                break
            # 2. cut at the last newline (or take everything at EOF / over-long lines)
            if eof:
                cut = filled
            elif cut == 0:
                cut = filled  # no newline in the whole buffer: classify this piece alone
                if not warned_long:
                    warned_long = True
                    on_warning(f"line longer than {cap / (1 << 20):.0f} MiB: classified in pieces",
                               base_line, base_off)
            if not warned_nul and buf.find(b"\x00", 0, cut) >= 0:
                warned_nul = True
                pos = buf.find(b"\x00", 0, cut)
                on_warning("binary data (NUL bytes) in the stream; scanning it as text",
                           base_line + buf.count(b"\n", 0, pos), base_off + pos)
            hits = self.engine.scan(buf, cut)
            defer_at = cut
            counted_to, counted_lines = 0, 0
            records: dict[int, list[int]] = {}  # record start -> [record end, *hit line ends]
            order: list[int] = []
            for end in sorted(hits.ids):
                start = hits.starts[end]
                rstart = start
                if not is_record_start(bytes(buf[start:min(end, start + 512)])):
                    rstart = self._walk_back(buf, start, is_record_start)
                if rstart in records:
                    records[rstart].append(end)
                    continue
                rend = self._walk_forward(buf, end, cut, is_record_start)
                if rend is None:
                    if not eof and rstart > 0:
                        defer_at = rstart  # continuation may go on in the next chunk
                        break
                    rend = cut - 1 if buf[cut - 1] == 10 else cut  # runs to the end of data
                records[rstart] = [rend, end]
                order.append(rstart)
            for rstart in order:
                if rstart >= defer_at:
                    break
                rend, *hit_ends = records[rstart]
                counted_lines += nlcount(counted_to, rstart)
                counted_to = rstart
                lines = bytes(buf[rstart:rend]).split(b"\n")
                hit_idx: list[int] = []
                idx: set[int] = set()
                for he in hit_ends:
                    hit_idx.append(buf.count(b"\n", rstart, he))
                    idx |= hits.ids[he]
                yield RawHit(base_line + counted_lines, tuple(lines), tuple(sorted(set(hit_idx))),
                             frozenset(idx), base_off + rstart)
            consumed = defer_at
            newlines = counted_lines + nlcount(counted_to, consumed)
            base_line += newlines
            base_off += consumed
            rest = filled - consumed
            if rest:
                buf[0:rest] = buf[consumed:filled]
            filled = rest
            if stats is not None:
                stats["bytes"] = base_off
                stats["lines"] = base_line - 1
            if eof and consumed == 0 and rest:
                # deferred record at the very start with nothing more to read: cannot happen
                # (eof processes everything) but never spin.
                break
        if stats is not None:
            stats["bytes"] = base_off
            stats["lines"] = base_line - 1
        if read_error is not None:
            raise read_error

    @staticmethod
    def _walk_back(buf: bytearray, start: int, is_start: Callable[[bytes], bool]) -> int:
        pos = start
        for _ in range(MAX_BACKWARD_LINES):
            if pos == 0:
                return start  # no record start in the buffer: the line stands alone
            prev = buf.rfind(b"\n", 0, pos - 1) + 1
            if is_start(bytes(buf[prev:min(pos - 1, prev + 512)])):
                return prev
            pos = prev
        return start

    @staticmethod
    def _walk_forward(buf: bytearray, end: int, cut: int, is_start: Callable[[bytes], bool]) -> int | None:
        """End offset of the record whose last known line ends at ``end`` (None: ran off the chunk)."""
        pos = end
        limit = end + MAX_CONTINUATION_BYTES
        for _ in range(MAX_CONTINUATION_LINES):
            if pos >= cut - 1:
                return None
            nxt = pos + 1
            nl = buf.find(b"\n", nxt, cut)
            if nl < 0:
                return None
            line = bytes(buf[nxt:min(nl, nxt + 512)])
            if not line.strip() and nl + 1 < cut and is_start(bytes(buf[nl + 1:nl + 513])):
                return pos  # a blank line then a new record: the blank line is not ours
            if is_start(line) or nl > limit:
                return pos
            pos = nl
        return pos
