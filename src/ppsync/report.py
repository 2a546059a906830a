"""Turns run reports into the text people read (summary, status table) and JSON."""

from __future__ import annotations

import json
import time
from typing import Any

from ppsync.models import RunReport

EXIT_MEANINGS = {
    0: "everything done",
    1: "finished, but some items failed",
    2: "bad config or usage",
    3: "cannot reach or authenticate to the server",
    4: "safety stop: nothing was removed",
    5: "another ppsync run holds the lock",
    130: "stopped by Ctrl-C or SIGTERM; the next run resumes",
}


# The classes of error (``RunReport.error_type``) that end a run with exit 3 although the
# server was reached and let us in: it refused the work for lack of a permission or scope.
REFUSED = frozenset({"PermissionRefused", "UploadRefused"})


def exit_meaning(code: int, error_type: str = "") -> str:
    """What an exit code means for a run that ended with an error of class ``error_type``."""
    if code == 3 and error_type in REFUSED:
        return "refused by the server: the credentials lack a permission or scope"
    return EXIT_MEANINGS.get(code, "failed")


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


human_size = _size  # for the other modules: 1.5 GiB, 120 B


def listed_note(report: RunReport) -> str:
    """What a change pass's "listed" counts: not the library, the photos updated since its
    cursor, which reaches 5 minutes back into the previous pass (the safety margin)."""
    if not report.changes_since:
        return ""
    return (f"originals of photos updated since {report.changes_since} (the last pass's start "
            "less a 5-minute safety margin, so what changed just before it is listed again "
            "and found unchanged)")


def _listed_note(report: RunReport) -> str:
    return f" ({listed_note(report)})" if report.changes_since else ""


def summary_lines(report: RunReport) -> list[str]:
    words = ["downloaded", "adopted", "moved", "kept aside", "trashed", "deleted",
             "no longer tracked", "failed"]
    if report.dry_run:  # the same counts, said as what a sync would do
        words = ["would download", "adopt", "move", "would keep aside", "trash", "delete",
                 "stop tracking", "refuse or fail"]
    done = dict(zip(["downloaded", "adopted", "moved", "kept aside", "trashed", "deleted",
                     "no longer tracked", "failed"], words, strict=True))
    lines = [
        f"{report.command} run {report.run_id}: exit {report.exit_code} "
        f"({exit_meaning(report.exit_code, report.error_type)}) in {report.duration:.1f} s",
        f"  listed {report.listed} originals{_listed_note(report)}; {done['downloaded']} "
        f"{report.downloaded} ({_size(report.bytes_downloaded)}), "
        f"{done['adopted']} {report.adopted}, "
        f"{done['moved']} {report.moved}, unchanged {report.unchanged}",
        f"  {done['kept aside']} {report.kept_aside}, {done['trashed']} {report.trashed}, "
        f"{done['deleted']} {report.deleted}, {done['no longer tracked']} {report.forgotten}, "
        f"{done['failed']} {report.failed}",
    ]
    if report.aside_measured or report.pruned:
        lines.append(aside_line(report))
    if report.scrubbed or report.damaged:
        lines.append(scrub_line(report))
    if report.rebind and not report.error:
        lines.extend(rebind_lines(report))
    elif report.rekeyed:
        lines.append(f"  taken back: {report.rekeyed} files kept from an earlier server "
                     f"{'would be ' if report.dry_run else ''}matched by SHA-1 to files this "
                     "server lists now (nothing downloaded)")
    if report.kept_from_before and not report.error:
        lines.append(f"  kept from an earlier server: {report.kept_from_before} files this "
                     "server does not list; never removed by a walk (README: \"Pointing a "
                     "mirror at another server\")")
    if report.deferred:
        lines.append(f"  deferred {report.deferred}: more than could be held back while the "
                     "server was not yet known to be the mirror's; the next pass walks "
                     "everything to fetch them")
    if report.safety_stop:
        lines.append(f"  SAFETY STOP: {report.safety_stop}")
    if report.error:
        lines.append(f"  ERROR: {report.error}")
    for failure in report.failures[:50]:
        lines.append(f"  failed: {failure.path}: {failure.reason}")
    if len(report.failures) > 50:
        lines.append(f"  ... and {len(report.failures) - 50} more failures (see status --json)")
    return lines


def _day(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(timestamp))


def aside_line(report: RunReport) -> str:
    """What is set aside in .ppsync/trash and replaced after the pass, and what it pruned."""
    oldest = f", oldest {_day(report.aside_oldest)}" if report.aside_files else ""
    pruned = (f"; {'would prune' if report.dry_run else 'pruned'} {report.pruned} "
              f"({_size(report.pruned_bytes)})")
    return (f"  set aside: {report.aside_files} files ({_size(report.aside_bytes)}){oldest}"
            f"{pruned}")


def _moment(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(timestamp))


def scrub_line(report: RunReport) -> str:
    """What the rolling scrub after the pass re-read, found and repaired."""
    done = (f", last complete cycle {_moment(report.scrub_cycle_done_at)}"
            if report.scrub_cycle_done_at else "")
    return (f"  scrub: re-read {report.scrubbed} files ({_size(report.scrubbed_bytes)}); "
            f"damaged {report.damaged}, repaired {report.repaired}, kept as they are "
            f"{report.damaged_kept} (the server no longer has them); sidecars written again "
            f"{report.sidecars_rewritten}; this cycle {report.scrub_progress:.0%} done{done}")


