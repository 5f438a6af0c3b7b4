"""Shared helpers for the parser tests: one-line parsing with a named source."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timezone, tzinfo

import pytest

from analyzer.parsers import parse_record
from analyzer.records import Record, SourceInfo, SourceKind

ParseFn = Callable[..., Record]


@pytest.fixture
def parse() -> ParseFn:
    """``parse(lines, name=…, host=…, kind=…, tz=…, line_no=…)``; a str is one line."""

    def _parse(lines: str | Sequence[str], *, name: str = "test.log", host: str | None = None,
               kind: SourceKind | None = None, tz: tzinfo = timezone.utc,
               line_no: int = 1) -> Record:
        seq = [lines] if isinstance(lines, str) else list(lines)
        return parse_record(seq, SourceInfo(name, host=host, kind=kind), line_no, tz)

    return _parse
