"""Load and validate the pattern catalogue (``patterns/**/*.yaml``).

Every file is checked against the schema in :mod:`analyzer.catalogue.schema`; *all*
problems of all files are collected and raised together as one
:class:`~analyzer.errors.CatalogueError` (each a :class:`~analyzer.errors.PatternError`
with file, line and pattern id), in the spirit of pySigma's ``collect_errors``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._cache import load_pickle, store_pickle
from ..errors import CatalogueError, PatternError
from ..records import SourceKind
from .schema import KINDS, MARKS, SEVERITIES, STAGES, STATUSES, TAXONOMY, Pattern, Sample

__all__ = ["Catalogue", "load_catalogue", "default_patterns_dir", "load_pattern_files"]

_REQUIRED = (
    "id", "title", "status", "kind", "severity", "sources", "match", "summary", "why", "fix",
    "references", "samples",
)
_OPTIONAL = ("cause", "stage", "marks", "confidence", "where", "versions", "related", "notes")
_WHERE_KEYS = ("level", "logger", "kind")
_SOURCE_KINDS = tuple(k.value for k in SourceKind)


def default_patterns_dir() -> Path:
    """The catalogue shipped with nma: ``patterns/`` beside the package (source tree or wheel)."""
    here = Path(__file__).resolve().parent.parent
    for cand in (here.parent / "patterns", here / "_patterns"):
        if cand.is_dir():
            return cand
    return here.parent / "patterns"


@dataclass(frozen=True)
class Catalogue:
    """The compiled-once, immutable set of patterns, indexed by id."""

    patterns: tuple[Pattern, ...]
    digest: str  # hash of every file's bytes: keys the compiled-database cache

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {p.id: p for p in self.patterns})

    def get(self, pattern_id: str) -> Pattern:
        by_id: dict[str, Pattern] = self._by_id  # type: ignore[attr-defined]
        return by_id[pattern_id]

    def __contains__(self, pattern_id: object) -> bool:
        by_id: dict[str, Pattern] = self._by_id  # type: ignore[attr-defined]
        return pattern_id in by_id

    def __len__(self) -> int:
        return len(self.patterns)

    def __iter__(self) -> Iterator[Pattern]:
        return iter(self.patterns)


def _line_loader() -> Any:
    """A SafeLoader that remembers the line of every mapping key (for error messages).

    Built on first use: PyYAML is only needed when the catalogue cache misses, and importing
    it costs start-up time on every `nma scan` otherwise.
    """
    import yaml

    class _LineLoader(yaml.SafeLoader):  # type: ignore[misc]
        pass

    def _construct_mapping(loader: Any, node: Any) -> dict[Any, Any]:
        mapping: dict[Any, Any] = loader.construct_mapping(node, deep=True)
        lines = {}
        for key_node, _ in node.value:
            lines[loader.construct_object(key_node)] = key_node.start_mark.line + 1
        mapping["__lines__"] = lines
        return mapping

    _LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
    return _LineLoader


def _strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k != "__lines__"}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value


def _iter_files(dirs: Iterable[Path]) -> Iterator[Path]:
    for d in dirs:
        if d.is_file():
            yield d
            continue
        for root, subdirs, files in os.walk(d):
            subdirs.sort()
            for name in sorted(files):
                if name.endswith((".yaml", ".yml")) and name != "lint-exemptions.yaml":
                    yield Path(root) / name


def _as_str_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return (str(value),)


def _parse_samples(raw: Any, path: str, line: int | None, pid: str,
                   problems: list[PatternError]) -> tuple[tuple[Sample, ...], tuple[Sample, ...]]:
    if not isinstance(raw, dict):
        problems.append(PatternError(path, "samples must be a mapping with 'match' and 'no_match'",
                                     line=line, pattern_id=pid))
        return (), ()
    out: list[list[Sample]] = [[], []]
    for idx, key in enumerate(("match", "no_match")):
        items = raw.get(key) or []
        if not isinstance(items, list) or not items:
            problems.append(PatternError(
                path, f"samples.{key} needs at least one sample", line=line, pattern_id=pid,
                help="every pattern carries real lines it must match and near-misses it must not"))
            continue
        for item in items:
            if isinstance(item, str):
                out[idx].append(Sample(line=item))
            elif isinstance(item, dict) and isinstance(item.get("line"), str):
                expect = item.get("expect") or {}
                if not isinstance(expect, dict):
                    problems.append(PatternError(path, f"samples.{key}: expect must be a mapping",
                                                 line=line, pattern_id=pid))
                    expect = {}
                out[idx].append(Sample(
                    line=item["line"],
                    source=item.get("source"),
                    expect={str(k): str(v) for k, v in _strip_lines(expect).items()},
                    todo=bool(item.get("todo", False)),
                ))
            else:
                problems.append(PatternError(path, f"samples.{key}: each sample is a string or "
                                             "a mapping with 'line'", line=line, pattern_id=pid))
    return tuple(out[0]), tuple(out[1])


def _build(doc: dict[str, Any], path: str, problems: list[PatternError]) -> Pattern | None:
    lines: dict[str, int] = doc.get("__lines__", {})
    pid = str(doc.get("id", "")) or None
    before = len(problems)

    def err(key: str | None, reason: str, help: str | None = None) -> None:
        problems.append(PatternError(path, reason, line=lines.get(key or "", None),
                                     pattern_id=pid, help=help))

    for key in _REQUIRED:
        if key not in doc:
            err(None, f"missing required key '{key}'")
    for key in doc:
        if key != "__lines__" and key not in _REQUIRED and key not in _OPTIONAL:
            err(key, f"unknown key '{key}'", help=f"allowed keys: {', '.join(_REQUIRED + _OPTIONAL)}")
    if pid and not Path(path).name.startswith(pid + "-") and Path(path).stem != pid:
        err("id", f"file name must start with the id '{pid}-'")
    kind = doc.get("kind")
    if kind not in KINDS:
        err("kind", f"kind must be one of {KINDS}, not {kind!r}")
    status = doc.get("status")
    if status not in STATUSES:
        err("status", f"status must be one of {STATUSES}, not {status!r}")
    severity = doc.get("severity")
    if severity not in SEVERITIES:
        err("severity", f"severity must be one of {SEVERITIES}, not {severity!r}")
    cause = doc.get("cause")
    if kind == "cause" and cause not in TAXONOMY:
        err("cause", f"cause {cause!r} is not a taxonomy id", help="see shared/taxonomy.md")
    if kind == "event" and cause not in (None, "", "none"):
        err("cause", "an event pattern has no cause (use kind: cause)")
    stage = doc.get("stage")
    if stage is not None and stage not in STAGES:
        err("stage", f"stage {stage!r} is not one of Nova's method names {STAGES}")
    if kind == "event" and not stage:
        err("stage", "an event pattern needs a stage")
    marks = _as_str_tuple(doc.get("marks"))
    for m in marks:
        if m not in MARKS:
            err("marks", f"unknown mark {m!r}", help=f"one of {sorted(MARKS)}")
    confidence_raw = doc.get("confidence", 0.0 if kind == "event" else None)
    try:
        confidence = float(confidence_raw)  # type: ignore[arg-type]
        if not 0.0 <= confidence <= 1.0 or (kind == "cause" and confidence == 0.0):
            raise ValueError
    except (TypeError, ValueError):
        err("confidence", f"confidence must be a number in (0, 1] for causes, not {confidence_raw!r}")
        confidence = 0.0
    sources = _as_str_tuple(doc.get("sources"))
    for s in sources:
        if s not in _SOURCE_KINDS:
            err("sources", f"unknown source kind {s!r}", help=f"one of {_SOURCE_KINDS}")
    where_raw = doc.get("where") or {}
    where: dict[str, tuple[str, ...]] = {}
    if not isinstance(where_raw, dict):
        err("where", "where must be a mapping")
    else:
        for k, v in _strip_lines(where_raw).items():
            if k not in _WHERE_KEYS:
                err("where", f"unknown where key {k!r}", help=f"one of {_WHERE_KEYS}")
            where[k] = _as_str_tuple(v)
    match = doc.get("match")
    regex = ""
    caseless = False
    if not isinstance(match, dict) or not isinstance(match.get("regex"), str):
        err("match", "match must be a mapping with a 'regex' string")
    else:
        regex = match["regex"]
        caseless = bool(match.get("caseless", False))
        extra = set(match) - {"regex", "caseless", "__lines__"}
        if extra:
            err("match", f"unknown match keys {sorted(extra)}")
        from .validators import check_engines, check_regex

        dialect = check_regex(regex)
        for reason, help in dialect or check_engines(regex, caseless):
            err("match", f"regex: {reason}", help=help)
    for key in ("title", "summary", "why", "fix"):
        if key in doc and (not isinstance(doc[key], str) or not doc[key].strip()):
            err(key, f"{key} must be non-empty text")
    refs = _as_str_tuple(doc.get("references"))
    if "references" in doc and not refs:
        err("references", "references must name the source location that emits the message")
    s_match, s_no = _parse_samples(_strip_lines(doc.get("samples")), path, lines.get("samples"),
                                   pid or "?", problems)
    if len(problems) > before:
        return None
    return Pattern(
        id=str(pid), title=str(doc["title"]).strip(), status=str(status), kind=str(kind),
        cause=str(cause) if kind == "cause" else None, stage=str(stage) if stage else None,
        marks=marks, severity=str(severity), confidence=confidence, sources=sources, where=where,
        regex=regex, caseless=caseless, summary=str(doc["summary"]).strip(),
        why=str(doc["why"]).strip(), fix=str(doc["fix"]).strip(), references=refs,
        versions=str(doc["versions"]) if doc.get("versions") else None,
        samples_match=s_match, samples_no_match=s_no, path=path,
    )


def load_pattern_files(paths: Sequence[Path]) -> tuple[list[Pattern], list[PatternError], str]:
    """Parse and validate files; return (patterns, problems, digest). Never raises."""
    patterns: list[Pattern] = []
    problems: list[PatternError] = []
    loader = _line_loader()
    digest = hashlib.sha256()
    seen: dict[str, str] = {}
    for p in paths:
        path = str(p)
        try:
            data = p.read_bytes()
        except OSError as e:
            problems.append(PatternError(path, f"cannot read: {e.strerror or e}"))
            continue
        digest.update(path.encode() + b"\0" + data + b"\0")
        import yaml

        try:
            doc = yaml.load(data, Loader=loader)  # noqa: S506 - SafeLoader subclass
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            problems.append(PatternError(path, f"invalid YAML: {getattr(e, 'problem', e)}",
                                         line=mark.line + 1 if mark else None))
            continue
        if not isinstance(doc, dict):
            problems.append(PatternError(path, "a pattern file holds one YAML mapping"))
            continue
        pat = _build(doc, path, problems)
        if pat is None:
            continue
        if pat.id in seen:
            problems.append(PatternError(path, f"duplicate id {pat.id} (also in {seen[pat.id]})",
                                         pattern_id=pat.id, help="ids are never reused"))
            continue
        seen[pat.id] = path
        if pat.status != "deprecated":
            patterns.append(pat)
    return patterns, problems, digest.hexdigest()


def load_catalogue(extra_dirs: Sequence[str | os.PathLike[str]] = (),
                   *, builtin: bool = True) -> Catalogue:
    """Load the shipped catalogue plus user directories; raise CatalogueError listing all problems."""
    dirs: list[Path] = [default_patterns_dir()] if builtin else []
    for d in extra_dirs:
        p = Path(d)
        if not p.exists():
            raise CatalogueError([PatternError(str(p), "patterns directory does not exist")])
        dirs.append(p)
    files = list(_iter_files(dirs))
    # The parsed catalogue is cached by a hash of every file's name and bytes: PyYAML needs
    # about 1 s for the ~150 files, which would dominate `nma scan` on small inputs.
    h = hashlib.sha256(__file__.encode())
    for p in files:
        try:
            h.update(str(p).encode() + b"\0" + p.read_bytes() + b"\0")
        except OSError:
            h.update(str(p).encode() + b"\0unreadable\0")
    key = f"catalogue-{h.hexdigest()[:32]}.pickle"
    cached = load_pickle(key)
    if isinstance(cached, Catalogue):
        return cached
    patterns, problems, digest = load_pattern_files(files)
    if problems:
        raise CatalogueError(problems)
    patterns.sort(key=lambda p: p.id)
    cat = Catalogue(patterns=tuple(patterns), digest=digest)
    store_pickle(key, cat)
    return cat


