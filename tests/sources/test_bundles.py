"""Bundles: sosreports, Kolla / TripleO trees, collections of hosts, archives read in-stream.

Fixtures are real directories and real tar / zip files built in ``tmp_path``.
"""

from __future__ import annotations

import doctest
import gzip
import io
import json
import os
import tarfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from analyzer.errors import CollectorError
from analyzer.records import LogSource, Problem, SourceInfo, SourceKind
from analyzer.sources import Collector, StreamReadError, bundles, collect, inventory
from analyzer.sources.bundles import (
    choose_host,
    detect_bundles,
    host_from_sosreport_name,
    kind_from_path,
    lacking,
    parse_hostname_file,
    rotation_key,
)
from tests.sources._common import split

NOVA = (b"2024-05-01 10:00:00.123 7 INFO nova.compute.manager [req-1 - - - - - -] "
        b"[instance: 6f1c2d3e-0000-4000-8000-000000000001] Migration operation has started\n")
SOS = "sosreport-cmp1-2024-05-01-abcdefg"




def stream_all(items: Iterable[LogSource | Problem]) -> tuple[dict[str, bytes], list[Problem],
                                                             dict[str, SourceInfo]]:
    """Consume like the scanner does: read each source before taking the next."""
    data: dict[str, bytes] = {}
    infos: dict[str, SourceInfo] = {}
    problems: list[Problem] = []
    for it in items:
        if isinstance(it, Problem):
            problems.append(it)
            continue
        try:
            with it.open() as f:
                data[it.info.name] = f.read()
        except CollectorError as e:
            problems.append(Problem(it.info.name, f"read: {e.reason}",
                                    offset=getattr(e, "offset", None)))
        infos[it.info.name] = it.info
    return data, problems, infos


def tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content)
    return root


