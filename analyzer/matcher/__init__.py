"""The streaming matcher: one pass over a byte stream, every catalogue pattern at once.

Hot path (see engines.py for the engine choice and the figures behind it):

1. ``readinto`` a fixed 16 MiB buffer (bounded memory whatever the input size);
2. scan everything up to the last newline with ONE engine call;
3. only for matched lines (about 1 in 1,000 on a compute host): compute the line number
   (a SIMD newline count from the previous hit), find the record start and its continuation
   lines, and hand them on. Nothing on the hot path is a Python loop over lines.

A record whose continuation lines run past the end of the buffer is deferred to the next
round (the buffer keeps it), so multi-line records are never cut at chunk boundaries.
"""

from __future__ import annotations

import collections
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
import re
from typing import Any, BinaryIO

from .._cache import default_cache_dir
from ..catalogue import Catalogue
from ..catalogue.schema import Pattern
from .engines import Engine, LineHits, available_engines, make_engine, scan_expression


def _count_newlines_py(buf: Any, a: int, b: int) -> int:
    """count of b"\\n" in buf[a:b] with the stdlib (a byte-at-a-time loop: ~0.6 s per GiB)."""
    return bytes(buf[a:b]).count(b"\n") if b > a else 0


try:
    from stringzilla import count as _sz_count
except ImportError:  # pragma: no cover - a declared dependency; the stdlib fallback is tested
    _sz_count = None


def _count_newlines_sz(buf: Any, a: int, b: int) -> int:
    """count of b"\\n" in buf[a:b] with StringZilla's SIMD count (~15 GB/s here)."""
    return int(_sz_count(buf, "\n", a, b)) if b > a else 0


#: count(buf, start, end) of newlines; ``buf`` is a bytearray or a memoryview.
#:
#: Line numbers need every newline of the input counted. Measured on the 1 GiB bench corpus
#: (bench/, this machine kind): StringZilla 0.07 s and a 1 ms import; numpy's
#: ``count_nonzero(a == 10)`` 0.11-0.14 s and a 70-120 ms import paid before the first
#: window; ``bytes.count`` 0.6 s. StringZilla holds the GIL while it counts (about 1 ms per
#: 16 MiB window), during which the other scan thread stays in Hyperscan, which does not need it.
_count_newlines: Callable[[Any, int, int], int] = (
    _count_newlines_sz if _sz_count is not None else _count_newlines_py)

__all__ = ["Matcher", "RawHit", "available_engines", "scan_expression", "default_cache_dir",
           "CHUNK_SIZE", "MAX_LINE", "MAX_CONTINUATION_LINES"]

