"""The one exception tree of nma.

    AnalyzerError
    ├── CatalogueError        the pattern catalogue cannot be loaded (lists every problem)
    │   └── PatternError      one pattern file is invalid (path, line, pattern id)
    ├── CollectorError        an input could not be opened or read at all
    ├── ParseError            a record could not be parsed (recorded as a Problem, not raised)
    └── UsageError            the caller asked for something impossible (bad flag value, ...)

Bad *input* never raises past the collector: it becomes a :class:`analyzer.records.Problem`
attached to the run, and the rest of the input is still processed.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AnalyzerError",
    "CatalogueError",
    "PatternError",
    "CollectorError",
    "ParseError",
    "UsageError",
]


class AnalyzerError(Exception):
    """Base of every error nma raises on purpose."""


class PatternError(AnalyzerError):
    """One problem in one pattern file: where it is, what is wrong and how to fix it."""

    def __init__(self, path: str, reason: str, *, line: int | None = None,
                 pattern_id: str | None = None, help: str | None = None) -> None:
        self.path = path
        self.line = line
        self.pattern_id = pattern_id
        self.reason = reason
        self.help = help
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        ident = f" [{self.pattern_id}]" if self.pattern_id else ""
        text = f"{where}{ident}: {self.reason}"
        if self.help:
            text += f"\n  help: {self.help}"
        return text


class CatalogueError(AnalyzerError):
    """The catalogue failed to load; ``problems`` holds every :class:`PatternError` found."""

    def __init__(self, problems: Sequence[PatternError]) -> None:
        self.problems = list(problems)
        lines = [f"{len(self.problems)} problem(s) in the pattern catalogue:"]
        lines += [f"- {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class CollectorError(AnalyzerError):
    """An input source could not be opened or read (engine unreachable, permission denied...)."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


class ParseError(AnalyzerError):
    """A record could not be parsed; carries the source and line number."""

    def __init__(self, source: str, line: int, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        super().__init__(f"{source}:{line}: {reason}")


class UsageError(AnalyzerError):
    """The caller asked for something that cannot be done (bad option value, unknown id)."""
