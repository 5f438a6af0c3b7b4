"""The library's entry points: ``scan_inputs``, ``analyze`` and ``render``.

Re-exported by the package (``from analyzer import analyze, render``) and imported on first use,
so that ``nma scan`` does not pay for the report model it never builds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timezone, tzinfo
from typing import Any

from .catalogue import load_catalogue
from .model import MissingEvidence, Report
from .records import LogSource, Problem, SourceInfo
from .scan import ScanResult, scan

__all__ = ["scan_inputs", "analyze", "render"]


def scan_inputs(inputs: Sequence[str], *, patterns: Sequence[str] = (), tz: tzinfo = timezone.utc,
                since: datetime | None = None, until: datetime | None = None,
                engine: str | None = None,
                sources: Iterable[LogSource | Problem] | None = None) -> ScanResult:
    """Collect ``inputs`` (or the given ``sources``) and classify them: a ScanResult."""
    from .sources import collect

    cat = load_catalogue(patterns)
    return scan(sources if sources is not None else collect(list(inputs)), cat, tz=tz,
                since=since, until=until, engine=engine)


def analyze(inputs: Sequence[str], *, patterns: Sequence[str] = (), tz: tzinfo = timezone.utc,
            since: datetime | None = None, until: datetime | None = None,
            engine: str | None = None,
            sources: Iterable[LogSource | Problem] | None = None,
            on_source: Callable[[SourceInfo], None] | None = None) -> Report:
    """The main job: one root-cause timeline per live migration found in ``inputs``.

    ``sources`` adds already-built sources (Docker engines, journals) to ``inputs``;
    ``on_source`` is called as each source starts (progress display).
    """
    import itertools

    from .correlate import correlate
    from .sources import Collector

    cat = load_catalogue(patterns)
    collector = Collector()
    streams: Iterable[LogSource | Problem] = collector.collect(list(inputs)) if inputs else ()
    if sources is not None:
        streams = itertools.chain(streams, sources)
    result = scan(streams, cat, tz=tz, since=since, until=until, engine=engine,
                  on_source=on_source)
    report = correlate(result, cat)
    report = _with_bundle_gaps(report, collector.bundles())
    return replace(report, generated_at=datetime.now(timezone.utc))


def _with_bundle_gaps(report: Report, bundles: Sequence[Any]) -> Report:
    """Add what each bundle lacked to the migrations that involve its host (C6 of issue 4).

    The step that gets each piece (``analyzer.correlate.missing.bundle_gap_how``) is one
    command for that host, bounded to the attempt's time where the tool can be: "read the
    binary journal files with --journal" only when the bundle holds such files.
    """
    from .correlate.items import canon_host
    from .correlate.missing import bundle_gap_how

    # keyed by the correlator's spelling of the host (lower case, short name), which is what
    # Migration.source_host/dest_host hold: `COMPUTE-01=` or `compute-01.example.org=` is
    # the compute-01 of the report
    gaps: dict[str, list[tuple[str, Any]]] = {}
    for b in bundles:
        labels = b.lacking()
        host = canon_host(b.host)
        if not labels or not host:
            continue
        for label in labels:
            gaps.setdefault(host, []).append((label, b))
    if not gaps:
        return report
    migrations = []
    for m in report.migrations:
        hosts = {h for h in (m.source_host, m.dest_host) if h}  # compute hosts only
        extra = [
            MissingEvidence(
                what=f"{label} of {h}", why=f"the bundle {b.origin} holds no {label}",
                how=bundle_gap_how(label, h, deployment=b.deployment,
                                   journal_files=b.journal_files, start=m.start, end=m.end))
            for h in sorted(hosts) for label, b in gaps.get(h, [])
        ]
        if extra and m.outcome.failed:
            # the correlator may already ask for the same thing ("/var/log/audit/audit.log on
            # compute-02" after a QEMU crash): one step is listed once
            have = {e.what for e in m.missing_evidence} | {e.how for e in m.missing_evidence}
            extra = [e for e in extra if e.what not in have and e.how not in have]
            m = replace(m, missing_evidence=(*m.missing_evidence, *extra))
        migrations.append(m)
    return replace(report, migrations=tuple(migrations))


def render(report: Report, fmt: str = "text", *, color: bool = False) -> str:
    """Render a Report as ``text``, ``json``, ``markdown`` or ``html``."""
    from .report import render as _render

    return _render(report, fmt, color=color)
