#!/usr/bin/env python3
"""Where `nma scan` spends its time on the bench corpus: each part measured on its own.

bench/run.py gives the end-to-end figures against grep and ripgrep; this script explains them
(README "Where the time goes"). Every part is timed in this process with CPU clocks, medians of
ROUNDS, on the page-cached corpus made by bench/run.py --keep (or gen_corpus.py):

* start-up: `nma scan --count` of a one-line file (wall), against a bare `python -c pass`;
* Hyperscan: the catalogue's database over every 16 MiB window, pages already mapped;
* page faults: touching every page of a fresh mapping once;
* newline counting: StringZilla (what nma uses), numpy (what it used) when installed, bytes.count;
* the NUL-byte check: memchr (``mmap.find``) over every window;
* matched records: decoding, parsing and classifying the matched records (the main thread);
* end to end: `nma scan --count` wall and user+system CPU.

``--leave-one-out`` also scans a 64 MiB prefix once per pattern with that pattern left out and
lists the patterns whose removal saves the most (is any one pattern expensive?).

Usage: python bench/profile.py [--corpus bench/data/corpus-1G.log] [--rounds 5] [--leave-one-out]
(writes bench/results/<date>-profile.md)
"""

from __future__ import annotations

import argparse
import mmap
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from run import machine  # noqa: E402

from analyzer import scan as scan_mod  # noqa: E402
from analyzer.catalogue import load_catalogue  # noqa: E402
from analyzer.matcher import Matcher  # noqa: E402
from analyzer.matcher import _count_newlines_py, _count_newlines_sz  # noqa: E402
from analyzer.matcher.engines import scan_expression  # noqa: E402
from analyzer.records import SourceInfo  # noqa: E402

WINDOW = 16 << 20


def cpu_median(fn: Callable[[], object], rounds: int) -> float:
    out = []
    for _ in range(rounds):
        t = time.thread_time()
        fn()
        out.append(time.thread_time() - t)
    return statistics.median(out)


