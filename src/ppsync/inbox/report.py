"""What an upload pass did: ``UploadReport`` (stored in the state's run history with command
"upload") and the summary ``ppsync upload`` prints."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ppsync.models import Failure
from ppsync.report import exit_meaning


@dataclass(slots=True)
class UploadReport:
    """Counters for one upload pass; written to the state (command "upload") and printed."""

    command: str = "upload"
    run_id: int = 0
    started_at: float = 0.0
    finished_at: float = 0.0
    scanned: int = 0  # wanted files in the inbox
    waiting: int = 0  # still settling
    same_as_sent: int = 0  # same content as a file sent this pass: a duplicate next pass
    known: int = 0  # handled by an earlier pass and unchanged since
    ignored: int = 0  # sidecars without their photo
    duplicates: int = 0  # not sent: the library already has this content
    from_trash: int = 0  # of those, brought back from the server's trash first
    sent: int = 0
    bytes_sent: int = 0
    confirmed: int = 0  # found on the server by SHA-1 after the import
    added_to_albums: int = 0  # of those, put into the configured albums
    moved: int = 0
    deleted: int = 0
    rejected: list[Failure] = field(default_factory=list)  # reported once, not retried
    failures: list[Failure] = field(default_factory=list)  # retried next pass
    error: str = ""
    error_type: str = ""  # the class of the error that ended the pass, if any
    exit_code: int = 0

    @property
    def duration(self) -> float:
        return max(0.0, self.finished_at - self.started_at)

    def payload(self) -> dict[str, Any]:
        """The stored report. ``listed`` and ``downloaded`` let ``ppsync status`` show the
        inbox files seen and the new photos confirmed in its listed/new columns."""
        data = asdict(self)
        data["failures"] = data["failures"] + data["rejected"]
        return {**data, "listed": self.scanned, "downloaded": self.confirmed}


def summary_lines(report: UploadReport) -> list[str]:
    lines = [
        f"upload run {report.run_id}: exit {report.exit_code} "
        f"({exit_meaning(report.exit_code, report.error_type)}) in {report.duration:.1f} s",
        f"  inbox {report.scanned} files: sent {report.sent} ({report.bytes_sent} bytes), "
        f"confirmed {report.confirmed}, added to albums {report.added_to_albums}, "
        f"duplicates skipped {report.duplicates} (brought back from the trash "
        f"{report.from_trash}), rejected {len(report.rejected)}, failed {len(report.failures)}",
        f"  waiting to settle {report.waiting}, same content as a file sent in this pass "
        f"{report.same_as_sent}, done earlier {report.known}, "
        f"sidecars without a photo {report.ignored}, "
        f"moved {report.moved}, deleted {report.deleted}",
    ]
    if report.error:
        lines.append(f"  ERROR: {report.error}")
    lines += [f"  rejected: {f.path}: {f.reason}" for f in report.rejected[:50]]
    lines += [f"  failed: {f.path}: {f.reason}" for f in report.failures[:50]]
    return lines