CHUNK_SIZE = 16 << 20
#: a line longer than this is classified in pieces (and reported once per source)
MAX_LINE = 4 << 20
MAX_CONTINUATION_LINES = 400
MAX_CONTINUATION_BYTES = 256 << 10
MAX_BACKWARD_LINES = 400
#: worker threads for mapped files, and windows in flight (bounded memory: ~depth x window)
SCAN_THREADS = max(1, min(4, os.cpu_count() or 1))
PIPELINE_DEPTH = SCAN_THREADS + 1


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
        # Field extraction runs only on matched lines. Compiled on first use: compiling all
        # ~200 up front cost 0.1-0.3 s of start-up for patterns that rarely fire. Stdlib `re`
        # first: it accepts the scan dialect (named groups, classes, bounded repeats), compiles
        # ~4x faster, and on the 1 GiB bench its ~2,000 searches of multi-KB matched lines took
        # 5 ms against 73 ms with `regex`; it also spares the ~20 ms `regex` import. `regex`
        # (re-compatible, a superset) only for a pattern `re` rejects.
        self._extractors: list[Any] = [None] * len(self.patterns)

    def extractor(self, idx: int) -> Any:
        """The compiled extraction pattern (``re.Pattern``, or ``regex.Pattern``)."""
        rx = self._extractors[idx]
        if rx is None:
            p = self.patterns[idx]
            try:
                rx = re.compile(p.regex, flags=re.IGNORECASE if p.caseless else 0)
            except re.error:
                import regex

                rx = regex.compile(p.regex, flags=regex.IGNORECASE if p.caseless else 0)
            self._extractors[idx] = rx
        return rx

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
        # room for the context kept from the previous round, a chunk, and one over-long line
        buf = bytearray(MAX_CONTINUATION_BYTES + chunk_size + max_line)
        view = memoryview(buf)
        filled = 0
        base_line = 1  # line number of buf[0]
        base_off = 0  # stream offset of buf[0]
        ctx = 0  # buf[:ctx] was scanned in an earlier round: kept only to walk back into
        last_byte = 10
        eof = False
        read_error: Exception | None = None
        warned_nul = False
        warned_long = False
        readinto = getattr(fh, "readinto", None)
        while not eof or filled > ctx:
            # 1. fill the buffer: up to chunk_size, or up to capacity while no newline is seen
            cap = len(buf)
            target = min(cap, ctx + chunk_size)
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
                cut = buf.rfind(b"\n", ctx, filled) + 1
                if eof or cut > ctx or filled >= cap:
                    break
                target = cap  # a line longer than the chunk: read on until its end
            if not filled:
                break
            # 2. cut at the last newline (or take everything at EOF / over-long lines)
            if eof:
                cut = filled
            elif cut <= ctx:
                cut = filled  # no newline in the whole buffer: classify this piece alone
                if not warned_long:
                    warned_long = True
                    on_warning(f"line longer than {cap / (1 << 20):.0f} MiB: classified in pieces",
                               base_line + _count_newlines(buf, 0, ctx), base_off + ctx)
            if not warned_nul and buf.find(b"\x00", ctx, cut) >= 0:
                warned_nul = True
                pos = buf.find(b"\x00", ctx, cut)
                on_warning("binary data (NUL bytes) in the stream; scanning it as text",
                           base_line + _count_newlines(buf, 0, pos), base_off + pos)
            hits = self.engine.scan(buf, cut, start=ctx)
            records, frontier = self._group(buf, hits, ctx, cut, cut, not eof, is_record_start)
            counted_to, counted_lines = 0, 0
            for rstart, rend, hit_ends in records:
                counted_lines += _count_newlines(buf, counted_to, rstart)
                counted_to = rstart
                yield self._raw_hit(buf, rstart, rend, hit_ends, hits,
                                    base_line + counted_lines, base_off)
            # Everything before `frontier` is reported. Keep the record the frontier falls in
            # (its start, at most MAX_CONTINUATION_BYTES back) as context, so that a hit on a
            # continuation line in the next round still finds its record start and ids.
            done_lines = counted_lines + _count_newlines(buf, counted_to, frontier)
            if not eof and frontier > ctx:
                keep_from = self._walk_back(buf, frontier, is_record_start,
                                            max(0, frontier - MAX_CONTINUATION_BYTES))
            else:
                keep_from = frontier
            if frontier:
                last_byte = buf[frontier - 1]
            base_line += done_lines - _count_newlines(buf, keep_from, frontier)
            base_off += keep_from
            rest = filled - keep_from
            if rest:
                buf[0:rest] = buf[keep_from:filled]
            filled = rest
            ctx = frontier - keep_from
            if stats is not None:
                stats["bytes"] = base_off + ctx
                stats["lines"] = base_line - 1 + _count_newlines(buf, 0, ctx)
            if eof and filled <= ctx:
                break
        if stats is not None:
            stats["bytes"] = base_off + ctx
            # a last line without a final newline is a line too
            stats["lines"] = base_line - 1 + _count_newlines(buf, 0, ctx) + (
                1 if stats["bytes"] and last_byte != 10 else 0)
        if read_error is not None:
            raise read_error

    def _group(self, buf: Any, hits: LineHits, lo: int, cut: int, limit: int, can_defer: bool,
               is_start: Callable[[bytes], bool], back_limit: int = 0
               ) -> tuple[list[tuple[int, int, list[int]]], int]:
        """Matched lines -> records (start, end, hit line ends), in order, and where to stop.

        A hit on a continuation line is attached to its record start (walking back); a record's
        continuation lines are followed forward up to ``limit``. When they may go on past the
        data (``can_defer``), the record and everything after it is left for the next round.
        """
        defer_at = cut
        records: dict[int, list[int]] = {}
        order: list[int] = []
        for end in sorted(hits.ids):
            start = hits.starts[end]
            rstart = start
            if start > back_limit and not is_start(bytes(buf[start:min(end, start + 512)])):
                rstart = self._walk_back(buf, start, is_start, back_limit)
            if rstart in records:
                records[rstart].append(end)
                continue
            rend = self._walk_forward(buf, end, limit, is_start, at_end=not can_defer)
            if rend is None:
                if can_defer and rstart > lo:
                    defer_at = rstart  # continuation may go on in the next chunk
                    break
                rend = limit - 1 if buf[limit - 1] == 10 else limit  # runs to the end of data
            records[rstart] = [rend, end]
            order.append(rstart)
        return [(r, records[r][0], records[r][1:]) for r in order if r < defer_at], defer_at

    @staticmethod
    def _raw_hit(buf: Any, rstart: int, rend: int, hit_ends: list[int], hits: LineHits,
                 line_no: int, base_off: int,
                 extra_ids: dict[int, set[int]] | None = None) -> RawHit:
        lines = bytes(buf[rstart:rend]).split(b"\n")
        hit_idx: set[int] = set()
        idx: set[int] = set()
        for he in hit_ends:
            hit_idx.add(_count_newlines_py(buf, rstart, he))  # buf may be an mmap: no SIMD count
            idx |= hits.ids[he] if he in hits.ids else (extra_ids or {}).get(he, set())
        return RawHit(line_no, tuple(lines), tuple(sorted(hit_idx)), frozenset(idx), base_off + rstart)

    def iter_hits_mapped(self, path: str, *, is_record_start: Callable[[bytes], bool],
                         on_warning: Callable[[str, int | None, int | None], None],
                         window: int = CHUNK_SIZE, stats: dict[str, int] | None = None
                         ) -> Iterator[RawHit]:
        """Like :meth:`iter_hits`, for a regular file: ``mmap`` instead of copying reads.

        Windows are scanned by ``SCAN_THREADS`` worker threads (Hyperscan releases the GIL: two
        threads halve the scan time on this 2-core machine kind, see bench/), each
        with its own Hyperscan scratch; the worker also finds the window's newlines, so line
        numbering costs no wall time. Results are consumed in file order.
        Windows already scanned are dropped from the mapping (``MADV_DONTNEED``), which keeps the
        resident set near one window whatever the file size.
        """
        import mmap
        from concurrent.futures import ThreadPoolExecutor

        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                if stats is not None:
                    stats["bytes"] = stats["lines"] = 0
                return
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        pool = ThreadPoolExecutor(max_workers=SCAN_THREADS, thread_name_prefix="nma-scan")
        view = memoryview(mm)
        try:
            if hasattr(mm, "madvise"):
                mm.madvise(mmap.MADV_SEQUENTIAL)

            def count(a: int, b: int) -> int:
                return _count_newlines(view, a, b)

            def windows() -> Iterator[tuple[int, int, bool]]:
                """Newline-aligned [start, end) windows; the flag marks a forced cut."""
                pos = 0
                while pos < size:
                    end = min(size, pos + window)
                    forced = False
                    if end < size:
                        nl = mm.rfind(b"\n", pos, end)
                        if nl < 0:
                            far = mm.find(b"\n", end, min(size, pos + window + MAX_LINE))
                            forced = far < 0
                            end = far + 1 if far >= 0 else min(size, pos + window + MAX_LINE)
                        else:
                            end = nl + 1
                    yield pos, end, forced
                    pos = end

            local = threading.local()
            def task(a: int, b: int) -> tuple[LineHits, dict[int, int], int, int]:
                """Scan a window; count its newlines up to each matched line and in all.

                Counting between matched lines is one SIMD pass over the window (~15 GB/s).
                """
                scratch = getattr(local, "scratch", None)
                if scratch is None:
                    scratch = local.scratch = self.engine.new_scratch()
                hits = self.engine.scan(mm, b, start=a, scratch=scratch)
                before: dict[int, int] = {}
                acc, prev = 0, a
                for st in sorted(set(hits.starts.values())):
                    acc += count(prev, st)
                    before[st] = acc
                    prev = st
                # memchr: ~0.6 ms per window with the GIL held (0.04 s per GiB measured; a
                # numpy pass took 0.12 s); the other thread stays in Hyperscan meanwhile
                nul = mm.find(b"\x00", a, b)
                return hits, before, acc + count(prev, b), nul

            base_line = 1
            last_rstart = -1
            #: [start, end, hit line ends, ids by hit line end, line number] of a record whose
            #: continuation lines run into the next window: reported once that window is seen
            pending: list[Any] | None = None
            prev_forced = False  # the previous window ended mid-line: this one starts mid-line
            warned_nul = warned_long = False
            page = mmap.PAGESIZE
            dropped = 0
            todo = windows()
            inflight: collections.deque[tuple[int, int, bool, Any]] = collections.deque()
            while True:
                while len(inflight) < PIPELINE_DEPTH:
                    nxt = next(todo, None)
                    if nxt is None:
                        break
                    inflight.append((*nxt, pool.submit(task, nxt[0], nxt[1])))
                if not inflight:
                    break
                pos, end, forced, fut = inflight.popleft()
                hits, before, total, z = fut.result()
                if forced and not warned_long:
                    warned_long = True
                    on_warning(f"line longer than {(window + MAX_LINE) / (1 << 20):.0f} MiB:"
                               " classified in pieces", base_line + total, end)
                if z >= 0 and not warned_nul:
                    warned_nul = True
                    on_warning("binary data (NUL bytes) in the stream; scanning it as text",
                               base_line + count(pos, z), z)
                records, _ = self._group(mm, hits, pos, end, size, False, is_record_start,
                                         back_limit=pos if prev_forced else 0)
                prev_forced = forced
                for rstart, rend, hit_ends in records:
                    if pending is not None and rstart == pending[0]:
                        # the record that ran past the previous window: more of its lines hit
                        pending[1] = max(pending[1], rend)
                        pending[2].extend(hit_ends)
                        pending[3].update({he: hits.ids[he] for he in hit_ends})
                        continue
                    if rstart <= last_rstart:
                        continue  # a continuation of a record already reported
                    if pending is not None:
                        yield self._raw_hit(mm, pending[0], pending[1], pending[2], hits,
                                            pending[4], 0, pending[3])
                        pending = None
                    last_rstart = rstart
                    first = hits.starts[hit_ends[0]]  # start of the first matched line
                    # a record may begin before its first matched line (walked back), even in
                    # the previous window: subtract the newlines in between
                    line_no = base_line + before[first] - count(rstart, first)
                    if rend > end:  # its continuation lines reach into the next window
                        pending = [rstart, rend, list(hit_ends),
                                   {he: hits.ids[he] for he in hit_ends}, line_no]
                        continue
                    yield self._raw_hit(mm, rstart, rend, hit_ends, hits, line_no, 0)
                if pending is not None and pending[1] <= end:
                    yield self._raw_hit(mm, pending[0], pending[1], pending[2], hits, pending[4], 0,
                                        pending[3])
                    pending = None
                base_line += total
                if stats is not None:
                    stats["bytes"] = end
                    stats["lines"] = base_line - 1
                # drop what is behind us (keep one window for walking back into it)
                keep_from = max(0, pos - window) // page * page
                if keep_from > dropped and hasattr(mm, "madvise"):
                    mm.madvise(mmap.MADV_DONTNEED, dropped, keep_from - dropped)
                    dropped = keep_from
            if pending is not None:
                yield self._raw_hit(mm, pending[0], pending[1], pending[2], LineHits({}, {}),
                                    pending[4], 0, pending[3])
            if stats is not None:
                stats["bytes"] = size
                # a last line without a final newline is a line too
                stats["lines"] = base_line - 1 + (0 if mm[size - 1] == 10 else 1)
        finally:
            pool.shutdown(wait=True)
            view.release()  # release the buffer export before closing the map
            mm.close()

    @staticmethod
    def _walk_back(buf: Any, start: int, is_start: Callable[[bytes], bool], limit: int = 0) -> int:
        pos = start
        for _ in range(MAX_BACKWARD_LINES):
            if pos <= limit:
                return start  # no record start in the buffer: the line stands alone
            prev = max(limit, buf.rfind(b"\n", limit, pos - 1) + 1)
            if is_start(bytes(buf[prev:min(pos - 1, prev + 512)])):
                return int(prev)
            pos = prev
        return start

    @staticmethod
    def _walk_forward(buf: Any, end: int, cut: int, is_start: Callable[[bytes], bool],
                      at_end: bool = False) -> int | None:
        """End offset of the record whose last known line ends at ``end``.

        None: its continuation lines may run past ``cut`` (more data may follow). With
        ``at_end``, ``cut`` is the end of the data: a last line without a newline is judged too.
        """
        pos = end
        limit = end + MAX_CONTINUATION_BYTES
        for _ in range(MAX_CONTINUATION_LINES):
            if pos >= cut - 1:
                return pos if at_end else None
            nxt = pos + 1
            nl = buf.find(b"\n", nxt, cut)
            if nl < 0:
                if not at_end:
                    return None
                return pos if is_start(bytes(buf[nxt:min(cut, nxt + 512)])) else cut
            line = bytes(buf[nxt:min(nl, nxt + 512)])
            if not line.strip() and nl + 1 < cut and is_start(bytes(buf[nl + 1:nl + 513])):
                return pos  # a blank line then a new record: the blank line is not ours
            if is_start(line) or nl > limit:
                return pos
            pos = nl
        return pos
