"""The name of the local zone as the log should say it, when it comes from a mounted
/etc/localtime.

A container image says ``Etc/UTC`` in /etc/timezone and links /etc/localtime to
/usr/share/zoneinfo/Etc/UTC. ``-v /etc/localtime:/etc/localtime:ro`` (the usual advice for
NAS users) mounts the host's zone over the link's target, so the zone data is the host's
(schedules fire at the right local time) while every name the system offers still says
``Etc/UTC``. The mount table tells: a zone file or /etc/localtime that is a mount point holds
someone else's data, and the zoneinfo file with the same bytes names it.
"""

from __future__ import annotations

import os
from datetime import tzinfo
from pathlib import Path

ZONEINFO = Path("/usr/share/zoneinfo")
LOCALTIME = Path("/etc/localtime")


def _mount_points(mountinfo: Path = Path("/proc/self/mountinfo")) -> set[str]:
    try:
        lines = mountinfo.read_text().splitlines()
    except OSError:
        return set()
    # Field 5 is the mount point, with spaces and the like as octal escapes.
    return {line.split()[4].encode().decode("unicode_escape") for line in lines
            if len(line.split()) > 4}


def _same_bytes(data: bytes, mounted: set[str]) -> str | None:
    """The first zone name (Area/City before the aliases) whose file holds ``data``."""
    names: list[str] = []
    for root, dirs, files in os.walk(ZONEINFO):
        dirs[:] = [d for d in dirs if d not in ("posix", "right")]
        for name in files:
            path = os.path.join(root, name)
            if path in mounted:
                continue
            try:
                if os.path.getsize(path) == len(data) and Path(path).read_bytes() == data:
                    names.append(os.path.relpath(path, ZONEINFO))
            except OSError:
                continue
    canonical = _canonical()  # Europe/Berlin, not its link Arctic/Longyearbyen
    return min(names, key=lambda n: (n not in canonical, "/" not in n, n)) if names else None


def _canonical() -> set[str]:
    """The zones tzdata keeps as zones (not links), from its zone1970.tab."""
    try:
        lines = (ZONEINFO / "zone1970.tab").read_text().splitlines()
    except OSError:
        return set()
    return {line.split("\t")[2] for line in lines
            if line and not line.startswith("#") and len(line.split("\t")) > 2}


def zone_label(zone: tzinfo, name: str) -> str:
    """``name`` (the zone's key), or the zone /etc/localtime really holds when it is mounted
    over the image's link: "Europe/Berlin (from /etc/localtime)"."""
    if os.environ.get("TZ"):
        return name
    key = getattr(zone, "key", None)
    mounted = _mount_points()
    suspects = {str(LOCALTIME), *([str(ZONEINFO / key)] if key else [])}
    if not suspects & mounted:
        return name
    try:
        data = LOCALTIME.read_bytes()
    except OSError:
        return name
    found = _same_bytes(data, mounted)
    if found is None:
        return f"{name}, but /etc/localtime is mounted and names no known zone"
    return name if found == key else f"{found} (from /etc/localtime)"