def tar_bytes(members: Sequence[tuple[str, bytes]], mode: str = "w") -> bytes:
    """A tar with members in exactly this order (so tests control what comes first)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as t:  # type: ignore[call-overload]
        for name, content in members:
            ti = tarfile.TarInfo(name)
            ti.size = len(content)
            t.addfile(ti, io.BytesIO(content))
    return buf.getvalue()


def sos_files(host: str | None = "compute-01", prefix: str = SOS) -> dict[str, bytes]:
    files = {
        f"{prefix}/var/log/nova/nova-compute.log": NOVA,
        f"{prefix}/var/log/nova/nova-compute.log.1.gz": gzip.compress(b"rotated\n"),
        f"{prefix}/var/log/libvirt/libvirtd.log": b"2024-05-01 10:00:00.000+0000: 1: info : x\n",
        f"{prefix}/var/log/libvirt/qemu/instance-0000002a.log": b"2024-05-01T10:00:00Z q\n",
        f"{prefix}/sos_commands/logs/journalctl_--no-pager": b"May 01 10:00:00 h k: x\n",
        f"{prefix}/etc/nova/nova.conf": b"[DEFAULT]\n",
    }
    if host:
        files[f"{prefix}/sos_commands/host/hostname"] = host.encode() + b"\n"
        files[f"{prefix}/etc/hostname"] = b"static-name\n"
    return files


# --------------------------------------------------------------------------- path rules


@pytest.mark.parametrize("path,kind", [
    ("var/log/nova/nova-compute.log", SourceKind.NOVA_COMPUTE),
    ("var/log/nova/nova-compute.log.3.gz", SourceKind.NOVA_COMPUTE),
    ("var/log/kolla/nova/nova-compute.log-20240501.gz", SourceKind.NOVA_COMPUTE),
    ("var/log/containers/stdouts/nova_compute.log", SourceKind.NOVA_COMPUTE),
    ("var/log/nova/nova-conductor.log", SourceKind.NOVA_CONDUCTOR),
    ("var/log/nova/nova-api.log.1", SourceKind.NOVA_API),
    ("var/log/nova/nova-scheduler.log", SourceKind.NOVA_SCHEDULER),
    ("var/log/nova/nova-manage.log", SourceKind.NOVA),
    ("var/log/libvirt/libvirtd.log", SourceKind.LIBVIRTD),
    ("var/log/containers/libvirt/virtqemud.log", SourceKind.LIBVIRTD),
    ("var/log/kolla/libvirt/virtproxyd.log.2", SourceKind.LIBVIRTD),
    ("var/log/libvirt/qemu/instance-0000002a.log", SourceKind.QEMU),
    ("var/log/kolla/libvirt/qemu/instance-0000002a.log.1.gz", SourceKind.QEMU),
    ("var/log/audit/audit.log.4", SourceKind.AUDIT),
    ("var/log/messages-20240501", SourceKind.SYSLOG),
    ("var/log/syslog.2.gz", SourceKind.SYSLOG),
    ("var/log/kern.log", SourceKind.KERNEL),
    ("sos_commands/kernel/dmesg", SourceKind.KERNEL),
    ("var/log/neutron/openvswitch-agent.log", SourceKind.NEUTRON),
    ("var/log/kolla/neutron/neutron-server.log", SourceKind.NEUTRON),
    ("sos_commands/logs/journalctl_--no-pager_--boot", SourceKind.JOURNAL),
    ("var/log/httpd/access_log", None),
    ("var/log/journal/x/system.journal", None),
])
def test_kind_from_path(path: str, kind: SourceKind | None) -> None:
    assert kind_from_path(path) is kind


def test_rotation_key_orders_oldest_first() -> None:
    names = ["x.log", "x.log.1", "x.log.10.gz", "x.log.2.gz", "messages", "messages-20240108",
             "messages-20240101"]
    assert sorted(names, key=rotation_key) == [
        "messages-20240101", "messages-20240108", "messages",
        "x.log.10.gz", "x.log.2.gz", "x.log.1", "x.log"]


def test_host_name_rules() -> None:
    assert host_from_sosreport_name("sosreport-cmp-2-01234567-2024-05-01-qwertyu.tar.xz") == "cmp-2"
    assert host_from_sosreport_name("sosreport-cmp2.0123-20190102030405.tar.xz") == "cmp2"
    assert host_from_sosreport_name("compute-1.tar.gz") is None
    assert parse_hostname_file(b"\n  cmp-9.example.org \n") == "cmp-9.example.org"
    assert parse_hostname_file(b"localhost\n") is None
    assert parse_hostname_file(b"not a host name\n") is None
    # precedence: identity > sosreport name > --host > plain directory name
    kw = dict(override=None, in_collection=False)
    assert choose_host(identity=("a", "f"), bundle_name="sosreport-b-2024-01-01-abcdefg",
                       default_host="c", **kw)[0] == "a"  # type: ignore[arg-type]
    assert choose_host(identity=None, bundle_name="sosreport-b-2024-01-01-abcdefg",
                       default_host="c", **kw)[0] == "b"  # type: ignore[arg-type]
    assert choose_host(identity=None, bundle_name="compute-9", default_host="c",
                       **kw)[0] == "c"  # type: ignore[arg-type]
    assert choose_host(identity=None, bundle_name="compute-9", default_host=None,
                       **kw)[0] == "compute-9"  # type: ignore[arg-type]
    assert choose_host(identity=None, bundle_name="logs", default_host=None,
                       **kw)[0] is None  # type: ignore[arg-type]


def test_detect_bundles_layouts() -> None:
    (r,) = detect_bundles(sos_files())
    assert (r.prefix, r.layout) == (SOS, "sosreport")
    (r,) = detect_bundles(["var/log/kolla/nova/nova-compute.log", "etc/hostname"])
    assert (r.prefix, r.layout, r.deployment) == ("", "var-log", "kolla")
    (r,) = detect_bundles(["containers/nova/nova-compute.log", "messages"])
    assert (r.prefix, r.layout, r.deployment) == ("", "log-dir", "tripleo")
    roots = detect_bundles(["export/cmp-1/var/log/messages", "export/cmp-2/nova/nova-compute.log",
                            "export/cmp-2/libvirt/libvirtd.log"])
    assert [(r.prefix, r.in_collection) for r in roots] == [("export/cmp-1", True),
                                                            ("export/cmp-2", True)]


def test_module_doctests() -> None:
    failed, tried = doctest.testmod(bundles)
    assert tried > 0 and failed == 0


# --------------------------------------------------------------------------- directories


def test_sosreport_directory_host_from_sos_commands(tmp_path: Path) -> None:
    tree(tmp_path, sos_files())
    c = Collector(default_host="not-this")
    data, problems, infos = stream_all(c.collect([str(tmp_path / SOS)]))
    assert problems == []
    assert {i.host for i in infos.values()} == {"compute-01"}
    assert {i.origin for i in infos.values()} == {str(tmp_path / SOS)}
    assert data[str(tmp_path / SOS / "var/log/nova/nova-compute.log.1.gz")] == b"rotated\n"
    (b,) = c.bundles()
    assert b.layout == "sosreport" and b.host_from.startswith("hostname file")
    assert b.kinds == {SourceKind.NOVA_COMPUTE, SourceKind.LIBVIRTD, SourceKind.QEMU,
                       SourceKind.JOURNAL}
    assert b.lacking() == ["audit log"]


def test_sosreport_without_hostname_file_uses_its_name(tmp_path: Path) -> None:
    tree(tmp_path, sos_files(host=None))
    (src, *_), _ = split(collect([str(tmp_path / SOS)], default_host="fallback"))
    assert src.info.host == "cmp1"


def test_collection_directory_of_hosts_and_tarballs(tmp_path: Path) -> None:
    col = tmp_path / "incident"
    tree(col / "compute-1", {"var/log/nova/nova-compute.log": NOVA,
                             "var/log/audit/audit.log": b"type=X msg=audit(1:1): y\n"})
    tree(col / "compute-2", {"nova/nova-compute.log": NOVA, "libvirt/libvirtd.log": b"l\n"})
    (col / "sosreport-cmp3-2024-05-01-abcdefg.tar.xz").write_bytes(
        tar_bytes(sorted(sos_files("compute-03", "sosreport-cmp3-2024-05-01-abcdefg").items()),
                  "w:xz"))
    tree(col, {"controller/var/log/nova/nova-conductor.log": NOVA, "notes.txt": b"hi\n"})
    c = Collector(default_host="ignored-for-named-hosts")
    data, problems, infos = stream_all(c.collect([str(col)]))
    assert problems == []
    hosts = {name.split("incident/")[1].split("/")[0]: i.host for name, i in infos.items()}
    assert hosts == {"compute-1": "compute-1", "compute-2": "compute-2",
                     "controller": "controller",
                     "sosreport-cmp3-2024-05-01-abcdefg.tar.xz!sosreport-cmp3-2024-05-01-abcdefg":
                         "compute-03"}
    by_origin = {b.origin: b for b in c.bundles()}
    assert set(by_origin) == {str(col / "compute-1"), str(col / "compute-2"),
                              str(col / "controller"),
                              str(col / "sosreport-cmp3-2024-05-01-abcdefg.tar.xz")}
    assert by_origin[str(col / "compute-1")].host_from == "bundle directory name"
    assert "libvirtd / virtqemud log" in by_origin[str(col / "compute-1")].lacking()
    assert "nova-compute log" in by_origin[str(col / "controller")].lacking()
    inv = inventory(infos.values())
    assert inv[str(col / "compute-2")] == {SourceKind.NOVA_COMPUTE, SourceKind.LIBVIRTD}


def test_kolla_and_tripleo_trees(tmp_path: Path) -> None:
    tree(tmp_path / "k", {"var/log/kolla/nova/nova-compute.log": NOVA,
                          "var/log/kolla/libvirt/libvirtd.log": b"l\n",
                          "var/log/kolla/libvirt/qemu/instance-00000001.log": b"q\n"})
    tree(tmp_path / "t", {"var/log/containers/nova/nova-compute.log": NOVA,
                          "var/log/containers/libvirt/virtqemud.log": b"l\n",
                          "var/log/containers/stdouts/nova_compute.log": b"s\n"})
    c = Collector()
    sources, problems = split(c.collect([str(tmp_path / "k"), str(tmp_path / "t")]))
    assert problems == []
    kinds = {Path(s.info.name).relative_to(tmp_path).as_posix(): s.info.kind for s in sources}
    assert kinds == {
        "k/var/log/kolla/libvirt/libvirtd.log": SourceKind.LIBVIRTD,
        "k/var/log/kolla/libvirt/qemu/instance-00000001.log": SourceKind.QEMU,
        "k/var/log/kolla/nova/nova-compute.log": SourceKind.NOVA_COMPUTE,
        "t/var/log/containers/libvirt/virtqemud.log": SourceKind.LIBVIRTD,
        "t/var/log/containers/nova/nova-compute.log": SourceKind.NOVA_COMPUTE,
        "t/var/log/containers/stdouts/nova_compute.log": SourceKind.NOVA_COMPUTE}
    assert sorted((b.deployment, b.host) for b in c.bundles()) == [("kolla", "k"),
                                                                   ("tripleo", "t")]


def test_bundle_without_any_log_still_appears_in_the_inventory(tmp_path: Path) -> None:
    tree(tmp_path / "sosreport-empty-2024-05-01-abcdefg",
         {"sos_commands/host/hostname": b"cmp-empty\n", "etc/nova/nova.conf": b"x\n"})
    c = Collector()
    assert list(c.collect([str(tmp_path / "sosreport-empty-2024-05-01-abcdefg")])) == []
    (b,) = c.bundles()
    assert b.host == "cmp-empty" and b.sources == 0
    assert b.lacking() == [label for label, _ in bundles.EVIDENCE]


def test_journal_files_are_skipped_with_a_pointer_to_the_journal_collector(tmp_path: Path) -> None:
    tree(tmp_path / "b", {"var/log/journal/0123/system.journal": b"LPKSHHRH\0\0",
                          "var/log/journal/0123/user-1000.journal~": b"LPKSHHRH\0\0",
                          "var/log/messages": b"May  1 10:00:00 h k: x\n"})
    c = Collector(read_journals=False)
    sources, problems = split(c.collect([str(tmp_path / "b")]))
    assert [Path(s.info.name).name for s in sources] == ["messages"]
    (pr,) = problems
    assert pr.source == str(tmp_path / "b/var/log/journal/0123")
    assert pr.message.startswith("journal file: read it with --journal")
    assert "2 file(s)" in pr.message
    (b,) = c.bundles()
    assert len(b.journal_files) == 2


def test_journal_and_docker_exports_are_taken_only_when_they_look_like_one(tmp_path: Path) -> None:
    export = b"__CURSOR=s=1\n__REALTIME_TIMESTAMP=1714557600000000\nMESSAGE=hi\n\n"
    tree(tmp_path / "b", {"var/log/nova/nova-compute.log": NOVA,
                          "exports/host.export": export,
                          "exports/host.json": b'{"__REALTIME_TIMESTAMP": "1", "MESSAGE": "x"}\n',
                          "sos_reports/manifest.json": b'{"version": "4.0"}\n'})
    sources, problems = split(collect([str(tmp_path / "b")]))
    assert problems == []
    names = {Path(s.info.name).name: s.info.kind for s in sources}
    assert names == {"host.export": SourceKind.JOURNAL, "host.json": None,
                     "nova-compute.log": SourceKind.NOVA_COMPUTE}


# --------------------------------------------------------------------------- tar streams


def test_sosreport_tarball_in_stream_with_hostname_after_the_logs(tmp_path: Path) -> None:
    files = sos_files("compute-07")
    # hostname files last: host identity must still be known for the first member
    order = sorted(files.items(), key=lambda kv: "hostname" in kv[0])
    arc = tmp_path / "sosreport-wrong-2024-05-01-abcdefg.tar.xz"
    arc.write_bytes(tar_bytes(order, "w:xz"))
    c = Collector()
    data, problems, infos = stream_all(c.collect([str(arc)]))
    assert problems == []
    member = f"{arc}!{SOS}/var/log/nova/nova-compute.log"
    assert data[member] == NOVA
    assert data[f"{arc}!{SOS}/var/log/nova/nova-compute.log.1.gz"] == b"rotated\n"
    assert {i.host for i in infos.values()} == {"compute-07"}
    assert {i.origin for i in infos.values()} == {str(arc)}
    (b,) = c.bundles()
    assert b.layout == "sosreport" and b.lacking() == ["audit log"]


def test_tar_member_must_be_read_before_advancing(tmp_path: Path) -> None:
    arc = tmp_path / "logs.tar.gz"
    arc.write_bytes(tar_bytes([("var/log/messages", b"one\n"), ("var/log/syslog", b"two\n")],
                              "w:gz"))
    items = list(collect([str(arc)]))  # NOT how to consume a tar: everything goes stale
    assert len(items) == 2 and all(isinstance(i, LogSource) for i in items)
    with pytest.raises(CollectorError, match="streamed in one pass"):
        items[0].open()  # type: ignore[union-attr]
    # holding a member stream open across the next item fails loudly, not with garbage
    gen = collect([str(arc)])
    first = next(gen)
    assert isinstance(first, LogSource)
    with first.open() as f:
        assert f.read(2) == b"on"
        second = next(gen)
        with pytest.raises(StreamReadError, match="moved past"):
            f.read()
    assert isinstance(second, LogSource)
    with second.open() as g:
        assert g.read() == b"two\n"


def test_nested_tarballs_and_compressed_members(tmp_path: Path) -> None:
    inner1 = tar_bytes(sorted(sos_files("cmp-a", "sosreport-cmp-a-2024-05-01-abcdefg").items()),
                       "w:xz")
    inner2 = tar_bytes([("sosreport-cmp-b-2024-05-01-abcdefg/var/log/nova/nova-compute.log.2.gz",
                         gzip.compress(NOVA))], "w:gz")
    outer = tmp_path / "sos-collector-case-2024-05-01-zzzzzzz.tar.gz"
    outer.write_bytes(tar_bytes([
        ("sos-collector-x/sosreport-cmp-a-2024-05-01-abcdefg.tar.xz", inner1),
        ("sos-collector-x/sosreport-cmp-b-2024-05-01-abcdefg.tar.gz", inner2),
    ], "w:gz"))
    c = Collector()
    data, problems, infos = stream_all(c.collect([str(outer)]))
    assert problems == []
    b_member = (f"{outer}!sos-collector-x/sosreport-cmp-b-2024-05-01-abcdefg.tar.gz!"
                "sosreport-cmp-b-2024-05-01-abcdefg/var/log/nova/nova-compute.log.2.gz")
    assert data[b_member] == NOVA
    assert infos[b_member].kind is SourceKind.NOVA_COMPUTE
    hosts = {i.origin: i.host for i in infos.values()}
    a = f"{outer}!sos-collector-x/sosreport-cmp-a-2024-05-01-abcdefg.tar.xz"
    b = f"{outer}!sos-collector-x/sosreport-cmp-b-2024-05-01-abcdefg.tar.gz"
    assert hosts == {a: "cmp-a", b: "cmp-b"}  # hostname file / sosreport name
    assert {x.origin: x.host_from for x in c.bundles()} == {
        a: f"hostname file {a}!sosreport-cmp-a-2024-05-01-abcdefg/sos_commands/host/hostname",
        b: "sosreport name"}


def test_corrupt_tar_header_is_reported_and_later_members_are_read(tmp_path: Path) -> None:
    blob = bytearray(tar_bytes([("logs/a.log", b"alpha\n" * 100), ("logs/b.log", b"bravo\n" * 100),
                                ("logs/c.log", b"charlie\n" * 100)]))
    with tarfile.open(fileobj=io.BytesIO(bytes(blob))) as t:
        b_off = t.getmember("logs/b.log").offset
    blob[b_off + 148:b_off + 156] = b"garbage!"  # break the header checksum
    arc = tmp_path / "logs.tar"
    arc.write_bytes(bytes(blob))
    data, problems, _ = stream_all(collect([str(arc)]))
    assert data == {f"{arc}!logs/a.log": b"alpha\n" * 100, f"{arc}!logs/c.log": b"charlie\n" * 100}
    (pr,) = problems
    assert pr.source == str(arc) and pr.offset == b_off
    assert "corrupt tar data" in pr.message and "'logs/a.log'" in pr.message


def test_tar_members_escaping_the_archive_are_named_and_not_read(tmp_path: Path) -> None:
    arc = tmp_path / "evil.tar"
    arc.write_bytes(tar_bytes([("../../etc/passwd", b"root:x:0:0\n"),
                               ("/var/log/abs.log", b"abs\n"),
                               ("ok/var/log/nova/nova-compute.log", NOVA)]))
    data, problems, _ = stream_all(collect([str(arc)]))
    assert data == {f"{arc}!ok/var/log/nova/nova-compute.log": NOVA}
    assert [p.source for p in problems] == [f"{arc}!../../etc/passwd", f"{arc}!/var/log/abs.log"]
    assert all("escapes the archive" in p.message and p.offset is not None for p in problems)
    assert not (tmp_path.parent / "etc" / "passwd").exists()


def test_truncated_tarball_reports_where_it_stopped(tmp_path: Path) -> None:
    body = b"".join(b"2024-05-01 10:00:00.%06d line %d\n" % (i, i) for i in range(30000))
    blob = tar_bytes([("var/log/messages", b"first\n"), ("var/log/syslog", body),
                      ("var/log/kern.log", b"never\n")], "w:gz")
    arc = tmp_path / "cut.tar.gz"
    arc.write_bytes(blob[: len(blob) * 2 // 3])
    data, problems, _ = stream_all(collect([str(arc)]))
    assert data[f"{arc}!var/log/messages"] == b"first\n"
    assert f"{arc}!var/log/kern.log" not in data
    member = [p for p in problems if p.source == f"{arc}!var/log/syslog"]
    assert member and "truncated gzip" in member[0].message and member[0].offset is not None
    archive = [p for p in problems if p.source == str(arc)]
    assert archive and "stopped" in archive[0].message


def test_not_a_tarball_is_a_problem(tmp_path: Path) -> None:
    arc = tmp_path / "fake.tar.gz"
    arc.write_bytes(gzip.compress(b"just text\n" * 100))
    sources, problems = split(collect([str(arc)]))
    assert sources == [] and problems[0].source == str(arc)
    assert "tar" in problems[0].message and problems[0].severity == "error"


# --------------------------------------------------------------------------- zip


def test_zip_archive_random_access_and_escapes(tmp_path: Path) -> None:
    arc = tmp_path / "bundle.zip"
    with zipfile.ZipFile(arc, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("cmp-5/etc/hostname", "compute-05\n")
        z.writestr("cmp-5/var/log/nova/nova-compute.log.1.gz", gzip.compress(NOVA))
        z.writestr("cmp-5/var/log/libvirt/libvirtd.log", "l\n")
        z.writestr("../outside.log", "nope\n")
    c = Collector()
    items = list(c.collect([str(arc)]))  # zip members stay readable after the generator ends
    sources, problems = split(items)
    assert [p.source for p in problems] == [f"{arc}!../outside.log"]
    assert "escapes the archive" in problems[0].message
    got = {s.info.name: (s.info.host, s.info.kind, s.info.origin) for s in sources}
    assert got == {
        f"{arc}!cmp-5/var/log/libvirt/libvirtd.log": ("compute-05", SourceKind.LIBVIRTD, str(arc)),
        f"{arc}!cmp-5/var/log/nova/nova-compute.log.1.gz":
            ("compute-05", SourceKind.NOVA_COMPUTE, str(arc)),
    }
    nova = next(s for s in sources if s.info.kind is SourceKind.NOVA_COMPUTE)
    for _ in range(2):  # random access: any time, any number of times
        with nova.open() as f:
            assert f.read() == NOVA


def test_corrupt_zip_member_names_the_member(tmp_path: Path) -> None:
    arc = tmp_path / "b.zip"
    payload = b"".join(b"line %d of the log\n" % i for i in range(5000))
    with zipfile.ZipFile(arc, "w", zipfile.ZIP_STORED) as z:
        z.writestr("var/log/messages", payload)
    blob = bytearray(arc.read_bytes())
    i = blob.index(b"line 4000")
    blob[i:i + 4] = b"LINE"  # stored data changed: the CRC check fails at the end
    arc.write_bytes(bytes(blob))
    data, problems, _ = stream_all(collect([str(arc)]))
    assert data == {}
    (pr,) = problems
    assert pr.source == f"{arc}!var/log/messages" and "CRC" in pr.message


# --------------------------------------------------------------------------- nma bundles


def test_nma_collect_bundle_uses_its_manifest(tmp_path: Path) -> None:
    manifest = {"tool": {"name": "nma", "version": "0.1.0"}, "host": "collector",
                "collected": [
                    {"name": "cmp-9/var/log/nova/nova-compute.log", "host": "cmp-9",
                     "kind": "nova-compute", "source": "/var/log/nova/nova-compute.log"},
                    {"name": "cmp-9/compute-09/nova_libvirt", "host": "compute-09",
                     "kind": "libvirtd", "source": "docker://compute-09/nova_libvirt"}],
                "not_collected": []}
    arc = tmp_path / "cmp-9.tar.gz"
    arc.write_bytes(tar_bytes([("cmp-9/var/log/nova/nova-compute.log", NOVA),
                               ("cmp-9/compute-09/nova_libvirt", b"libvirt line\n"),
                               ("manifest.json", json.dumps(manifest).encode())], "w:gz"))
    data, problems, infos = stream_all(collect([str(arc)]))
    assert problems == []
    lib = infos[f"{arc}!cmp-9/compute-09/nova_libvirt"]
    assert (lib.host, lib.kind) == ("compute-09", SourceKind.LIBVIRTD)
    assert data[f"{arc}!cmp-9/compute-09/nova_libvirt"] == b"libvirt line\n"
    assert infos[f"{arc}!cmp-9/var/log/nova/nova-compute.log"].host == "cmp-9"


def test_lacking_mentions_unread_journal_files() -> None:
    out = lacking({SourceKind.NOVA_COMPUTE, SourceKind.LIBVIRTD, SourceKind.QEMU,
                   SourceKind.AUDIT}, journal_files=3)
    assert len(out) == 1 and "3 binary journal file(s)" in out[0] and "--journal" in out[0]
    assert lacking({SourceKind.NOVA_COMPUTE, SourceKind.LIBVIRTD, SourceKind.QEMU,
                    SourceKind.AUDIT, SourceKind.SYSLOG}) == []


def test_inventory_groups_by_origin_and_ignores_loose_files() -> None:
    infos = [SourceInfo("a", kind=SourceKind.NOVA_COMPUTE, origin="b1"),
             SourceInfo("b", kind=None, origin="b1"),
             SourceInfo("c", kind=SourceKind.QEMU, origin="b2"),
             SourceInfo("d", kind=SourceKind.AUDIT)]
    assert inventory(infos) == {"b1": {SourceKind.NOVA_COMPUTE, SourceKind.UNKNOWN},
                                "b2": {SourceKind.QEMU}}
    assert os.sep == "/"  # display names are posix paths on the supported platform


def test_journal_files_inside_a_bundle_are_read(tmp_path: Path, make_journal_file) -> None:  # type: ignore[no-untyped-def]
    """A sosreport's var/log/journal is read with the journal collector (real journal file)."""
    line = ("2024-07-11 22:10:59.946 2 ERROR nova.virt.libvirt.driver [None req-590602d0-3c2b-4a8e-9f1d-6e7a5b4c3d21 "
            "3de117d2 eab438b1 - - default default] [instance: 7b7edae6-5e8a-4c1f-9d6b-2f3c8a1e4b90] Live Migration "
            "failure: Cannot recv data: Host key verification failed.: Connection reset by peer")
    root = tmp_path / "sosreport-cmp-01-2024-07-11-abcdefg"
    tree(root, {"sos_commands/host/hostname": b"cmp-01\n"})
    make_journal_file([{"__REALTIME_TIMESTAMP": "1720735859946000", "__MONOTONIC_TIMESTAMP": "1000000",
                        "_BOOT_ID": "0123456789abcdef0123456789abcdef", "_HOSTNAME": "cmp-01",
                        "_SYSTEMD_UNIT": "nova-compute.service", "SYSLOG_IDENTIFIER": "nova-compute",
                        "_PID": "4711", "PRIORITY": "3", "MESSAGE": line}],
                      root / "var/log/journal/0123/system.journal")
    c = Collector()
    sources, problems = split(c.collect([str(root)]))
    assert not [p for p in problems if "read it with --journal" in p.message], problems
    (src,) = sources
    assert src.info.host == "cmp-01" and src.info.kind == SourceKind.NOVA_COMPUTE
    with src.open() as fh:
        assert line.encode() in fh.read()
    (b,) = c.bundles()
    assert not any("system log" in label for label in b.lacking())


