"""``nma collect``: one portable ``.tar.gz`` of this host's relevant logs, secrets redacted.

Every source (files, Kolla containers through the Docker engine, the journal) is spooled once
to a temporary file with secrets redacted, optionally reduced to the lines the catalogue needs
(``only_relevant``: every matched record plus ``CONTEXT`` lines either side, and every line
carrying an instance UUID or request id seen in a matched record), and added to the archive
under ``<host>/<name>``. ``manifest.json`` at the archive root says what was collected, with
sizes and hashes, and what could not be collected and why.

Redaction runs a Python loop over lines: ``collect`` is not on the scan hot path, and the
loop is what keeps credentials out of a bundle that leaves the host.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import socket
import tarfile
import tempfile
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone, tzinfo
from typing import Any, BinaryIO

from .. import __version__
from ..records import LogSource, Problem

__all__ = ["write_bundle", "redact", "REDACTIONS", "CONTEXT"]

CONTEXT = 20

#: (name, pattern, replacement). Patterns run on bytes so undecodable lines are redacted too.
REDACTIONS: tuple[tuple[str, re.Pattern[bytes], bytes], ...] = (
    # scheme://user:password@host (transport_url, [database] connection, keystone URLs)
    ("url-credentials", re.compile(rb"(?P<pre>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s'\"]+:)[^@\s'\"]+(?=@)"),
     rb"\g<pre>***"),
    # password / secret / token style keys in ini, key=value, JSON and Python dict reprs
    ("key-value", re.compile(
        rb"(?P<key>\b(?:[A-Za-z_]*password|[A-Za-z_]*passwd|secret|[A-Za-z_]*_secret|auth_token|"
        rb"token|admin_token|X-Auth-Token|X-Subject-Token|rbd_secret_uuid|fernet_key)"
        rb"(?:['\"])?\s*(?:[:=]|=>)\s*(?:u?['\"])?)(?P<val>[^'\"\s,}&]+)", re.IGNORECASE),
     rb"\g<key>***"),
    # Fernet / Keystone tokens anywhere
    ("fernet-token", re.compile(rb"\bgAAAAA[A-Za-z0-9_-]{20,}={0,2}"), b"***"),
)


def redact(line: bytes) -> tuple[bytes, int]:
    """Redact secrets in one line; return the line and the number of redactions.

    >>> redact(b"transport_url = rabbit://openstack:s3cr3t@10.0.0.1:5672//")[0]
    b'transport_url = rabbit://openstack:***@10.0.0.1:5672//'
    >>> redact(b"'admin_password': 'hunter2', 'x': 1")[0]
    b"'admin_password': '***', 'x': 1"
    """
    n = 0
    for _, rx, rep in REDACTIONS:
        line, k = rx.subn(rep, line)
        n += k
    return line, n


def _member_name(src: LogSource, host: str) -> str:
    name = src.info.name
    for pre in ("docker://", "journal:"):
        if name.startswith(pre):
            name = name[len(pre):].replace(":", "_")
    name = name.replace("!", "/").lstrip("/")
    parts = [p for p in name.split("/") if p not in ("", ".", "..")]
    return "/".join([host, *parts]) or f"{host}/stdin"


def _spool(src: LogSource, dst: BinaryIO) -> tuple[int, int, int]:
    """Copy the source, redacting, into dst. Returns (bytes, lines, redactions)."""
    total = lines = red = 0
    with src.open() as fh:
        rest = b""
        while True:
            chunk = fh.read(1 << 20)
            if not chunk:
                break
            total += len(chunk)
            data = rest + chunk
            cut = data.rfind(b"\n") + 1
            rest = data[cut:]
            for line in data[:cut].splitlines(keepends=True):
                out, k = redact(line)
                red += k
                dst.write(out)
                lines += 1
        if rest:
            out, k = redact(rest)
            red += k
            dst.write(out)
            lines += 1
    return total, lines, red


def _relevant_ranges(path: str, matcher: Any, context: int) -> list[tuple[int, int]]:
    """Line ranges [first, last] (1-based) to keep: matched records +- context."""
    from ..scan import _is_start

    ranges: list[tuple[int, int]] = []
    with open(path, "rb") as fh:
        for hit in matcher.iter_hits(fh, is_record_start=_is_start, on_warning=lambda *a: None):
            ranges.append((max(1, hit.line_no - context), hit.line_no + len(hit.lines) - 1 + context))
    ranges.sort()
    merged: list[tuple[int, int]] = []
    for a, b in ranges:
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def _filter_lines(path: str, ranges: list[tuple[int, int]], dst: BinaryIO) -> int:
    kept = 0
    it = iter(ranges)
    cur = next(it, None)
    with open(path, "rb") as fh:
        for no, line in enumerate(fh, 1):
            while cur is not None and no > cur[1]:
                cur = next(it, None)
            if cur is None:
                break
            if no >= cur[0]:
                dst.write(line)
                kept += 1
    return kept


def write_bundle(output: str, *, sources: Iterable[LogSource | Problem],
                 catalogue_dirs: Sequence[str] = (), since: datetime | None = None,
                 until: datetime | None = None, only_relevant: bool = False,
                 tz: tzinfo = timezone.utc, context: int = CONTEXT) -> dict[str, Any]:
    """Write the bundle; return its manifest (also stored as ``manifest.json`` inside)."""
    host = socket.gethostname()
    matcher = None
    if only_relevant:
        from ..catalogue import load_catalogue
        from ..matcher import Matcher

        matcher = Matcher(load_catalogue(catalogue_dirs))
    manifest: dict[str, Any] = {
        "tool": {"name": "nma", "version": __version__},
        "created_at": datetime.now(timezone.utc).isoformat(),
        "host": host,
        "window": {"since": since.isoformat() if since else None,
                   "until": until.isoformat() if until else None,
                   "note": "docker logs and the journal are cut at the source; files are collected whole"},
        "only_relevant": only_relevant,
        "context_lines": context if only_relevant else None,
        "tz": str(tz),
        "collected": [],
        "not_collected": [],
    }
    tmpdir = tempfile.mkdtemp(prefix="nma-collect-")
    names: set[str] = set()
    try:
        with tarfile.open(output, "w:gz") as tar:
            for item in sources:
                if isinstance(item, Problem):
                    manifest["not_collected"].append(
                        {"source": item.source, "reason": item.message, "line": item.line})
                    continue
                src_host = item.info.host or host
                name = _member_name(item, src_host)
                base, k = name, 1
                while name in names:
                    k += 1
                    name = f"{base}.{k}"
                names.add(name)
                spool = os.path.join(tmpdir, "spool")
                try:
                    with open(spool, "wb") as dst:
                        nbytes, nlines, nred = _spool(item, dst)
                except Exception as e:  # noqa: BLE001 - any read failure is reported, not fatal
                    manifest["not_collected"].append({"source": item.info.name,
                                                      "reason": f"{type(e).__name__}: {e}"})
                    continue
                path = spool
                kept = nlines
                if matcher is not None:
                    ranges = _relevant_ranges(spool, matcher, context)
                    path = os.path.join(tmpdir, "kept")
                    with open(path, "wb") as dst:
                        kept = _filter_lines(spool, ranges, dst)
                h = hashlib.sha256()
                with open(path, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        h.update(block)
                ti = tar.gettarinfo(path, arcname=name)
                ti.mtime = int(time.time())
                ti.uid = ti.gid = 0
                ti.uname = ti.gname = "root"
                with open(path, "rb") as fh:
                    tar.addfile(ti, fh)
                manifest["collected"].append({
                    "name": name, "source": item.info.name, "host": src_host,
                    "kind": item.info.kind.value if item.info.kind else None,
                    "bytes_read": nbytes, "lines": nlines, "lines_kept": kept,
                    "redactions": nred, "sha256": h.hexdigest(), "size": ti.size})
            manifest["files"] = len(manifest["collected"])
            blob = json.dumps(manifest, indent=1).encode()
            ti = tarfile.TarInfo("manifest.json")
            ti.size = len(blob)
            ti.mtime = int(time.time())
            tar.addfile(ti, io.BytesIO(blob))
    finally:
        for f in os.listdir(tmpdir):
            os.unlink(os.path.join(tmpdir, f))
        os.rmdir(tmpdir)
    return manifest
