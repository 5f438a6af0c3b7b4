"""Every sample of every pattern, both ways, on every installed engine (C5/C13).

`match` samples must yield the pattern with the expected fields; `no_match` near-misses must
not. The engines are also compared with each other: the same findings on every sample line.
"""

from __future__ import annotations

import pytest

from analyzer.catalogue import load_catalogue
from analyzer.catalogue.check import check_sample
from analyzer.matcher import Matcher, available_engines
from analyzer.scan import classify_lines

CAT = load_catalogue()
ENGINES = available_engines()
CASES = [(p, s, way) for p in CAT.patterns
         for way, samples in ((True, p.samples_match), (False, p.samples_no_match)) for s in samples]


@pytest.fixture(scope="module", params=ENGINES)
def matcher(request: pytest.FixtureRequest) -> Matcher:
    return Matcher(CAT, engine=request.param, cache_dir=None)


def test_catalogue_is_not_empty() -> None:
    assert len(CAT.patterns) >= 60
    assert {"hyperscan", "re2"} <= set(ENGINES), "both engines are dependencies on this platform"


@pytest.mark.parametrize("pattern, sample, should_match", CASES,
                         ids=[f"{p.id}-{'match' if w else 'no_match'}-{i}" for i, (p, s, w) in enumerate(CASES)])
def test_sample(matcher: Matcher, pattern, sample, should_match: bool) -> None:  # type: ignore[no-untyped-def]
    r = check_sample(pattern, sample, should_match, matcher)
    if sample.todo:
        pytest.xfail(f"known miss: {sample.line[:80]}")
    assert r.ok, f"{pattern.path}: {r.detail}\n{sample.line}"


def test_engines_agree_on_every_sample_line() -> None:
    if len(ENGINES) < 2:
        pytest.fail("install both hyperscan and google-re2 to compare engines")
    ms = [Matcher(CAT, engine=e, cache_dir=None) for e in ENGINES]
    lines = [s.line for p in CAT.patterns for s in (*p.samples_match, *p.samples_no_match)]
    text = "\n".join(lines) + "\n"
    results = [sorted((f.record.line, f.pattern_id, tuple(sorted(f.fields.items())))
                      for f in classify_lines(text, m)) for m in ms]
    assert results[0] == results[1]
