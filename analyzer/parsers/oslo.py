"""oslo.log lines written by nova-* (and other OpenStack services using oslo.log defaults).

Format (messages.md §1.1, oslo.log ``_options.py`` defaults)::

    %(asctime)s.%(msecs)03d %(process)d %(levelname)s %(name)s [<context>] %(instance)s%(message)s

``<context>`` is one of

* ``-`` (no request context: lifecycle events, service start);
* pre-Zed ``req-<uuid> <user> <project> <domain> <user_domain> <project_domain>``;
* Zed+ ``<global_request_id> req-<uuid> <6 identity fields>`` where the global id is the
  literal ``None`` unless the caller sent ``X-OpenStack-Request-ID``.

``%(instance)s`` is ``[instance: <uuid>] `` or empty. DEBUG records end with
``<funcName> <pathname>:<lineno>``, which is removed from ``message`` (kept in ``text``).
Traceback lines carry the same prefix with level ``ERROR`` (``TRACE`` up to Kilo, mapped to
ERROR). The timestamp is local time without zone: :mod:`.record` applies ``--tz``.

Sample input::

    2024-07-11 22:10:59.946 2 ERROR nova.virt.libvirt.driver [None req-590602d0-9d5a-4c1e-9d3b-4c5d86bbf0c5 3de117d2c7a74f2a9f3e0c1d5b6a7e88 eab438b1f1e44a6b8a0c2d4e6f8a0b1c - - default default] [instance: 7b7edae6-2b8c-4a3e-9c1d-0e5f6a7b8c9d] Live Migration failure: operation failed: domain is not running: libvirt.libvirtError: operation failed: domain is not running
    2021-03-04 10:11:12.345 12345 DEBUG nova.virt.libvirt.driver [req-5b0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b 8f6c0a1b2c3d4e5f6a7b8c9d0e1f2a3b 1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a - default default] [instance: 6f1a2b3c-4d5e-4f6a-8b9c-0d1e2f3a4b5c] About to invoke the migrate API _live_migration_operation /usr/lib/python3.9/site-packages/nova/virt/libvirt/driver.py:10345

Examples:

    >>> p = parse("2024-07-11 22:11:06.965 2 ERROR nova.compute.manager "
    ...           "[instance: 7b7edae6-2b8c-4a3e-9c1d-0e5f6a7b8c9d] Traceback (most recent call last):")
    >>> p.level, p.logger, p.pid, p.request_id, p.instance_uuid, p.message
    ('ERROR', 'nova.compute.manager', 2, None, '7b7edae6-2b8c-4a3e-9c1d-0e5f6a7b8c9d', 'Traceback (most recent call last):')
    >>> p = parse("2024-07-11 22:10:59.946 2 INFO nova.compute.manager [None "
    ...           "req-590602d0-9d5a-4c1e-9d3b-4c5d86bbf0c5 u p - - default default] Took 1.20 seconds")
    >>> p.global_request_id, p.request_id, p.kind.value
    (None, 'req-590602d0-9d5a-4c1e-9d3b-4c5d86bbf0c5', 'nova-compute')
    >>> strip_debug_suffix("About to invoke the migrate API _live_migration_operation "
    ...                    "/usr/lib/python3.9/site-packages/nova/virt/libvirt/driver.py:10345")
    'About to invoke the migrate API'
    >>> parse("2024-07-11 not an oslo line") is None
    True
"""

from __future__ import annotations

import re
from datetime import datetime

from ._common import Parsed, kind_for_logger

__all__ = ["LINE", "parse", "strip_debug_suffix"]

#: messages.md §5 ``nova_line`` widened: optional/longer fraction (custom ``log_date_format``),
#: every level name oslo.log or old nova used; ``(?!instance: )`` keeps a traceback line's
#: ``[instance: …]`` from being read as the request context.
LINE = re.compile(
    r"(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:[.,]\d{1,6})?) (?P<pid>\d+) "
    r"(?P<level>TRACE|DEBUG|INFO|AUDIT|WARNING|WARN|ERROR|CRITICAL|FATAL) (?P<logger>\S+)"
    r"(?: \[(?!instance: )(?P<ctx>[^\]]*)\])?(?: \[instance: (?P<instance>[0-9a-fA-F-]{36})\])?"
    r"(?: (?P<msg>.*)|$)"
)
#: messages.md §5 ``nova_ctx`` with any ``req-`` id spelling (other services use non-UUID ids).
CTX = re.compile(r"(?:(?P<global>None|req-[\w-]+) )?(?P<req>req-[\w-]+)(?: .*)?")
#: ``%(funcName)s %(pathname)s:%(lineno)d`` at the very end of a DEBUG record.
DEBUG_SUFFIX = re.compile(r" [\w<>.]+ \S+\.pyc?:\d+$")

_LEVELS = {"TRACE": "ERROR", "WARN": "WARNING", "FATAL": "CRITICAL", "AUDIT": "INFO"}


def strip_debug_suffix(message: str) -> str:
    """``message`` without oslo.log's DEBUG ``funcName path:lineno`` suffix (if present)."""
    # Search only the tail: the suffix is short, and a 1 MB message must stay cheap.
    tail_start = max(0, len(message) - 1024)
    m = DEBUG_SUFFIX.search(message, tail_start)
    return message[: m.start()] if m else message


def parse(line: str) -> Parsed | None:
    """One physical oslo.log line, or ``None`` when ``line`` is not in that format."""
    m = LINE.match(line)
    if m is None:
        return None
    ts_text = m["ts"].replace(",", ".")
    try:
        ts = datetime.fromisoformat(ts_text)
    except ValueError:  # e.g. month 13: not an oslo stamp after all
        return None
    level = m["level"]
    level = _LEVELS.get(level, level)
    logger = m["logger"]
    parsed = Parsed(fmt="oslo", message=m["msg"] or "", kind=kind_for_logger(logger), ts=ts,
                    level=level, logger=logger, pid=int(m["pid"]),
                    instance_uuid=m["instance"].lower() if m["instance"] else None)
    ctx = m["ctx"]
    if ctx and ctx != "-":
        c = CTX.fullmatch(ctx)
        if c is not None:
            parsed.request_id = c["req"]
            g = c["global"]
            parsed.global_request_id = g if g and g != "None" else None
    return parsed
