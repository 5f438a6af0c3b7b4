"""The command line: documented help, exit statuses and bad input, end to end in a subprocess.

Peak memory is read from the child's rusage (os.wait4), so the bound is on the real process.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path


from analyzer.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
FAIL = ("2024-07-11 22:10:59.946 2 ERROR nova.virt.libvirt.driver [None req-590602d0-3c2b-4a8e-9f1d-6e7a5b4c3d21 "
        "3de117d2 eab438b1 - - default default] [instance: 7b7edae6-5e8a-4c1f-9d6b-2f3c8a1e4b90] Live Migration "
        "failure: Cannot recv data: Host key verification failed.: Connection reset by peer: "
        "libvirt.libvirtError: Cannot recv data: Host key verification failed.: Connection reset by peer")
NOISE = ("2024-07-11 22:10:{s:02d}.000 2 DEBUG oslo_service.periodic_task [None req-0a1b2c3d-1111-2222-3333-444455556666 "
         "- - - - - -] Running periodic task ComputeManager._poll_volume_usage run_periodic_tasks "
         "/usr/lib/python3/dist-packages/oslo_service/periodic_task.py:210")


def nma(*args: str, stdin: bytes | None = None) -> tuple[int, str, str, int]:
    """Run `python -m analyzer ARGS`; return (exit status, stdout, stderr, peak RSS in KiB)."""
    p = subprocess.Popen([sys.executable, "-m", "analyzer", *args], cwd=ROOT, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(stdin)
    _, status, ru = os.wait4(p.pid, 0) if p.returncode is None else (0, 0, None)
    rss = ru.ru_maxrss if ru is not None else 0
    return p.returncode, out.decode(), err.decode(), rss


def test_every_subcommand_has_help_with_an_example() -> None:
    ap = build_parser()
    subs = ap._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert set(subs) == {"analyze", "scan", "patterns", "collect"}
    for name, sp in subs.items():
        text = sp.format_help()
        assert "examples:" in text and f"nma {name}" in text, name
    assert "exit status" in ap.format_help()


def test_readme_documents_every_subcommand_and_exit_status() -> None:
    readme = (ROOT / "README.md").read_text()
    for cmd in ("nma analyze", "nma scan", "nma patterns", "nma collect"):
        assert cmd in readme
    assert "Exit status" in readme


def test_scan_exit_status_and_jsonl(tmp_path: Path) -> None:
    log = tmp_path / "nova-compute.log"
    log.write_text("\n".join([NOISE.format(s=1), FAIL, NOISE.format(s=2)]) + "\n")
    code, out, err, _ = nma("scan", "--format", "jsonl", str(log))
    assert code == 1, err
    rows = [json.loads(line) for line in out.splitlines()]
    cause = [r for r in rows if r["kind"] == "cause"]
    assert cause and cause[0]["cause"] == "auth_transport_failure" and cause[0]["line"] == 2
    assert cause[0]["instance_uuid"] == "7b7edae6-5e8a-4c1f-9d6b-2f3c8a1e4b90"
    clean = tmp_path / "clean.log"
    clean.write_text(NOISE.format(s=3) + "\n")
    assert nma("scan", str(clean))[0] == 0
    assert nma("scan", str(tmp_path / "missing.log"))[0] == 2


def test_stdin_pipe(tmp_path: Path) -> None:
    code, out, _, _ = nma("scan", "--count", "-", stdin=(FAIL + "\n").encode())
    assert code == 1 and out.strip() == "1"


def test_analyze_exit_status(tmp_path: Path) -> None:
    log = tmp_path / "nova-compute.log"
    log.write_text(FAIL + "\n")
    code, out, err, _ = nma("analyze", "--format", "json", str(log))
    assert code == 1, err
    doc = json.loads(out)
    assert doc["summary"]["primary_cause"] == "auth_transport_failure"
    clean = tmp_path / "clean.log"
    clean.write_text(NOISE.format(s=3) + "\n")
    code, out, _, _ = nma("analyze", "--format", "json", str(clean))
    assert code == 0 and json.loads(out)["summary"]["primary_cause"] == "none"
    assert nma("analyze", "--format", "nope", str(clean))[0] == 2


def test_binary_and_invalid_utf8_are_reported_with_position(tmp_path: Path) -> None:
    log = tmp_path / "mixed.log"
    log.write_bytes(NOISE.format(s=1).encode() + b"\n\x00\x01\x02\xff binary\n"
                    + FAIL.encode().replace(b"Connection reset", b"Connexion r\xe9set") + b"\n")
    code, out, err, _ = nma("scan", "--format", "jsonl", str(log))
    assert code == 1
    assert f"{log}:2" in err and "NUL" in err
    assert f"{log}:3" in err and "invalid UTF-8" in err
    assert any(json.loads(r)["line"] == 3 for r in out.splitlines())


def test_huge_line_without_newline_is_bounded_in_memory(tmp_path: Path) -> None:
    big = tmp_path / "huge.log"
    with open(big, "wb") as fh:
        fh.write((FAIL + "\n").encode())
        block = b"x" * (1 << 20)
        for _ in range(100):
            fh.write(block)
        fh.write(b" Live Migration failure: unable to connect to server at 'cmp-2:49152': Connection refused")
    code, out, err, rss_kib = nma("scan", "--count", str(big))
    assert code == 1
    assert out.strip() == "2", err
    assert "longer than" in err and f"{big}:2" in err
    assert rss_kib < 200 * 1024, f"peak RSS {rss_kib} KiB"


def test_truncated_gzip_keeps_what_was_read(tmp_path: Path) -> None:
    data = ("\n".join([FAIL] + [NOISE.format(s=i % 60) for i in range(20000)]) + "\n").encode()
    gz = gzip.compress(data)
    bad = tmp_path / "nova-compute.log.1.gz"
    bad.write_bytes(gz[: len(gz) // 2])
    good = tmp_path / "nova-compute.log"
    good.write_text(FAIL + "\n")
    code, out, err, _ = nma("scan", "--format", "jsonl", str(bad), str(good))
    assert code == 1
    files = {json.loads(r)["file"] for r in out.splitlines()}
    assert str(good) in files and any(f.endswith("nova-compute.log.1.gz") for f in files)
    assert "nova-compute.log.1.gz" in err and ("truncated" in err or "read stopped" in err)


def test_tar_member_escaping_the_archive_is_named_and_skipped(tmp_path: Path) -> None:
    tpath = tmp_path / "bundle.tar.gz"
    src = tmp_path / "x.log"
    src.write_text(FAIL + "\n")
    with tarfile.open(tpath, "w:gz") as tar:
        tar.add(src, arcname="var/log/nova/nova-compute.log")
        tar.add(src, arcname="../../etc/evil.log")
    code, out, err, _ = nma("scan", "--format", "jsonl", str(tpath))
    assert code == 1
    assert "evil.log" in err
    files = {json.loads(r)["file"] for r in out.splitlines()}
    assert any("var/log/nova/nova-compute.log" in f for f in files)
    assert not any("evil" in f for f in files)


def test_empty_file_and_many_small_files(tmp_path: Path) -> None:
    d = tmp_path / "many"
    d.mkdir()
    for i in range(10000):
        (d / f"f{i}.log").write_text(NOISE.format(s=i % 60) + "\n")
    (d / "f5000.log").write_text(FAIL + "\n")
    (d / "empty.log").write_text("")
    code, out, err, rss = nma("scan", "--count", str(d))
    assert code == 1 and out.strip() == "1", err
    assert rss < 200 * 1024


def test_progress_line_on_a_terminal_only(tmp_path: Path) -> None:
    """A real pseudo-terminal on stderr shows the progress line (and clears it); a pipe does not."""
    import pty
    import time

    d = tmp_path / "hosts"
    for h in range(3):
        for i in range(40):
            f = d / f"compute-{h:02d}" / "var/log/nova" / f"nova-compute.log.{i}"
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(NOISE.format(s=i % 60) + "\n")
    master, slave = pty.openpty()
    env = {**os.environ, "NMA_PROGRESS_AFTER": "0"}
    p = subprocess.Popen([sys.executable, "-m", "analyzer", "scan", "--count", str(d)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=slave, env=env)
    out, _ = p.communicate(timeout=120)
    os.close(slave)
    seen = b""
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert out.strip() == b"0"
    assert b"nma: " in seen and b"sources" in seen and b"compute-0" in seen
    assert seen.endswith(b"\r\x1b[K")  # the line is cleared at the end
    _, _, err, _ = nma("scan", "--count", str(d))
    assert "sources" not in err  # not a terminal: no progress output


def test_recently_written_files_are_read_not_mapped(tmp_path: Path) -> None:
    """A file being written (logrotate copytruncate risk) takes the read path, an old one is mapped."""
    from analyzer.scan import MAP_QUIET_SECONDS, _mappable

    f = tmp_path / "nova-compute.log"
    f.write_text(FAIL + "\n")
    assert not _mappable(str(f))
    old = os.stat(f).st_mtime - MAP_QUIET_SECONDS - 5
    os.utime(f, (old, old))
    assert _mappable(str(f))


def test_slow_pipe_of_journal_json_is_still_recognised(tmp_path: Path) -> None:
    """Review bug 8: the first bytes of a pipe arrive late; the JSON stream is still detected."""
    entry = json.dumps({"__REALTIME_TIMESTAMP": "1720735859946000", "_HOSTNAME": "cmp-01",
                        "SYSLOG_IDENTIFIER": "nova-compute", "_PID": "4711", "MESSAGE": FAIL})
    script = ("import sys, time; d = sys.stdin.buffer.read(); sys.stdout.buffer.write(d[:5]); "
              "sys.stdout.flush(); time.sleep(1); sys.stdout.buffer.write(d[5:])")
    slow = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    scan = subprocess.Popen([sys.executable, "-m", "analyzer", "scan", "--format", "jsonl", "-"], cwd=ROOT,
                            stdin=slow.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert slow.stdin is not None and slow.stdout is not None
    slow.stdin.write((entry + "\n").encode())
    slow.stdin.close()
    slow.stdout.close()
    out, err = scan.communicate(timeout=60)
    slow.wait()
    rows = [json.loads(r) for r in out.decode().splitlines()]
    assert rows and all(r["host"] == "cmp-01" for r in rows), (rows, err)


def test_stream_breaking_inside_the_sniffed_head_keeps_its_lines(tmp_path: Path) -> None:
    """A tiny truncated .gz breaks while the first 64 KiB are sniffed: its lines are still scanned."""
    small = tmp_path / "nova-compute.log.2.gz"
    small.write_bytes(gzip.compress((FAIL + "\n").encode())[:-6])
    code, out, err, _ = nma("scan", "--format", "jsonl", str(small))
    assert code == 1, err
    assert any(json.loads(r)["cause"] == "auth_transport_failure" for r in out.splitlines())
    assert "read stopped" in err and "truncated gzip" in err


def test_tz_parsing_doctests_and_errors() -> None:
    import doctest

    import analyzer._tz as tzmod

    assert doctest.testmod(tzmod).failed == 0
    code, _, err, _ = nma("scan", "--tz", "Mars/Olympus", "/dev/null")
    assert code == 2 and "unknown time zone" in err


def test_scan_start_up_imports_only_what_scanning_needs(tmp_path: Path) -> None:
    """`nma scan` start-up is part of every small run's time (and ~0.1 s of the 1 GiB bench):
    the report model, correlator, reporters, YAML (catalogue cached), pyparsing and regex
    (used on demand) and the fallback engine must not be imported by a plain scan."""
    log = tmp_path / "nova-compute.log"
    log.write_text(NOISE.format(s=1) + "\n" + FAIL + "\n")
    env = {**os.environ, "NMA_CACHE_DIR": str(tmp_path / "cache")}
    cmd = [sys.executable, "-X", "importtime", "-m", "analyzer", "scan", "--count", str(log)]
    subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, check=False)  # fills the cache
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert p.returncode == 1 and p.stdout.strip() == "1", p.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in p.stderr.splitlines()
                if line.startswith("import time:")}
    assert {"analyzer.scan", "analyzer.matcher", "hyperscan"} <= imported  # the probe works
    heavy = {"analyzer.model", "analyzer.correlate", "analyzer.report", "yaml", "pyparsing",
             "regex", "numpy", "re2"}  # re2: the fallback engine, not needed beside Hyperscan
    assert not imported & heavy, sorted(imported & heavy)


def test_relative_since_is_taken_as_a_value_and_cli_doctests() -> None:
    """`--since -6h` (as the README and help show it) used to fail: argparse took -6h for an option."""
    import doctest

    import analyzer.cli as climod

    assert doctest.testmod(climod).failed == 0
    for argv in (["scan", "--since", "-6h", "x.log"], ["analyze", "--until", "-30m", "--since", "-1d"],
                 ["collect", "--since", "-6h", "-o", "x.tar.gz"]):
        args = build_parser().parse_args(climod._join_relative_times(argv))
        assert (args.since or args.until).tzinfo is not None


def test_collect_command_writes_a_bundle(tmp_path: Path) -> None:
    out = tmp_path / "compute-01.tar.gz"
    src = ROOT / "fixtures" / "example-incident" / "compute-01"
    code, _, err, _ = nma("collect", "-o", str(out), "--since", "-6h", str(src))
    assert code == 0, err
    assert "wrote" in err
    with tarfile.open(out) as tf:
        names = tf.getnames()
        manifest = json.load(tf.extractfile("manifest.json"))  # type: ignore[arg-type]
    logs = [n for n in names if n.endswith(".log")]
    assert len(logs) == 4 and manifest["files"] == 4, (names, manifest)
    code, _, err, _ = nma("collect", "-o", str(tmp_path / "none.tar.gz"), "--since", "yesterday")
    assert code == 2 and "not a time" in err


def test_patterns_test_exit_statuses(tmp_path: Path) -> None:
    """0 when every sample behaves, 1 when one fails, 2 when the catalogue is invalid."""
    shipped = (ROOT / "patterns" / "events" / "source" / "LM048-fixed-job-type.yaml").read_text()
    own = shipped.replace("id: LM048", "id: LM948")
    variants = {"good": own, "bad": own.replace("job_type: '4'}", "job_type: '9'}"),
                "invalid": own.replace("regex: 'Fixed incorrect job type to be (?P<job_type>[0-9]+)'",
                                       "regex: '(unclosed'")}
    assert len(set(variants.values())) == 3
    codes = {}
    for name, text in variants.items():
        d = tmp_path / name
        d.mkdir()
        (d / "LM948-x.yaml").write_text(text)
        codes[name], out, err, _ = nma("patterns", "test", str(d))
    assert codes == {"good": 0, "bad": 1, "invalid": 2}, (out, err)


def test_readme_example_output_is_what_the_example_prints() -> None:
    """The README shows the start of `nma analyze fixtures/example-incident`: it must stay true."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("```text\n", readme.index("The bundled example")) + len("```text\n")
    shown = readme[start:readme.index("```\n", start)].splitlines()
    assert shown[-1] == "…" and len(shown) > 20
    code, out, err, _ = nma("analyze", "fixtures/example-incident")
    assert code == 1, err
    assert out.splitlines()[:len(shown) - 1] == shown[:-1]
