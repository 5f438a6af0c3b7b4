"""Helpers shared by the collector tests (test_files, test_bundles, test_docker, test_journal)."""

from __future__ import annotations

from collections.abc import Iterable

from analyzer.records import LogSource, Problem


def split(items: Iterable[LogSource | Problem]) -> tuple[list[LogSource], list[Problem]]:
    """Sources and problems of a collector's output, each in order."""
    sources: list[LogSource] = []
    problems: list[Problem] = []
    for it in items:
        (problems if isinstance(it, Problem) else sources).append(it)  # type: ignore[arg-type]
    return sources, problems


def split_by_name(items: list[LogSource | Problem]) -> tuple[dict[str, LogSource], list[Problem]]:
    """Sources by name (names must be unique) and problems of a collector's output."""
    sources, problems = split(items)
    by_name = {s.info.name: s for s in sources}
    assert len(by_name) + len(problems) == len(items)
    return by_name, problems


def read_all(src: LogSource) -> bytes:
    with src.open() as f:
        return f.read()
