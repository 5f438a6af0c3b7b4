"""nova-migration-analyzer (``nma``): why did this Nova live migration fail?

Library first; the ``nma`` command line is a thin layer over these functions::

    from analyzer import analyze, render
    report = analyze(["compute-01=/bundles/c1", "compute-02=/bundles/c2"])
    print(render(report, "markdown"))

``analyze``, ``render``, ``scan_inputs`` (``analyzer.api``) and the report model (``Report``,
``Migration``, ``Outcome``: ``analyzer.model``) are imported on first use: ``nma scan`` never
needs them and their import is 10-17 ms of its start-up. Submodules are reachable as attributes
(``analyzer.model``) as with eager imports.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from .catalogue import Catalogue, Pattern, load_catalogue
from .errors import AnalyzerError, CatalogueError, CollectorError, ParseError, PatternError, UsageError
from .records import Finding, LogSource, Problem, Record, SourceInfo, SourceKind

if TYPE_CHECKING:
    from .api import analyze, render, scan_inputs
    from .model import Migration, Outcome, Report

_LAZY = {"Migration": ".model", "Outcome": ".model", "Report": ".model",
         "analyze": ".api", "render": ".api", "scan_inputs": ".api"}

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


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f".{name}", __name__)  # analyzer.model, analyzer.scan, ...
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
