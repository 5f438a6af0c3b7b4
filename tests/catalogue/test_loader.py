"""The loader refuses bad pattern files and reports every problem at once, with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.catalogue import TAXONOMY, load_catalogue
from analyzer.catalogue.validators import check_regex
from analyzer.errors import CatalogueError

GOOD = """\
id: LM990
title: A test pattern
status: test
kind: cause
cause: other
severity: error
confidence: 0.5
sources: [nova-compute]
match:
  regex: 'Live Migration failure: (?P<reason>[^\\n]+)'
summary: s
why: w
fix: f
references: ['nova/virt/libvirt/driver.py']
samples:
  match: ['x Live Migration failure: boom']
  no_match: ['Migration operation has completed']
"""


def _write(d: Path, name: str, text: str) -> Path:
    p = d / name
    p.write_text(text)
    return p


def test_good_file_loads(tmp_path: Path) -> None:
    _write(tmp_path, "LM990-good.yaml", GOOD)
    cat = load_catalogue([tmp_path], builtin=False)
    assert [p.id for p in cat.patterns] == ["LM990"]
    assert cat.get("LM990").cause == "other"


def test_every_problem_is_reported_with_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path, "LM991-bad.yaml", GOOD.replace("LM990", "LM991")
           .replace("cause: other", "cause: not_a_cause")
           .replace("severity: error", "severity: loud")
           .replace("(?P<reason>[^\\n]+)", "(.+)\\s$"))
    _write(tmp_path, "LM992-dup.yaml", GOOD.replace("LM990", "LM992"))
    _write(tmp_path, "LM992-dup2.yaml", GOOD.replace("LM990", "LM992"))
    _write(tmp_path, "LM993-broken.yaml", "id: [unclosed\n")
    _write(tmp_path, "LM994-wrongname.yaml", GOOD.replace("id: LM990", "id: LM995"))
    with pytest.raises(CatalogueError) as ei:
        load_catalogue([tmp_path], builtin=False)
    text = str(ei.value)
    problems = ei.value.problems
    assert any("not_a_cause" in p.reason and p.line == 5 for p in problems), text
    assert any("severity" in p.reason and p.line == 6 for p in problems), text
    assert any("plain capturing group" in p.reason for p in problems), text
    assert any("can match a newline" in p.reason for p in problems), text
    assert any("'$' anchor" in p.reason for p in problems), text
    assert any("duplicate id LM992" in p.reason for p in problems), text
    assert any("invalid YAML" in p.reason and p.path.endswith("LM993-broken.yaml") for p in problems)
    assert any("file name must start with the id" in p.reason for p in problems), text
    assert "LM991-bad.yaml:5 [LM991]" in text


@pytest.mark.parametrize("rx, problem", [
    (r"foo\sbar baz", "newline"),
    (r"(?=lookahead) thing", "lookaround"),
    (r"[^x]+ abcdefg", "negated class"),
    (r"(?i)Live Migration", "inline flags"),
    (r"^Live Migration", "'^' anchor"),
    (r"a(?P<x>b)\1 cdefgh", "backreference"),
    (r"ab.*c", "literal of 6+"),
])
def test_dialect_violations(rx: str, problem: str) -> None:
    assert any(problem in reason for reason, _ in check_regex(rx))


def test_dialect_accepts_typical_patterns() -> None:
    for rx in (r"Live Migration failure: (?P<reason>[^\n]+)",
               r"cannot acquire state change lock(?: \(held by (?P<owner>[^)\n]+)\))?",
               r"apparmor=\"DENIED\" operation=\"(?P<op>[^\"\n]+)\""):
        assert check_regex(rx) == []


def test_taxonomy_matches_shared_reference() -> None:
    ref = Path(__file__).resolve().parents[3] / "shared" / "taxonomy.md"
    if not ref.exists():
        pytest.skip("shared/taxonomy.md is not beside this checkout")
    ids = {line.split("`")[1] for line in ref.read_text().splitlines() if line.startswith("| `")}
    assert ids == set(TAXONOMY)


def test_constructs_the_scan_engines_refuse_are_reported_at_load(tmp_path: Path) -> None:
    """`regex` accepts a possessive quantifier; Hyperscan/RE2 do not: the loader says so."""
    _write(tmp_path, "LM996-possessive.yaml", GOOD.replace("LM990", "LM996")
           .replace("(?P<reason>[^\\n]+)", "(?P<reason>[^\\n]++)"))
    with pytest.raises(CatalogueError) as ei:
        load_catalogue([tmp_path], builtin=False)
    assert any("cannot compile" in p.reason for p in ei.value.problems), str(ei.value)
