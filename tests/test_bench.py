"""The benchmark scripts themselves, on a small corpus: they run, and their cross-checks hold.

bench/run.py exports the catalogue's 191 regexes for GNU grep (POSIX ERE) and ripgrep and fails
unless every method counts the same matched lines: run here on a 4 MiB corpus, this checks the
export and nma against a real grep (ripgrep too where installed). bench/profile.py is run once
so that the README's "where the time goes" stays reproducible. No timing is asserted.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("bench")
    subprocess.run([sys.executable, str(ROOT / "bench" / "gen_corpus.py"), str(data / "corpus-4M.log"),
                    "--size", "4M"], check=True, capture_output=True, timeout=120)
    return data


def test_run_counts_agree_across_grep_rg_and_nma(small: Path) -> None:
    out = small / "table.md"
    if shutil.which("grep") is None:
        pytest.fail("GNU grep is part of the machine kind")
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--size", "4M", "--rounds", "1",
                        "--data", str(small), "--keep", "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    table = out.read_text()
    assert "Matched-line counts agree across methods: yes." in table
    counts = {int(n) for n in re.findall(r"\| (\d+) \|\n", table)}
    assert len(counts) == 1 and counts.pop() > 0, table  # one count, and not zero
    assert ("| rg -c -f |" in table) == (shutil.which("rg") is not None)


def test_profile_runs_and_reports_every_part(small: Path) -> None:
    out = small / "profile.md"
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "profile.py"), "--corpus",
                        str(small / "corpus-4M.log"), "--rounds", "1", "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    table = out.read_text()
    for part in ("Hyperscan", "page faults", "StringZilla", "bytes.count", "NUL-byte check",
                 "matched records", "start-up", "End to end"):
        assert part in table, (part, table)
