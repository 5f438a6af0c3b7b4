"""Field extraction: ``Matcher.extractor`` compiles with stdlib ``re`` first (faster to import,
compile and search), falling back to the ``regex`` module for syntax ``re`` rejects. The two
must extract the same fields, on the shipped catalogue's own sample lines and on synthetic lines.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import regex

from analyzer.catalogue.loader import load_catalogue
from analyzer.matcher import Matcher
from tests.matcher.test_matcher import PAT  # the one-pattern YAML template


@pytest.fixture(scope="module")
def shipped() -> Matcher:
    return Matcher(load_catalogue([]), cache_dir=None)


def _regex_ref(matcher: Matcher, idx: int) -> regex.Pattern[str]:
    p = matcher.patterns[idx]
    return regex.compile(p.regex, flags=regex.IGNORECASE if p.caseless else 0)


def test_shipped_samples_extract_like_regex_module(shipped: Matcher) -> None:
    checked = 0
    for idx, p in enumerate(shipped.patterns):
        ref = _regex_ref(shipped, idx)
        rx = shipped.extractor(idx)
        assert rx.groupindex.keys() == ref.groupindex.keys(), p.id
        for s in p.samples_match + p.samples_no_match:
            got, want = rx.search(s.line), ref.search(s.line)
            assert (got is None) == (want is None), (p.id, s.line)
            if got is not None and want is not None:
                assert got.span() == want.span(), (p.id, s.line)
                assert got.groupdict() == want.groupdict(), (p.id, s.line)
                checked += 1
    assert checked >= len(shipped.patterns)  # every pattern has at least one matching sample


def test_caseless_and_non_ascii(shipped: Matcher) -> None:
    # a caseless pattern on an upper-cased sample, with a non-ASCII display name around it
    for idx, p in enumerate(shipped.patterns):
        if not p.caseless or not p.samples_match:
            continue
        line = "测试服务器 ñandú " + p.samples_match[0].line.upper()
        got, want = shipped.extractor(idx).search(line), _regex_ref(shipped, idx).search(line)
        assert (got and got.groupdict()) == (want and want.groupdict()), p.id


def test_regex_only_syntax_falls_back(tmp_path: Path) -> None:
    # \\p{Lu} is `regex` syntax that `re` rejects: the extractor must still work
    rx_text = r"state (?P<word>\p{Lu}[a-z]+) reached"
    try:
        re.compile(rx_text)
        pytest.skip("this Python's re accepts \\p{..}")
    except re.error:
        pass
    d = tmp_path / "pats"
    d.mkdir()
    (d / "LM950-x.yaml").write_text(PAT.format(id="LM950", rx=rx_text, ci="false", m="state Ready reached"))
    try:
        cat = load_catalogue([d], builtin=False)
    except Exception as e:  # noqa: BLE001 - the loader may reject non-scan syntax
        pytest.skip(f"catalogue rejects the pattern: {e}")
    m = Matcher(cat, cache_dir=None)
    mo = m.extractor(0).search("x state Ready reached y")
    assert mo is not None and mo.group("word") == "Ready"
