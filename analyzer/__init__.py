"""nova-migration-analyzer (``nma``): why did this Nova live migration fail?

Library first; the ``nma`` command line is a thin layer over these functions::

    from analyzer import analyze, render
    report = analyze(["compute-01=/bundles/c1", "compute-02=/bundles/c2"])
    print(render(report, "markdown"))
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone, tzinfo
from typing import TYPE_CHECKING

__version__ = "0.1.0"

from .catalogue import Catalogue, Pattern, load_catalogue
from .errors import AnalyzerError, CatalogueError, CollectorError, ParseError, PatternError, UsageError
from .model import Migration, Outcome, Report
from .records import Finding, LogSource, Problem, Record, SourceInfo, SourceKind

if TYPE_CHECKING:
    from .scan import ScanResult

__all__ = [
    "__version__",
    "analyze",
    "scan_inputs",
    "render",
    "load_catalogue",
    "Catalogue",
    "Pattern",
    "Finding",
    "Record",
    "Problem",
    "LogSource",
    "SourceInfo",
    "SourceKind",
    "Report",
    "Migration",
    "Outcome",
    "AnalyzerError",
    "CatalogueError",
    "PatternError",
    "CollectorError",
    "ParseError",
    "UsageError",
]


def scan_inputs(inputs: Sequence[str], *, patterns: Sequence[str] = (), tz: tzinfo = timezone.utc,
                since: datetime | None = None, until: datetime | None = None,
                engine: str | None = None,
                sources: Iterable[LogSource | Problem] | None = None) -> ScanResult:
    """Collect ``inputs`` (or the given ``sources``) and classify them: a ScanResult."""
    from .scan import scan
    from .sources import collect

    cat = load_catalogue(patterns)
    return scan(sources if sources is not None else collect(list(inputs)), cat, tz=tz,
                since=since, until=until, engine=engine)


def analyze(inputs: Sequence[str], *, patterns: Sequence[str] = (), tz: tzinfo = timezone.utc,
            since: datetime | None = None, until: datetime | None = None,
            engine: str | None = None,
            sources: Iterable[LogSource | Problem] | None = None) -> Report:
    """The main job: one root-cause timeline per live migration found in ``inputs``."""
    from .correlate import correlate
    from .scan import scan
    from .sources import collect

    cat = load_catalogue(patterns)
    result = scan(sources if sources is not None else collect(list(inputs)), cat, tz=tz,
                  since=since, until=until, engine=engine)
    return correlate(result, cat)


def render(report: Report, fmt: str = "text", *, color: bool = False) -> str:
    """Render a Report as ``text``, ``json``, ``markdown`` or ``html``."""
    from .report import render as _render

    return _render(report, fmt, color=color)