def wall_cpu(cmd: list[str], rounds: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(rounds):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        walls.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(HERE / "data" / "corpus-1G.log"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--leave-one-out", action="store_true")
    ap.add_argument("--out", help="where to write the table (default bench/results/<date>-profile.md)")
    a = ap.parse_args()
    corpus = Path(a.corpus)
    if not corpus.exists():
        raise SystemExit(f"{corpus}: not found; make it with: python bench/run.py --keep")
    size = corpus.stat().st_size
    gib = size / 2**30
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "analyzer")],
                   stdout=subprocess.DEVNULL, check=True)
    subprocess.run(f"cat {corpus} > /dev/null", shell=True, check=True)
    cat = load_catalogue()
    m = Matcher(cat)
    rows: list[tuple[str, float, str]] = []  # (part, seconds per GiB, note)

    # start-up
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "one.log"
        one.write_bytes(corpus.open("rb").readline())
        # a file written in the last two minutes is streamed, not mapped (analyzer/scan.py
        # MAP_QUIET_SECONDS): date both back, as a rotated or collected log is
        old = time.time() - 3600
        os.utime(one, (old, old))
        os.utime(corpus, (old, old))
        nma = [sys.executable, "-m", "analyzer", "scan", "--count", str(one)]
        subprocess.run(nma, cwd=ROOT, capture_output=True)  # warm the caches
        start, _ = wall_cpu(nma, max(a.rounds, 9))
        bare, _ = wall_cpu([sys.executable, "-c", "pass"], max(a.rounds, 9))
        np_import: float | None = None
        if subprocess.run([sys.executable, "-c", "import numpy"], capture_output=True).returncode == 0:
            np_import = wall_cpu([sys.executable, "-c", "import numpy"], max(a.rounds, 9))[0] - bare

    with open(corpus, "rb") as f:
        windows = [(p, min(size, p + WINDOW)) for p in range(0, size, WINDOW)]

        def fresh() -> tuple[mmap.mmap, memoryview]:
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            return mm, memoryview(mm)

        def touch(view: memoryview) -> None:
            for p in range(0, size, mmap.PAGESIZE):
                view[p]

        faults = []
        for _ in range(a.rounds):
            mm, view = fresh()
            t = time.thread_time()
            touch(view)
            faults.append(time.thread_time() - t)
            t = time.thread_time()
            touch(view)  # the same loop again, pages mapped: the loop's own cost
            faults[-1] -= time.thread_time() - t
            view.release()
            mm.close()

        mm, view = fresh()
        touch(view)
        scratch = m.engine.new_scratch()
        hs = cpu_median(lambda: [m.engine.scan(mm, b, start=p, scratch=scratch) for p, b in windows], a.rounds)
        sz = cpu_median(lambda: [_count_newlines_sz(view, p, b) for p, b in windows], a.rounds)
        py = cpu_median(lambda: [_count_newlines_py(view, p, b) for p, b in windows], 1)
        nul = cpu_median(lambda: [mm.find(b"\x00", p, b) for p, b in windows], a.rounds)
        try:
            import numpy as np

            arr = np.frombuffer(mm, dtype=np.uint8)

            def count_np() -> None:
                for p, b in windows:
                    int(np.count_nonzero(arr[p:b] == 10))
            npc: float | None = cpu_median(count_np, a.rounds)
            arr = None  # release the export before the map is closed
        except ImportError:
            npc = None
        view.release()
        mm.close()

    hits = list(m.iter_hits_mapped(str(corpus), is_record_start=scan_mod._start_checker(None),
                                   on_warning=lambda *x: None))
    cls = scan_mod._Classifier(m, timezone.utc, None, None)
    info = SourceInfo(name=corpus.name, host=None, kind=None)

    def classify() -> None:
        for h in hits:
            rec, texts = cls.records(h, info, lambda *x: None, {})
            cls.findings(h, rec, texts)

    classify()  # compile the extractors first, as the first window of a real run does
    records = cpu_median(classify, a.rounds)
    e2e_wall, e2e_cpu = wall_cpu([sys.executable, "-m", "analyzer", "scan", "--count", str(corpus)],
                                 a.rounds)

    rows += [
        ("Hyperscan, 191-pattern database, pages mapped", hs / gib, "split over two threads"),
        ("page faults of a fresh mapping", statistics.median(faults) / gib, "in the scan threads"),
        ("newline counting, StringZilla (used)", sz / gib, "in the scan threads"),
    ]
    if npc is not None:
        rows.append(("newline counting, numpy (used until 2026-11-28)", npc / gib,
                     f"not used; its import: {np_import:.3f} s (wall, once per run)"))
    rows += [
        ("newline counting, bytes.count (fallback)", py / gib, "not used when StringZilla is installed"),
        ("NUL-byte check, memchr", nul / gib, "in the scan threads"),
        (f"decode, parse, classify the {len(hits):,} matched records", records / gib, "main thread"),
        ("start-up: `nma scan --count` of a one-line file", start,
         f"wall, once per run; a bare `python -c pass`: {bare:.3f} s"),
    ]
    lines = [f"# Where `nma scan` spends its time, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC", "",
             f"Machine: {machine()}",
             f"Corpus: {corpus.name}, {size:,} bytes, {len(cat.patterns)} patterns; "
             f"medians of {a.rounds} rounds (start-up: of {max(a.rounds, 9)}); CPU seconds per GiB.", "",
             "| part | s per GiB | where |", "|---|---:|---|"]
    lines += [f"| {name} | {sec:.3f} | {note} |" for name, sec, note in rows]
    lines += ["", f"End to end, `nma scan --count` of the corpus: {e2e_wall:.3f} s wall "
                  f"({size / e2e_wall / 1e6:,.0f} MB/s), {e2e_cpu:.3f} s user+system CPU "
                  f"({e2e_cpu / e2e_wall:.2f} cores busy on average)."]

    if a.leave_one_out:
        import hyperscan

        data = corpus.open("rb").read(64 << 20)
        pats = cat.patterns

        def cost(keep: list[int]) -> float:
            db: Any = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            db.compile(expressions=[scan_expression(pats[i].regex).encode() for i in keep],
                       ids=list(range(len(keep))), elements=len(keep),
                       flags=[hyperscan.HS_FLAG_MULTILINE | (hyperscan.HS_FLAG_CASELESS if pats[i].caseless else 0)
                              for i in keep])
            best = 1e9
            for _ in range(7):
                t = time.perf_counter()
                db.scan(data, match_event_handler=lambda *x: None)
                best = min(best, time.perf_counter() - t)
            return best

        every = list(range(len(pats)))
        base = min(cost(every) for _ in range(3))
        saved = sorted(((base - cost([j for j in every if j != i]), pats[i].id) for i in every), reverse=True)
        lines += ["", f"Leave-one-out on the first 64 MiB: all patterns {base * 1000:.1f} ms (best of 7); "
                      "the largest savings from leaving one pattern out:", ""]
        lines += [f"- {pid}: {d * 1000:.2f} ms ({d / base:.1%})" for d, pid in saved[:10]]

    report = "\n".join(lines) + "\n"
    print(report)
    out = Path(a.out) if a.out else HERE / "results" / f"{datetime.now(timezone.utc):%Y-%m-%d}-profile.md"
    out.write_text(report)


if __name__ == "__main__":
    main()
