"""``nma``: a thin command line over the library (argument parsing, output, exit status).

Exit status (documented in the README and in ``nma --help``):

* ``nma analyze``: 0 no failed migration found, 1 at least one failure diagnosed,
  2 usage error or no input could be read.
* ``nma scan``: 0 no cause line found, 1 at least one cause line found, 2 usage/input error.
* ``nma patterns test``: 0 every sample behaves, 1 a sample failed, 2 the catalogue is invalid.
* ``nma collect``: 0 bundle written (what could not be collected is in its manifest), 2 error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone, tzinfo
from typing import TextIO

from . import __version__
from .errors import AnalyzerError, CatalogueError, UsageError
from .records import Finding, LogSource, Problem, SourceInfo

EPILOG = """\
exit status:
  analyze   0 no failed migration, 1 failure diagnosed (or a cause found), 2 usage or input error
  scan      0 no cause line, 1 cause line(s) found, 2 usage or input error
  patterns  0 ok, 1 a sample failed, 2 invalid catalogue
"""


def _parse_tz(value: str) -> tzinfo:
    from ._tz import parse_tz

    try:
        return parse_tz(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _parse_when(value: str) -> datetime:
    """ISO 8601 (naive = UTC), or a relative '-2h', '-30m', '-1d'."""
    v = value.strip()
    if v.startswith("-") and v[-1:] in "smhd" and v[1:-1].isdigit():
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[v[-1]]
        return datetime.now(timezone.utc) - timedelta(**{unit: int(v[1:-1])})
    try:
        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a time: {value!r} (ISO 8601 or -2h)") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="*", metavar="INPUT",
                   help="files, directories, globs, archives, '-' for stdin, or HOST=PATH")
    p.add_argument("--tz", type=_parse_tz, default=timezone.utc,
                   help="time zone of naive oslo/syslog timestamps (default UTC), e.g. Europe/Berlin or +02:00")
    p.add_argument("--since", type=_parse_when, help="ignore lines before this time (ISO 8601 or -2h)")
    p.add_argument("--until", type=_parse_when, help="ignore lines after this time")
    p.add_argument("--patterns", action="append", default=[], metavar="DIR",
                   help="add your own pattern directory (repeatable)")
    p.add_argument("--engine", choices=["auto", "hyperscan", "re2"], default="auto",
                   help="scan engine (default: the fastest installed)")
    p.add_argument("--docker", action="append", nargs="?", const="", metavar="URL",
                   help="read Kolla containers from a Docker engine (default DOCKER_HOST); repeatable, "
                        "e.g. --docker ssh://root@compute-02")
    p.add_argument("--journal", action="append", nargs="?", const="", metavar="PATH",
                   help="read the systemd journal (local, or a journal directory/file); repeatable")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="nma", description="Why did this Nova live migration fail? Reads nova, libvirt, QEMU, "
        "audit and journal logs and names the root cause.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", action="version", version=f"nma {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    an = sub.add_parser("analyze", help="root-cause timeline per live migration",
                        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=textwrap.dedent("""\
        examples:
          nma analyze compute-01=/srv/bundles/compute-01 compute-02=/srv/bundles/compute-02
          nma analyze sosreport-*.tar.xz --format markdown -o rca.md
          nma analyze --docker --docker ssh://root@compute-02
          journalctl -u nova-compute -o json | nma analyze -
        """))
    _common(an)
    an.add_argument("--format", choices=["text", "json", "markdown", "html"], default=None,
                    help="output format (default: text)")
    an.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE")
    an.add_argument("--color", choices=["auto", "always", "never"], default="auto")

    sc = sub.add_parser("scan", help="classify every line that matters (one record per line)",
                        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=textwrap.dedent("""\
        examples:
          nma scan /var/log/nova/nova-compute.log /var/log/libvirt/libvirtd.log
          zcat nova-compute.log.2.gz | nma scan - --format jsonl
          nma scan --count /var/log/kolla
        """))
    _common(sc)
    sc.add_argument("--format", choices=["text", "jsonl"], default=None,
                    help="text (default on a terminal) or jsonl")
    sc.add_argument("--count", action="store_true",
                    help="print only the number of lines the catalogue matched (as grep -c counts)")
    sc.add_argument("--color", choices=["auto", "always", "never"], default="auto")

    pt = sub.add_parser("patterns", help="list, show or test the pattern catalogue",
                        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=textwrap.dedent("""\
        examples:
          nma patterns list
          nma patterns show LM110
          nma patterns test                 # every sample of every pattern, every engine
          nma patterns test ./my-patterns   # your own directory
        """))
    pt.add_argument("action", choices=["list", "show", "test"])
    pt.add_argument("arg", nargs="?", help="pattern id (show) or a directory (test)")
    pt.add_argument("--patterns", action="append", default=[], metavar="DIR")
    pt.add_argument("--format", choices=["text", "json"], default="text")

    co = sub.add_parser("collect", help="write a portable .tar.gz of this host's relevant logs",
                        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=textwrap.dedent("""\
        examples:
          nma collect -o compute-01.tar.gz --since -6h
          nma collect -o c2.tar.gz --docker --only-relevant
        """))
    _common(co)
    co.add_argument("-o", "--output", required=True, metavar="FILE.tar.gz")
    co.add_argument("--only-relevant", action="store_true",
                    help="keep only lines the catalogue and correlator need (plus context)")
    return ap


def _sources(args: argparse.Namespace) -> Iterator[LogSource | Problem]:
    from .sources import collect

    inputs = list(args.inputs)
    if inputs:
        yield from collect(inputs)
    for url in args.docker or []:
        from .sources.docker import docker_sources

        yield from docker_sources(url or None, since=args.since.timestamp() if args.since else None,
                                  until=args.until.timestamp() if args.until else None)
    journals = args.journal or []
    if journals:
        from .sources.journal import journal_sources

        local = any(j == "" for j in journals)
        paths = [j for j in journals if j]
        if local:
            yield from journal_sources(None, since=args.since, until=args.until)
        if paths:
            yield from journal_sources(paths, since=args.since, until=args.until)


def _catalogue(dirs: Sequence[str]):  # type: ignore[no-untyped-def]
    from .catalogue import load_catalogue

    return load_catalogue(dirs)


def _use_color(choice: str, stream: TextIO) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return stream.isatty()


def _finding_json(f: Finding) -> dict[str, object]:
    r = f.record
    return {
        "pattern_id": f.pattern_id, "kind": f.kind, "cause": f.cause, "stage": f.stage,
        "severity": f.severity, "host": r.host, "source_kind": r.kind.value, "file": r.source,
        "line": r.line, "timestamp": r.timestamp.isoformat() if r.timestamp else None,
        "tz_assumption": r.tz_assumption, "instance_uuid": r.instance_uuid,
        "request_id": r.request_id, "global_request_id": r.global_request_id,
        "level": r.level, "logger": r.logger, "fields": dict(f.fields), "text": r.text,
    }


_SEV_COLOR = {"critical": "\x1b[1;31m", "error": "\x1b[31m", "warning": "\x1b[33m",
              "info": "\x1b[36m", "debug": "\x1b[2m"}


def _finding_text(f: Finding, color: bool) -> str:
    r = f.record
    label = f"cause:{f.cause}" if f.kind == "cause" else f"event:{f.stage}"
    ts = r.timestamp.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z" if r.timestamp else "-"
    head = f"{r.source}:{r.line}"
    # the parsed message: the line's own timestamp, pid, logger and context are shown once, in
    # the columns before it (jsonl keeps the full text)
    first = (r.message or r.text).split("\n", 1)[0]
    ident = r.instance_uuid[:8] if r.instance_uuid else None
    if ident:
        first = f"[{ident}] {first}"
    if len(first) > 300:
        first = first[:300] + "…"
    tag = f"[{f.pattern_id} {label} {f.severity}]"
    if color:
        tag = f"{_SEV_COLOR.get(f.severity, '')}{tag}\x1b[0m"
        head = f"\x1b[1m{head}\x1b[0m"
    host = f" {r.host}" if r.host else ""
    return f"{head}{host} {ts} {tag} {first}"


class _Progress:
    """A one-line progress display on stderr, for runs over many bundles.

    Shown only on a terminal, and only once the run has taken more than a second, so piped
    output and quick runs stay clean. Cleared when done.
    """

    def __init__(self, stream: TextIO) -> None:
        import time

        self._time = time.monotonic
        self.stream = stream
        self.enabled = stream.isatty() and not os.environ.get("NMA_NO_PROGRESS")
        self.start = self._time()
        self.after = float(os.environ.get("NMA_PROGRESS_AFTER", "1.0"))  # seconds
        self.last = 0.0
        self.count = 0
        self.shown = False

    def __call__(self, info: SourceInfo) -> None:
        self.count += 1
        if not self.enabled:
            return
        now = self._time()
        if now - self.start < self.after or now - self.last < 0.1:
            return
        self.last = now
        name = info.name if len(info.name) <= 60 else "…" + info.name[-59:]
        host = f" [{info.host}]" if info.host else ""
        self.stream.write(f"\r\x1b[Knma: {self.count} sources, {now - self.start:.0f}s: {name}{host}")
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _cmd_scan(args: argparse.Namespace) -> int:
    from .scan import iter_scan

    cat = _catalogue(args.patterns)
    if not args.inputs and not args.docker and not args.journal:
        if sys.stdin.isatty():
            raise UsageError("no input: name files, directories or '-' for stdin")
        args.inputs = ["-"]
    fmt = args.format or ("text" if sys.stdout.isatty() else "jsonl")
    color = _use_color(args.color, sys.stdout)
    out = sys.stdout
    n = causes = readable = matched_lines = 0
    problems: list[Problem] = []
    engine = None if args.engine == "auto" else args.engine
    progress = _Progress(sys.stderr)
    for item in iter_scan(_sources(args), cat, tz=args.tz, since=args.since, until=args.until,
                          engine=engine, on_source=progress):
        if isinstance(item, Finding):
            n += 1
            if item.kind == "cause" and item.severity in ("error", "critical", "warning"):
                causes += 1
            if args.count:
                continue
            if fmt == "jsonl":
                out.write(json.dumps(_finding_json(item), ensure_ascii=False) + "\n")
            else:
                out.write(_finding_text(item, color) + "\n")
        elif isinstance(item, Problem):
            problems.append(item)
            if item.severity != "info":
                print(f"nma: {item}", file=sys.stderr)
        else:
            matched_lines += item.matched_lines
            if item.bytes_read or not any(p.source == item.name and p.severity == "error"
                                          for p in problems):
                readable += 1
    progress.done()
    if args.count:
        out.write(f"{matched_lines}\n")
    out.flush()
    if readable == 0:
        print("nma: no input could be read", file=sys.stderr)
        return 2
    return 1 if causes else 0


def _cmd_analyze(args: argparse.Namespace) -> int:
    from . import analyze
    from .report import render

    if not args.inputs and not args.docker and not args.journal:
        if sys.stdin.isatty():
            raise UsageError("no input: name files, directories, HOST=PATH pairs or '-' for stdin")
        args.inputs = ["-"]
    engine = None if args.engine == "auto" else args.engine
    extra = _sources(argparse.Namespace(**{**vars(args), "inputs": []}))
    progress = _Progress(sys.stderr)
    try:
        report = analyze(list(args.inputs), patterns=args.patterns, tz=args.tz, since=args.since,
                         until=args.until, engine=engine, sources=extra, on_source=progress)
    finally:
        progress.done()
    fmt = args.format or "text"
    dest: TextIO = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    try:
        color = fmt == "text" and _use_color(args.color, dest)
        text = render(report, fmt, color=color)
        dest.write(text if text.endswith("\n") else text + "\n")
    finally:
        if args.output:
            dest.close()
    for p in report.problems:
        if p.severity != "info":
            print(f"nma: {p}", file=sys.stderr)
    if report.inputs and all(i.bytes_read == 0 for i in report.inputs) or not report.inputs:
        print("nma: no input could be read", file=sys.stderr)
        return 2
    # a failure is diagnosed when an attempt failed, or when a cause was found even though the
    # input does not show the attempt's end (a pasted error line)
    return 1 if report.summary.failed or report.summary.primary_cause != "none" else 0


def _cmd_patterns(args: argparse.Namespace) -> int:
    from .catalogue import load_catalogue
    from .catalogue.check import check_pattern
    from .matcher import Matcher, available_engines

    if args.action == "test" and args.arg:
        cat = load_catalogue([*args.patterns, args.arg])
        only = {p.id for p in load_catalogue([args.arg], builtin=False).patterns}
    else:
        cat = load_catalogue(args.patterns)
        only = None
    if args.action == "list":
        rows = [p for p in cat.patterns]
        if args.format == "json":
            print(json.dumps([{"id": p.id, "kind": p.kind, "cause": p.cause, "stage": p.stage,
                               "severity": p.severity, "title": p.title, "path": p.path}
                              for p in rows], indent=1))
            return 0
        for p in rows:
            what = p.cause if p.kind == "cause" else p.stage
            print(f"{p.id:7} {p.kind:5} {what or '-':38} {p.severity:8} {p.title}")
        print(f"{len(rows)} patterns", file=sys.stderr)
        return 0
    if args.action == "show":
        if not args.arg or args.arg not in cat:
            raise UsageError(f"no pattern {args.arg!r}; see 'nma patterns list'")
        p = cat.get(args.arg)
        if args.format == "json":
            print(json.dumps({k: (list(v) if isinstance(v, tuple) else v) for k, v in
                              ((s, getattr(p, s)) for s in p.__slots__)
                              if not k.startswith("samples")}, indent=1, default=str))
            return 0
        print(f"{p.id}  {p.title}\n  kind: {p.kind}  cause: {p.cause}  stage: {p.stage}  "
              f"severity: {p.severity}  status: {p.status}\n  file: {p.path}\n  regex: {p.regex}\n")
        for title, body in (("summary", p.summary), ("why", p.why), ("fix", p.fix)):
            print(f"{title}:\n{textwrap.indent(body, '  ')}\n")
        print("references:\n" + "\n".join(f"  - {r}" for r in p.references))
        return 0
    failed = total = 0
    for eng in available_engines():
        m = Matcher(cat, engine=eng)
        for p in cat.patterns:
            if only is not None and p.id not in only:
                continue
            for r in check_pattern(p, m):
                total += 1
                if r.ok == (not r.sample.todo):
                    continue
                if r.sample.todo and r.ok:
                    print(f"{eng}: {p.id}: todo sample now passes: {r.sample.line[:100]}")
                    continue
                failed += 1
                way = "match" if r.should_match else "no_match"
                print(f"FAIL {eng}: {p.id} ({p.path}) {way}: {r.detail}\n    {r.sample.line[:300]}")
    print(f"{total - failed} passed, {failed} failed")
    return 1 if failed else 0


def _cmd_collect(args: argparse.Namespace) -> int:
    from .sources.bundle_writer import write_bundle

    manifest = write_bundle(args.output, sources=_sources(args), catalogue_dirs=args.patterns,
                            since=args.since, until=args.until, only_relevant=args.only_relevant,
                            tz=args.tz)
    print(f"wrote {args.output}: {manifest.get('files', 0)} files", file=sys.stderr)
    for p in manifest.get("not_collected", []):
        where = f"{p['source']}:{p['line']}" if p.get("line") else p["source"]
        print(f"nma: not collected: {where}: {p['reason']}", file=sys.stderr)
    return 0


_RELATIVE = ("--since", "--until")


def _join_relative_times(argv: Sequence[str]) -> list[str]:
    """``--since -6h`` -> ``--since=-6h``: argparse takes a value that starts with '-' (and is
    not a plain number) for an option and fails with "expected one argument".

    >>> _join_relative_times(["collect", "--since", "-6h", "--until", "-30m", "-o", "x"])
    ['collect', '--since=-6h', '--until=-30m', '-o', 'x']
    >>> _join_relative_times(["scan", "--since", "-o"])  # not a time: left for argparse
    ['scan', '--since', '-o']
    >>> _join_relative_times(["scan", "--", "--since", "-6h"])  # after --: inputs
    ['scan', '--', '--since', '-6h']
    """
    out: list[str] = []
    it = iter(range(len(argv)))
    for i in it:
        a = argv[i]
        if a == "--":  # what follows is inputs, whatever it looks like
            out.extend(argv[i:])
            break
        nxt = argv[i + 1] if i + 1 < len(argv) else ""
        if a in _RELATIVE and nxt[:1] == "-" and nxt[-1:] in "smhd" and nxt[1:-1].isdigit():
            out.append(f"{a}={nxt}")
            next(it, None)
        else:
            out.append(a)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(_join_relative_times(sys.argv[1:] if argv is None else argv))
    if not args.command:
        ap.print_help()
        return 2
    try:
        handler = {"scan": _cmd_scan, "analyze": _cmd_analyze, "patterns": _cmd_patterns,
                   "collect": _cmd_collect}[args.command]
        return handler(args)
    except CatalogueError as e:
        print(f"nma: {e}", file=sys.stderr)
        return 2
    except AnalyzerError as e:
        print(f"nma: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        try:
            sys.stdout = None
        finally:
            return 0
    except KeyboardInterrupt:
        return 130