def _journal_entry(host: str, message: str) -> dict[str, str]:
    return {"__REALTIME_TIMESTAMP": "1720735859946000", "__MONOTONIC_TIMESTAMP": "1000000",
            "_BOOT_ID": "0123456789abcdef0123456789abcdef", "_HOSTNAME": host,
            "_SYSTEMD_UNIT": "nova-compute.service", "SYSLOG_IDENTIFIER": "nova-compute",
            "_PID": "4711", "PRIORITY": "3", "MESSAGE": message}


def _sosreport_with_journal(top: Path, host: str, make_journal_file) -> Path:  # type: ignore[no-untyped-def]
    root = tree(top / f"sosreport-{host}-2024-07-11-abcdefg",
                {"sos_commands/host/hostname": f"{host}\n".encode(),
                 "var/log/nova/nova-compute.log": NOVA})
    make_journal_file([_journal_entry(host, f"journal line of {host}")],
                      root / "var/log/journal/0123/system.journal")
    return root


def _journal_sources(items: Iterable[LogSource | Problem]) -> list[LogSource]:
    return [s for s in split(items)[0] if s.info.name.startswith("journal:")]


def test_a_bundles_journal_is_read_once_however_often_it_is_reached(tmp_path: Path, make_journal_file) -> None:  # type: ignore[no-untyped-def]
    """Regular files were deduplicated by inode, journal files were not: the same bundle
    given twice, or a collection and one of its bundles, yielded the journal twice (and the
    correlator then saw every journal line twice)."""
    one = _sosreport_with_journal(tmp_path, "cmp-01", make_journal_file)
    _sosreport_with_journal(tmp_path, "cmp-02", make_journal_file)
    for inputs in ([str(one), str(one)], [str(tmp_path), str(one)], [str(one), str(tmp_path)]):
        c = Collector()
        sources = _journal_sources(c.collect(inputs))
        hosts = sorted(s.info.host or "" for s in sources)
        assert hosts == (["cmp-01"] if len(set(inputs)) == 1 else ["cmp-01", "cmp-02"]), inputs
        for b in c.bundles():
            assert b.journal_files == ()  # read, so not listed as "read it with --journal"
    # without reading journals, a bundle given twice lists its journal file once
    c = Collector(read_journals=False)
    list(c.collect([str(one), str(one)]))
    (b,) = c.bundles()
    assert len(b.journal_files) == 1