def rebind_lines(report: RunReport) -> list[str]:
    """What a ``--rebind`` pass did with the files the mirror already held."""
    would = "would be " if report.dry_run else ""
    accepted = ("the configured server would become this mirror's server" if report.dry_run
                else "the configured server is now this mirror's server"
                if report.walk_complete else
                "the listing was incomplete: the mirror still follows its previous server; "
                "run --rebind again")
    lines = [f"  rebind: {report.rekeyed} files {would}matched by SHA-1 (kept, moved at most); "
             f"{accepted}",
             f"  not on the new server: {report.not_on_server}"
             + (f", {would}kept in the mirror: no later walk removes them" if report.not_on_server
                else "")]
    if report.not_on_server:
        lines.append(f"  WARNING: {report.not_on_server} files the mirror holds are not listed "
                     "by the new server. Its defaults may leave out what the old one listed "
                     "(archived, private, hidden or locked photos, a query filter), or they were "
                     "not restored into it: check [mirror] include_archived, include_private "
                     "and query, and the restore's report")
    return lines


def _same_failure(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (bool(a.get("finished")) and bool(b.get("finished")) and bool(a.get("error"))
            and a.get("exit_code") not in (0, None) and a.get("command") == b.get("command")
            and a.get("exit_code") == b.get("exit_code") and a.get("error") == b.get("error"))


def fold_failures(runs: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Runs (newest first) in groups: consecutive runs that failed the same way (a server
    outage: one refused pass a minute) are one group, every other run a group of its own."""
    groups: list[list[dict[str, Any]]] = []
    for run in runs:
        if groups and _same_failure(groups[-1][0], run):
            groups[-1].append(run)
        else:
            groups.append([run])
    return groups


def _folded_line(group: list[dict[str, Any]]) -> str:
    newest, oldest = group[0], group[-1]
    since = time.strftime("%Y-%m-%d %H:%M", time.gmtime(oldest.get("started_at", 0)))
    return (f"{newest['run_id']:>5}  {newest['command']:<8} {'':<20} {'':>7} "
            f"{newest.get('exit_code', '?'):>4}  failed {len(group)} times since {since} "
            f"(runs {oldest['run_id']}-{newest['run_id']}): {newest.get('error')}")


def status_lines(runs: list[dict[str, Any]], totals: dict[str, Any],
                 limit: int | None = None) -> list[str]:
    """The status table; repeated identical failures are one row ("failed 37 times since
    ..."), and ``limit`` counts rows, not runs."""
    kept = totals.get("kept", 0)
    aside = totals.get("set_aside") or {"files": 0, "bytes": 0, "oldest": None}
    lines = [f"mirror: {totals['files']} files, {_size(totals['bytes'])}"
             + (f"; and {kept} kept from an earlier server (not listed by this one, never "
                "removed by a walk)" if kept else ""),
             f"set aside (.ppsync/trash, .ppsync/replaced): {aside['files']} files, "
             f"{_size(aside['bytes'])}"
             + (f", oldest set aside {_day(aside['oldest'])}" if aside["oldest"] else "")]
    if totals.get("damaged"):
        lines.append(f"damaged: {totals['damaged']} files the server no longer has (or not "
                     "repaired yet) are kept as they are; see the last run's failures")
    if totals.get("scrub_cycle_done_at"):
        lines.append(f"scrub: every file last re-read in the cycle completed "
                     f"{_moment(totals['scrub_cycle_done_at'])}")
    lines.append("")
    if not runs:
        return [*lines, "no runs yet"]
    groups = fold_failures(runs)[:limit]
    lines.append(f"{'run':>5}  {'command':<8} {'started (UTC)':<20} {'secs':>7} {'exit':>4}  "
                 "listed  new  moved  removed  failed  note")
    for group in groups:
        run = group[0]
        if len(group) > 1:
            lines.append(_folded_line(group))
            continue
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(run.get("started_at", 0)))
        if not run.get("finished"):
            lines.append(f"{run['run_id']:>5}  {run['command']:<8} {started:<20} "
                         "(running, or cut short: marked crashed when the next run starts)")
            continue
        if run.get("crashed"):
            lines.append(f"{run['run_id']:>5}  {run['command']:<8} {started:<20} "
                         f"{'':>7} {'-':>4}  {run.get('error', 'crashed')}")
            continue
        duration = run.get("finished_at", 0) - run.get("started_at", 0)
        removed = run.get("trashed", 0) + run.get("deleted", 0)
        note = run.get("safety_stop") or run.get("error") or (
            f"scrub: damaged {run['damaged']}, repaired {run.get('repaired', 0)}, kept as "
            f"they are {run.get('damaged_kept', 0)}" if run.get("damaged") else "") or (
            f"rebind: {run.get('rekeyed', 0)} matched by SHA-1, {run.get('not_on_server', 0)} "
            "not on the new server (kept)" if run.get("rebind") else "") or (
            f"taken back: {run['rekeyed']} kept files matched by SHA-1" if run.get("rekeyed")
            else "") or (
            f"listed: updated since {run['changes_since']} (5-min margin)"
            if run.get("changes_since") else "") or (
            f"not carried {len(run['not_carried'])} (no place on the target; status --json "
            "lists them)" if run.get("not_carried") else "")
        if run.get("pruned"):
            note = (f"{note}; " if note else "") + (
                f"pruned {run['pruned']} set aside ({_size(run.get('pruned_bytes', 0))})")
        lines.append(
            f"{run['run_id']:>5}  {run['command']:<8} {started:<20} {duration:>7.1f} "
            f"{run.get('exit_code', '?'):>4}  {run.get('listed', 0):>6} "
            f"{run.get('downloaded', 0):>4} {run.get('moved', 0):>6} {removed:>8} "
            f"{len(run.get('failures', [])):>7}  {note}"
        )
    return lines


def to_json(payload: Any) -> str:
    return json.dumps(payload, indent=2, sort_keys=True, default=str)
