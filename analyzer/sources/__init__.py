"""Collectors: inputs in, :class:`~analyzer.records.LogSource` | ``Problem`` out.

``collect(inputs)`` reads files, directories, globs, stdin, compressed files and archives
(:mod:`.files`), recognising sosreports, Kolla / TripleO trees, ``/var/log`` copies and
collections of many hosts (:mod:`.bundles`). The Docker (:mod:`.docker`) and journal
(:mod:`.journal`) collectors are imported on demand by their callers, so reading plain files
needs neither the Docker SDK nor systemd.

Tar members are streamed: read each source before taking the next (see :mod:`.files`).

To know what each bundle held and lacked, use a :class:`Collector` instead of :func:`collect`::

    c = Collector(default_host="compute-01")
    result = scan(c.collect(["bundles/"]), catalogue)
    for b in c.bundles():
        print(b.origin, b.host, b.lacking())
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..records import LogSource, Problem
from .bundles import Bundle, inventory, kind_from_path, lacking
from .files import Collector, StreamReadError, open_decompressed, sniff_compression

__all__ = [
    "collect",
    "Collector",
    "Bundle",
    "inventory",
    "lacking",
    "kind_from_path",
    "open_decompressed",
    "sniff_compression",
    "StreamReadError",
]


def collect(inputs: Sequence[str], *,
            default_host: str | None = None) -> Iterator[LogSource | Problem]:
    """Sources (and problems) for ``inputs``, in order.

    Each input is a file path, a directory (read recursively), a glob
    (``/var/log/nova/*.log*``), ``-`` for standard input, or ``HOST=PATH`` to assign HOST to
    everything under PATH. ``.gz`` / ``.bz2`` / ``.xz`` files and ``.tar[.gz|.xz|.bz2]`` /
    ``.tgz`` / ``.zip`` archives are read in place. ``default_host`` is the host for inputs
    whose host is not otherwise known. Bad input becomes a :class:`Problem`; nothing raises.
    """
    return Collector(default_host=default_host).collect(inputs)
