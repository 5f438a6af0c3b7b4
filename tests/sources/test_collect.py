"""``nma collect``: a portable bundle with a manifest, secrets redacted, optionally reduced."""

from __future__ import annotations

import contextlib
import io
import json
import tarfile
from pathlib import Path
from typing import BinaryIO

from analyzer.records import LogSource, Problem, SourceInfo, SourceKind
from analyzer.sources.bundle_writer import redact, write_bundle

FAIL = ("2024-07-11 22:10:59.946 2 ERROR nova.virt.libvirt.driver [None req-590602d0-1f2e-4d3c-9b8a-7c6d5e4f3a2b "
        "3de117d2 eab438b1 - - default default] [instance: 7b7edae6-8c8a-4a1c-9a9f-0c3a6f1d2e3b] Live Migration "
        "failure: Cannot recv data: Host key verification failed.: Connection reset by peer: "
        "libvirt.libvirtError: Cannot recv data: Host key verification failed.: Connection reset by peer")
NOISE = ("2024-07-11 22:10:{s:02d}.000 2 DEBUG oslo_service.periodic_task [None req-0a1b2c3d-1111-2222-3333-444455556666 "
         "- - - - - -] Running periodic task ComputeManager._poll_volume_usage run_periodic_tasks "
         "/usr/lib/python3/dist-packages/oslo_service/periodic_task.py:210")
SECRET = ("2024-07-11 22:00:00.000 2 DEBUG oslo_service.service [-] transport_url = "
          "rabbit://openstack:Sup3rS3cret@10.0.0.11:5672// log_opt_values /usr/lib/python3/dist-packages/oslo_config/cfg.py:2609")


class _Mem(LogSource):
    def __init__(self, name: str, data: bytes, host: str = "compute-01") -> None:
        self.info = SourceInfo(name=name, host=host, kind=SourceKind.NOVA_COMPUTE)
        self._data = data

    def open(self) -> contextlib.AbstractContextManager[BinaryIO]:
        return contextlib.nullcontext(io.BytesIO(self._data))


def _read(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def test_redaction_examples() -> None:
    assert redact(b"connection = mysql+pymysql://nova:pa55@db/nova")[0] == b"connection = mysql+pymysql://nova:***@db/nova"
    line, n = redact(b'{"password": "hunter2", "auth_token": "gAAAAABkZmVybmV0dG9rZW4xMjM0NTY3ODkw"}')
    assert b"hunter2" not in line and b"gAAAAAB" not in line and n >= 2
    assert redact(b"Live Migration failure: boom")[1] == 0


def test_bundle_has_manifest_redacts_and_lists_what_was_not_collected(tmp_path: Path) -> None:
    data = "\n".join([SECRET, *[NOISE.format(s=i % 60) for i in range(100)], FAIL, NOISE.format(s=1)]) + "\n"
    out = tmp_path / "b.tar.gz"
    man = write_bundle(str(out), sources=[_Mem("/var/log/nova/nova-compute.log", data.encode()),
                                          Problem(source="docker://compute-01/nova_libvirt",
                                                  message="engine unreachable", severity="error")])
    files = _read(out)
    assert set(files) == {"compute-01/var/log/nova/nova-compute.log", "manifest.json"}
    body = files["compute-01/var/log/nova/nova-compute.log"]
    assert b"Sup3rS3cret" not in body and b"rabbit://openstack:***@10.0.0.11" in body
    assert body.count(b"\n") == 103
    inside = json.loads(files["manifest.json"])
    assert inside == json.loads(json.dumps(man))
    entry = inside["collected"][0]
    assert entry["redactions"] == 1 and entry["lines"] == 103 and entry["lines_kept"] == 103
    assert inside["not_collected"] == [{"source": "docker://compute-01/nova_libvirt",
                                        "reason": "engine unreachable", "line": None}]


def test_only_relevant_keeps_matched_records_with_context(tmp_path: Path) -> None:
    lines = [NOISE.format(s=i % 60) for i in range(200)]
    lines[150] = FAIL
    out = tmp_path / "r.tar.gz"
    man = write_bundle(str(out), sources=[_Mem("nova-compute.log", ("\n".join(lines) + "\n").encode())],
                       only_relevant=True, context=5)
    body = _read(out)["compute-01/nova-compute.log"].decode().splitlines()
    assert len(body) == 11 and body[5] == FAIL
    assert man["collected"][0]["lines_kept"] == 11
