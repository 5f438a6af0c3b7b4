"""Reporters: render a :class:`~analyzer.model.Report` as text, JSON, Markdown or HTML.

Reporters only render. They never see raw lines or run a regex; all wording comes from the
records (the catalogue's title/summary/why/fix are already copied into each
:class:`~analyzer.model.CauseVerdict`), plus the per-cause prevention table in
:mod:`analyzer.report.guidance`.

>>> from analyzer.model import Report, Summary
>>> r = Report(summary=Summary(primary_cause="none", migrations=0, failed=0),
...            migrations=(), inputs=(), problems=())
>>> render(r, "text").splitlines()[0]
'0 live migrations, 0 failed; primary cause: none'
>>> to_json_dict(r)["schema_version"]
'1.0'
"""

from __future__ import annotations

from ..errors import UsageError
from ..model import Report
from .html import render_html
from .json_report import SCHEMA_PATH, render_json, to_json_dict
from .markdown import render_markdown
from .text import DEFAULT_WIDTH, render_text

__all__ = ["FORMATS", "SCHEMA_PATH", "render", "to_json_dict"]

#: output formats accepted by :func:`render`
FORMATS = ("text", "json", "markdown", "html")


def render(report: Report, fmt: str, *, color: bool = False, width: int = DEFAULT_WIDTH) -> str:
    """Render ``report`` as ``fmt`` (one of :data:`FORMATS`).

    ``color`` adds ANSI colour to the text format (other formats ignore it); ``width`` is the
    text format's wrap column. Raises :class:`~analyzer.errors.UsageError` for an unknown
    format.
    """
    if fmt == "text":
        return render_text(report, color=color, width=width)
    if fmt == "json":
        return render_json(report)
    if fmt == "markdown":
        return render_markdown(report)
    if fmt == "html":
        return render_html(report)
    raise UsageError(f"unknown report format {fmt!r}; choose one of: {', '.join(FORMATS)}")