def test_journals_of_two_sosreports_in_one_directory_keep_their_bundle(tmp_path: Path, make_journal_file) -> None:  # type: ignore[no-untyped-def]
    """cmp-02's journal used to get cmp-01's origin (the first journal's bundle)."""
    roots = {h: _sosreport_with_journal(tmp_path, h, make_journal_file) for h in ("cmp-01", "cmp-02")}
    c = Collector()
    data, problems, infos = stream_all(c.collect([str(tmp_path)]))
    journal = {n: i for n, i in infos.items() if n.startswith("journal:")}
    assert len(journal) == 2, problems
    for name, info in journal.items():
        assert info.origin == str(roots[info.host or ""]), (name, info)
        assert f"journal line of {info.host}".encode() in data[name]
    by_origin = {b.origin: b for b in c.bundles()}
    for host, root in roots.items():
        b = by_origin[str(root)]
        assert b.host == host and b.sources == 2  # nova-compute.log + its journal stream
        assert SourceKind.JOURNAL in b.kinds
        assert not any(label.startswith("system log") for label in b.lacking())


def test_corrupt_journal_leaves_the_system_log_lacking(tmp_path: Path, make_journal_file) -> None:  # type: ignore[no-untyped-def]
    """JOURNAL was added to the bundle's kinds before reading, so a journal that yields
    nothing hid "system log" from what the bundle lacks."""
    root = tree(tmp_path / "sosreport-cmp-01-2024-07-11-abcdefg",
                {"sos_commands/host/hostname": b"cmp-01\n",
                 "var/log/nova/nova-compute.log": NOVA})
    good = make_journal_file([_journal_entry("cmp-01", "x")], tmp_path / "good.journal")
    raw = good.read_bytes()
    # a real journal file's header (signature, state) and nothing of its objects
    (root / "var/log/journal/0123").mkdir(parents=True)
    bad = root / "var/log/journal/0123/system.journal"
    bad.write_bytes(raw[:64] + b"\0" * 200)
    c = Collector()
    sources, problems = split(c.collect([str(root)]))
    assert [Path(s.info.name).name for s in sources] == ["nova-compute.log"]
    assert any(str(bad) in p.source and p.severity == "error" for p in problems), problems
    assert not [p for p in problems if "read it with --journal" in p.message]
    (b,) = c.bundles()
    assert SourceKind.JOURNAL not in b.kinds and b.sources == 1
    system = [label for label in b.lacking() if label.startswith("system log")]
    # lacking, and without the "read them with --journal" hint: they were read (and failed)
    assert system == ["system log (messages, syslog, kern.log or journal)"]
