"""Run every pattern's samples both ways: ``match`` lines must yield the pattern (with the
expected fields), ``no_match`` near-misses must not. Used by ``nma patterns test`` and by the
parametrised test in ``tests/catalogue/test_samples.py``, for every available engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..records import SourceKind
from .schema import Pattern, Sample

__all__ = ["SampleResult", "check_sample", "check_pattern"]


@dataclass(frozen=True, slots=True)
class SampleResult:
    pattern_id: str
    sample: Sample
    should_match: bool
    ok: bool
    detail: str


def check_sample(pattern: Pattern, sample: Sample, should_match: bool, matcher: object) -> SampleResult:
    from ..scan import classify_lines

    kind = SourceKind(sample.source) if sample.source else None
    findings = classify_lines(sample.line, matcher, name=f"{pattern.path}#sample",  # type: ignore[arg-type]
                              kind=kind)
    mine = [f for f in findings if f.pattern_id == pattern.id]
    if not should_match:
        ok = not mine
        return SampleResult(pattern.id, sample, False, ok,
                            "" if ok else "near-miss sample matched")
    if not mine:
        others = sorted({f.pattern_id for f in findings})
        return SampleResult(pattern.id, sample, True, False,
                            "sample did not match" + (f" (matched instead: {', '.join(others)})"
                                                      if others else ""))
    f = mine[0]
    bad = []
    for key, want in sample.expect.items():
        got = f.fields.get(key)
        if got is None and hasattr(f.record, key):
            val = getattr(f.record, key)
            got = None if val is None else str(val)
        if got != want:
            bad.append(f"{key}: expected {want!r}, got {got!r}")
    return SampleResult(pattern.id, sample, True, not bad, "; ".join(bad))


def check_pattern(pattern: Pattern, matcher: object) -> list[SampleResult]:
    out = [check_sample(pattern, s, True, matcher) for s in pattern.samples_match]
    out += [check_sample(pattern, s, False, matcher) for s in pattern.samples_no_match]
    return out
