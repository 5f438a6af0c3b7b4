#!/usr/bin/env python3
"""Matcher benchmark: `nma scan --count` side by side with cat, grep -E and ripgrep.

One run, same file, page-cached; every method is run ROUNDS times interleaved and the median
is reported, with ratios against grep -E and ripgrep from the same run. The catalogue's regexes
are exported for grep (POSIX ERE: named groups and (?:) become (), caseless patterns are
expanded into [xX] pairs, \\n dropped from bracket expressions, \\d -> [0-9]) and for ripgrep
(Rust syntax, (?i) for caseless). Matched-line counts must agree, else the run fails.

Usage: python bench/run.py [--size 1G] [--rounds 7] [--keep]   (writes bench/results/<date>.md)
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from analyzer.catalogue import load_catalogue  # noqa: E402


def to_ere(rx: str, caseless: bool) -> str:
    out = re.sub(r"\(\?P<[A-Za-z_][A-Za-z0-9_]*>", "(", rx).replace("(?:", "(")
    out = out.replace(r"\d", "[0-9]").replace('\\"', '"')
    # drop \n inside bracket expressions; turn \t into a tab
    def _cls(m: re.Match[str]) -> str:
        body = m.group(1).replace(r"\n", "").replace(r"\t", "\t")
        return "." if body == "^" else f"[{body}]"

    out = re.sub(r"\[((?:\\.|[^\]\\])*)\]", _cls, out)
    if caseless:
        out = re.sub(r"(?<!\\)([A-Za-z])", lambda m: f"[{m.group(1).lower()}{m.group(1).upper()}]", out)
    return out


def to_rg(rx: str, caseless: bool) -> str:
    # rg joins all patterns into one regex: group names must go (they repeat across patterns)
    body = re.sub(r"\(\?P<[A-Za-z_][A-Za-z0-9_]*>", "(?:", rx).replace('\\"', '"')
    return ("(?i)" if caseless else "") + body


def timed(cmd: list[str] | str, *, shell: bool = False, stdin: str | None = None) -> tuple[float, str, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    fin = open(stdin, "rb") if stdin else subprocess.DEVNULL
    p = subprocess.run(cmd, shell=shell, stdin=fin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "LC_ALL": "C.UTF-8"})
    dt = time.perf_counter() - t
    if stdin:
        fin.close()  # type: ignore[union-attr]
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if p.returncode not in (0, 1):
        raise SystemExit(f"{cmd} failed ({p.returncode}): {p.stderr.decode()[:500]}")
    return dt, p.stdout.decode().strip(), max(rss, before)


def peak_rss_kb(cmd: list[str]) -> int:
    """Peak RSS of one child, from /proc via os.wait4 (RUSAGE_CHILDREN keeps the max of all)."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, ru = os.wait4(p.pid, 0)
    return ru.ru_maxrss


