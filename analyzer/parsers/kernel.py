"""Linux audit records (auditd's ``audit.log``) and kernel ring-buffer lines (dmesg/kern.log).

messages.md §1.4: AppArmor and SELinux denials reach the logs either through auditd::

    type=AVC msg=audit(1705314225.123:456): apparmor="DENIED" operation="open" profile="libvirt-<uuid>" …
    type=AVC msg=audit(1705314225.123:789): avc:  denied  { read write } for  pid=4321 comm="qemu-kvm" …

(``node=<host> `` in front when auditd's ``name_format`` is set), or through the kernel log::

    [12345.678901] audit: type=1400 audit(1705314225.123:456): apparmor="DENIED" …
    kernel: [12345.678901] audit: type=1400 audit(1705314225.123:456): apparmor="DENIED" …

The epoch inside ``audit(<secs>.<ms>:<serial>)`` is the timestamp (explicit, UTC). A ring
buffer stamp ``[12345.678901]`` is seconds since boot and gives no wall-clock time;
``dmesg -T`` stamps (``[Mon Jan 15 10:23:45 2024]``) are local time. For libvirt's
per-guest AppArmor profile ``libvirt-<instance uuid>`` the UUID becomes ``instance_uuid``.

Sample input::

    type=AVC msg=audit(1705314225.123:456): apparmor="DENIED" operation="open" profile="libvirt-6f1a2b3c-4d5e-4f6a-8b9c-0d1e2f3a4b5c" name="/var/lib/nova/instances/6f1a2b3c-4d5e-4f6a-8b9c-0d1e2f3a4b5c/disk" pid=4321 comm="qemu-system-x86" requested_mask="r" denied_mask="r" fsuid=64055 ouid=64055
    [12345.678901] audit: type=1400 audit(1705314225.123:789): avc:  denied  { read write } for  pid=4321 comm="qemu-kvm" name="disk" dev="0:52" ino=1234 scontext=system_u:system_r:svirt_t:s0:c123,c456 tcontext=system_u:object_r:nfs_t:s0 tclass=file permissive=0

Examples:

    >>> p = parse_audit('type=AVC msg=audit(1705314225.123:456): apparmor="DENIED" operation="open" '
    ...                 'profile="libvirt-6f1a2b3c-4d5e-4f6a-8b9c-0d1e2f3a4b5c" name="/x" pid=4321 comm="qemu-system-x86"')
    >>> p.fmt, p.logger, p.ts.isoformat(), p.instance_uuid
    ('audit', 'AVC', '2024-01-15T10:23:45.123000+00:00', '6f1a2b3c-4d5e-4f6a-8b9c-0d1e2f3a4b5c')
    >>> p = parse_kernel('[12345.678901] audit: type=1400 audit(1705314225.123:789): avc:  denied  { read } for  pid=1')
    >>> p.kind.value, p.ts.isoformat(), p.message[:14]
    ('kernel', '2024-01-15T10:23:45.123000+00:00', 'audit: type=14')
    >>> parse_kernel("kernel: kvm: exiting hardware virtualization").ts is None
    True
"""

from __future__ import annotations

import re
from datetime import datetime

from ..records import SourceKind
from ._common import Parsed, epoch_to_utc

__all__ = ["AUDIT", "KERNEL", "parse_audit", "parse_kernel"]

AUDIT = re.compile(
    r"(?:node=(?P<node>\S+) )?type=(?P<type>\w+) "
    r"msg=audit\((?P<sec>\d+)\.(?P<frac>\d+):\d+\):(?: (?P<msg>.*))?"
)
KERNEL = re.compile(
    r"(?:kernel: )?(?:\[ *\d+\.\d+\] |\[(?P<ctime>\w{3} (?P<mon>\w{3}) +(?P<day>\d+) "
    r"(?P<time>\d\d:\d\d:\d\d) (?P<year>\d{4}))\] )(?P<msg>.*)"
)
_EPOCH = re.compile(r"audit\((?P<sec>\d+)\.(?P<frac>\d+):\d+\)")
_PROFILE = re.compile(r'(?:profile|label)="libvirt-(?P<uuid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-'
                      r'[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})')
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


def profile_uuid(message: str) -> str | None:
    """The instance UUID of a ``libvirt-<uuid>`` AppArmor profile named in ``message``."""
    if "libvirt-" not in message:
        return None
    m = _PROFILE.search(message)
    return m["uuid"].lower() if m else None


def parse_audit(line: str) -> Parsed | None:
    """An auditd record (``type=… msg=audit(…): …``) or a bare ``avc:`` line, or ``None``."""
    m = AUDIT.match(line)
    if m is None:
        if line.startswith("avc:  "):
            return Parsed(fmt="audit", message=line, kind=SourceKind.AUDIT, logger="AVC",
                          instance_uuid=profile_uuid(line))
        return None
    msg = m["msg"] or ""
    return Parsed(fmt="audit", message=msg, kind=SourceKind.AUDIT,
                  ts=epoch_to_utc(m["sec"], m["frac"]), explicit=True, logger=m["type"],
                  host=m["node"], instance_uuid=profile_uuid(msg))


def parse_kernel(line: str) -> Parsed | None:
    """A kernel ring-buffer line (dmesg, kern.log, ``kernel: …``), or ``None``."""
    m = KERNEL.match(line)
    if m is not None:
        msg = m["msg"]
    elif line.startswith("kernel: "):
        msg = line[8:]
    else:
        return None
    parsed = Parsed(fmt="kernel", message=msg, kind=SourceKind.KERNEL, logger="kernel",
                    instance_uuid=profile_uuid(msg))
    e = _EPOCH.search(msg, 0, 200) if "audit(" in msg[:200] else None
    if e is not None:
        parsed.ts = epoch_to_utc(e["sec"], e["frac"])
        parsed.explicit = True
    elif m is not None and m["ctime"]:
        month = _MONTHS.get(m["mon"])
        try:
            hh, mm, ss = (int(x) for x in m["time"].split(":"))
            parsed.ts = datetime(int(m["year"]), month or 0, int(m["day"]), hh, mm, ss)
        except (TypeError, ValueError):
            parsed.ts = None
    return parsed
