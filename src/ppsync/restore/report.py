"""What a restore did, and its summary for the terminal, the logs and ``status``."""

from __future__ import annotations

from dataclasses import dataclass, field

from ppsync.models import Failure
from ppsync.report import exit_meaning

SHOWN = 100  # lines of failures, and of attributes not carried, in a summary


@dataclass(frozen=True, slots=True)
class NotCarried:
    """One thing of one photo the target has no place for: reported, not a failure."""

    path: str  # the photo's sidecar (or original) in the mirror
    what: str  # "private", "title", "rating", "people", "grouping", "sidecar"...
    why: str


@dataclass(slots=True)
class RestoreReport:
    """What a restore did (or, with ``dry_run``, would do)."""

    server: str = ""
    dry_run: bool = False
    how: str = "uploaded"  # or "copied" (into originals_path, then indexed)
    started_at: float = 0.0
    finished_at: float = 0.0
    originals: int = 0
    photos: int = 0  # the units: photos as the source showed them
    present: int = 0  # already on the server
    untrashed: int = 0  # brought back from the server's trash
    uploaded: int = 0
    bytes_sent: int = 0
    sidecars_sent: int = 0  # XMP sidecars sent with their photo's upload
    live_linked: int = 0  # live videos linked to their still
    stacked: int = 0  # photos whose files were stacked
    sidecars: int = 0
    metadata_applied: int = 0
    metadata_unchanged: int = 0
    archived: int = 0
    albums: int = 0
    albums_created: int = 0
    albums_changed: int = 0  # got at least one member (new albums included)
    members_added: int = 0
    not_carried: list[NotCarried] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    error: str = ""
    error_type: str = ""  # the class of the error that ended the run, if any
    exit_code: int = 0


def summary_lines(report: RestoreReport) -> list[str]:
    would = "would be " if report.dry_run else ""
    lines = [
        f"restore to {report.server}{' (dry run: nothing changed)' if report.dry_run else ''}: "
        f"exit {report.exit_code} ({exit_meaning(report.exit_code, report.error_type)}) in "
        f"{max(0.0, report.finished_at - report.started_at):.1f} s",
        f"  originals {report.originals} in {report.photos} photos: {would}{report.how} "
        f"{report.uploaded} ({report.bytes_sent} bytes), already on the server "
        f"{report.present}, {would}brought back from the trash {report.untrashed}, XMP "
        f"sidecars {would}sent with their photo {report.sidecars_sent}",
        f"  photos {would}made whole: live photos {would}linked {report.live_linked}, "
        f"{would}stacked {report.stacked}",
        f"  sidecars {report.sidecars}; photos on the server (each asset of a stack): "
        f"attributes {would}set on {report.metadata_applied}, already right on "
        f"{report.metadata_unchanged}, {would}archived {report.archived}",
        f"  albums {report.albums}: {would}created {report.albums_created}, {would}given new "
        f"members {report.albums_changed}, members {would}added {report.members_added}",
        f"  not carried {len(report.not_carried)} (no place for them on this server; "
        "not a failure)",
    ]
    if report.error:
        lines.append(f"  ERROR: {report.error}")
    lines += [f"  not carried: {n.path}: {n.what}: {n.why}"
              for n in report.not_carried[:SHOWN]]
    if len(report.not_carried) > SHOWN:
        lines.append(f"  ... and {len(report.not_carried) - SHOWN} more not carried")
    lines += [f"  not restored: {f.path}: {f.reason}" for f in report.failures[:SHOWN]]
    if len(report.failures) > SHOWN:
        lines.append(f"  ... and {len(report.failures) - SHOWN} more")
    return lines