def machine() -> str:
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    osname = platform.platform()
    try:
        rel = dict(line.rstrip().split("=", 1) for line in open("/etc/os-release") if "=" in line)
        osname = f"{rel.get('PRETTY_NAME', '').strip(chr(34))}, {osname}"
    except OSError:
        pass
    tools = []
    for tool in ("grep", "rg"):
        exe = shutil.which(tool)
        if exe:
            first = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.splitlines()
            tools.append(first[0] if first else tool)
    return (f"{os.cpu_count()} vCPU {cpu}, {mem:.0f} GiB RAM, {osname}, Python {platform.python_version()}; "
            + "; ".join(tools))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="1G")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--data", default=str(HERE / "data"))
    ap.add_argument("--keep", action="store_true", help="keep the generated corpus")
    ap.add_argument("--no-gz", action="store_true")
    ap.add_argument("--out", help="where to write the table (default bench/results/<date>-<size>.md)")
    a = ap.parse_args()
    data = Path(a.data)
    data.mkdir(parents=True, exist_ok=True)
    corpus = data / f"corpus-{a.size}.log"
    if not corpus.exists():
        subprocess.run([sys.executable, str(HERE / "gen_corpus.py"), str(corpus), "--size", a.size], check=True)
    # a collected or rotated log is not being written: date it back so nma maps it (a file
    # written in the last two minutes is read instead, see analyzer/scan.py MAP_QUIET_SECONDS)
    old = time.time() - 3600
    os.utime(corpus, (old, old))
    gz = corpus.with_suffix(".log.gz")
    if not a.no_gz and not gz.exists():
        subprocess.run(f"gzip -1 -c {corpus} > {gz}", shell=True, check=True)
    cat = load_catalogue()
    ere = data / "patterns.ere"
    ere.write_text("\n".join(to_ere(p.regex, p.caseless) for p in cat.patterns) + "\n")
    rgp = data / "patterns.rg"
    rgp.write_text("\n".join(to_rg(p.regex, p.caseless) for p in cat.patterns) + "\n")
    nma = [sys.executable, "-m", "analyzer"]
    size = corpus.stat().st_size
    rg = shutil.which("rg")
    methods: dict[str, tuple[list[str] | str, bool]] = {
        "cat > /dev/null": (f"cat {corpus} > /dev/null", True),
        "grep -E -c -f": (["grep", "-E", "-c", "-f", str(ere), str(corpus)], False),
        "nma scan --count": ([*nma, "scan", "--count", str(corpus)], False),
        "cat | nma scan --count - (stream path)": (f"cat {corpus} | {' '.join(nma)} scan --count -", True),
        "nma scan --count --engine re2 (fallback engine)": ([*nma, "scan", "--count", "--engine", "re2",
                                                             str(corpus)], False),
    }
    if rg:
        methods["rg -c -f"] = ([rg, "-c", "--no-mmap", "-f", str(rgp), str(corpus)], False)
    if not a.no_gz:
        methods["zcat | grep -E -c -f"] = (f"zcat {gz} | grep -E -c -f {ere}", True)
        methods["nma scan --count (.gz)"] = ([*nma, "scan", "--count", str(gz)], False)
        if rg:
            methods["zcat | rg -c -f"] = (f"zcat {gz} | {rg} -c -f {rgp}", True)
    # byte-compile the package once, as an installed package is (pip compiles at install time;
    # with PYTHONDONTWRITEBYTECODE set, every run would otherwise recompile ~45 modules: ~70 ms)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "analyzer")], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(f"cat {corpus} > /dev/null", shell=True)  # page cache
    subprocess.run([*nma, "scan", "--count", "/dev/null"], capture_output=True)  # warm the DB cache
    times: dict[str, list[float]] = {k: [] for k in methods}
    counts: dict[str, str] = {}
    for _ in range(a.rounds):
        for name, (cmd, shell) in methods.items():
            dt, out, _ = timed(cmd, shell=shell)
            times[name].append(dt)
            counts[name] = out
    rss = peak_rss_kb([*nma, "scan", "--count", str(corpus)])
    rss_gz = peak_rss_kb([*nma, "scan", "--count", str(gz)]) if not a.no_gz else 0
    med = {k: statistics.median(v) for k, v in times.items()}
    mbs = {k: size / v / 1e6 for k, v in med.items()}
    ref_counts = {counts[k] for k in counts if k != "cat > /dev/null"}
    agree = len(ref_counts) == 1
    lines = [f"# Matcher benchmark, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC", "",
             f"Machine: {machine()}", f"Corpus: {corpus.name}, {size:,} bytes, {len(cat.patterns)} patterns; "
             f"medians of {a.rounds} interleaved rounds; MB/s = 10^6 bytes of uncompressed corpus per second.", "",
             "| method | median s (min-max) | MB/s | x grep -E | x rg | matched lines |",
             "|---|---:|---:|---:|---:|---:|"]
    for k in methods:
        g = mbs[k] / mbs["grep -E -c -f"]
        r = f"{mbs[k] / mbs['rg -c -f']:.2f}" if rg else "-"
        if "gz" in k or k.startswith("zcat"):  # compressed rows: against the zcat pipelines
            g = mbs[k] / mbs["zcat | grep -E -c -f"]
            r = f"{mbs[k] / mbs['zcat | rg -c -f']:.2f}" if rg else "-"
        spread = f"{min(times[k]):.3f}-{max(times[k]):.3f}"
        lines.append(f"| {k} | {med[k]:.3f} ({spread}) | {mbs[k]:.0f} | {g:.2f} | {r} | {counts.get(k, '-') if k != 'cat > /dev/null' else '-'} |")
    lines += ["", f"Peak RSS of `nma scan --count`: {rss / 1024:.0f} MB (plain), {rss_gz / 1024:.0f} MB (.gz).",
              f"Matched-line counts agree across methods: {'yes' if agree else 'NO: ' + str(counts)}.",
              "(.gz rows: ratios are against `zcat | grep` and `zcat | rg` of the same file.)"]
    report = "\n".join(lines) + "\n"
    print(report)
    out = Path(a.out) if a.out else HERE / "results" / f"{datetime.now(timezone.utc):%Y-%m-%d}-{a.size}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(report)
    if not a.keep:
        corpus.unlink()
        if gz.exists():
            gz.unlink()
    if not agree:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
