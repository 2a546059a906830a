"""The status page: what the daemon did, for a person, at ``/`` (HTML) and ``/status.json``.

Read-only and cheap: everything comes from the state, the target's file system and the
daemon's scheduler. It sends no request to the photo server, so a page left open in a browser
tab (it refreshes itself every 30 s) costs the server nothing. The HTML is rendered here, with
no JavaScript and no asset from anywhere else: it works from a phone on the LAN, in a text
browser, and behind a reverse proxy that strips scripts. Every text that came from a run
report (errors, file names, reasons) is redacted, then HTML-escaped.
"""

from __future__ import annotations

import html
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ppsync.config import Settings
from ppsync.redact import redact
from ppsync.report import human_size
from ppsync.service.health import Health, check_health
from ppsync.state.summary import read_summary

REFRESH_SECONDS = 30
RUNS_SHOWN = 10
FAILURES_SHOWN = 50


@dataclass(frozen=True, slots=True)
class StatusSources:
    """Where the page's figures come from; the daemon passes its own."""

    settings: Callable[[], Settings]  # the current config (a SIGHUP may replace it)
    next_run: Callable[[], datetime | None]
    health: Callable[[], Health] | None = None  # default: ``check_health(settings)``


def collect(sources: StatusSources, now: float | None = None) -> dict[str, Any]:
    """The page's data, as ``/status.json`` serves it."""
    now = time.time() if now is None else now
    settings = sources.settings()
    target = settings.mirror.target
    verdict = sources.health() if sources.health is not None else check_health(settings)
    nxt = sources.next_run()
    data: dict[str, Any] = {
        "generated_at": now,
        "healthy": verdict.ok,
        "health": redact(verdict.reason),
        "next_run": nxt.isoformat() if nxt is not None else None,
        "target": str(target),
        "target_mounted": target.is_dir(),
        "disk": None,
        "failures": [],
    }
    if target.is_dir():
        usage = shutil.disk_usage(target)
        data["disk"] = {"free": usage.free, "total": usage.total}
    runs, totals = read_summary(settings.mirror.state_path, RUNS_SHOWN)
    data["mirror"] = {"files": totals["files"], "bytes": totals["bytes"]}
    data["set_aside"] = totals["set_aside"]
    data["runs"] = [_run(run) for run in runs]
    newest = next((run for run in runs if run.get("finished")), None)
    if newest is not None:
        data["failures"] = [
            {"path": redact(str(f.get("path", ""))), "reason": redact(str(f.get("reason", "")))}
            for f in newest.get("failures", [])[:FAILURES_SHOWN]]
    return data


def _run(run: dict[str, Any]) -> dict[str, Any]:
    """One run as the page shows it: outcome and why, never a secret."""
    finished = bool(run.get("finished"))
    if not finished:
        outcome = "running or cut short"
    elif run.get("crashed"):
        outcome = "crashed"
    elif run.get("exit_code") == 0:
        outcome = "ok"
    else:
        outcome = f"failed (exit {run.get('exit_code')})"
    reason = run.get("safety_stop") or run.get("error") or (
        f"{len(run.get('failures', []))} files failed" if run.get("failures") else "")
    return {
        "run_id": run.get("run_id"),
        "command": run.get("command"),
        "started_at": run.get("started_at"),
        "seconds": (round(float(run["finished_at"]) - float(run.get("started_at") or 0), 1)
                    if finished and run.get("finished_at") else None),
        "outcome": outcome,
        "reason": redact(str(reason)),
        "listed": run.get("listed", 0),
        "downloaded": run.get("downloaded", 0),
        "removed": run.get("trashed", 0) + run.get("deleted", 0),
        "failed": len(run.get("failures", [])),
    }


def _when(epoch: float | None) -> str:
    if not epoch:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(epoch)))


def _next(iso: str | None) -> str:
    if not iso:
        return "not scheduled"
    when = datetime.fromisoformat(iso)
    return when.strftime("%Y-%m-%d %H:%M:%S ") + (when.tzname() or "")


STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;max-width:60rem;color:#222}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.5rem}
.ok{color:#11662b}.bad{color:#a11}
table{border-collapse:collapse;width:100%}td,th{padding:.25rem .5rem;text-align:left;
border-bottom:1px solid #ddd;vertical-align:top}td.n{text-align:right}
dl{display:grid;grid-template-columns:max-content auto;gap:.25rem 1rem}dt{font-weight:600}
"""


def render_html(data: dict[str, Any]) -> str:
    """The page. Refreshes itself (a meta tag, not a script)."""
    e = html.escape
    healthy = bool(data["healthy"])
    disk = data.get("disk")
    aside = data["set_aside"]
    rows = []
    for run in data["runs"]:
        bad = run["outcome"] not in ("ok", "running or cut short")
        rows.append(
            f"<tr><td class=n>{e(str(run['run_id']))}</td><td>{e(str(run['command']))}</td>"
            f"<td>{e(_when(run['started_at']))}</td>"
            f"<td class=n>{'' if run['seconds'] is None else e(str(run['seconds']))}</td>"
            f"<td class={'bad' if bad else 'ok'}>{e(run['outcome'])}</td>"
            f"<td class=n>{run['listed']}</td><td class=n>{run['downloaded']}</td>"
            f"<td class=n>{run['removed']}</td><td class=n>{run['failed']}</td>"
            f"<td>{e(run['reason'])}</td></tr>")
    failures = "".join(f"<li><code>{e(f['path'])}</code>: {e(f['reason'])}</li>"
                       for f in data["failures"])
    aside_text = (f"{aside['files']} files, {human_size(aside['bytes'])}"
                  + (f", oldest set aside {_when(aside['oldest'])}" if aside["oldest"] else "")
                  + " (.ppsync/trash and .ppsync/replaced)")
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>ppsync: {'healthy' if healthy else 'UNHEALTHY'}</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>ppsync</h1>",
        f"<p id=health class={'ok' if healthy else 'bad'}><strong>"
        f"{'Healthy' if healthy else 'Unhealthy'}</strong>: {e(data['health'])}</p>",
        "<dl>",
        f"<dt>Next run</dt><dd id=next-run>{e(_next(data['next_run']))}</dd>",
        f"<dt>Mirror</dt><dd id=mirror>{data['mirror']['files']} files, "
        f"{human_size(data['mirror']['bytes'])} in <code>{e(data['target'])}</code>"
        f"{'' if data['target_mounted'] else ' (NOT MOUNTED or missing)'}</dd>",
        "<dt>Free disk space</dt><dd id=disk>"
        + (f"{human_size(disk['free'])} of {human_size(disk['total'])}" if disk else "-")
        + "</dd>",
        f"<dt>Set aside</dt><dd id=set-aside>{e(aside_text)}</dd>",
        "</dl>",
        "<h2>Last runs</h2>",
        "<table id=runs><thead><tr><th>run</th><th>command</th><th>started</th><th>secs</th>"
        "<th>outcome</th><th>listed</th><th>new</th><th>removed</th><th>failed</th>"
        "<th>why</th></tr></thead><tbody>",
        *(rows or ["<tr><td colspan=10>no runs yet</td></tr>"]),
        "</tbody></table>",
        "<h2>Files that failed in the last run</h2>",
        f"<ul id=failures>{failures}</ul>" if failures else "<p id=failures>none</p>",
        f"<p><small>Updated {e(_when(data['generated_at']))}; this page refreshes every "
        f"{REFRESH_SECONDS} s. Machine-readable: <a href=status.json>status.json</a>, "
        "<a href=metrics>metrics</a>, <a href=healthz>healthz</a>.</small></p>",
        "</body></html>",
    ]
    return "\n".join(parts)


def render_household_html(data: dict[str, Any]) -> str:
    """The page of a household ([libraries]): overall health first, then each library's own
    page as a section of its own (the same figures as a single library's page)."""
    e = html.escape
    healthy = bool(data["healthy"])
    sections = []
    for name, library in data["libraries"].items():
        page = render_html(library)
        body = page.split("<body>", 1)[1].rsplit("</body>", 1)[0]
        body = body.replace("<h1>ppsync</h1>", f"<h1>library {e(name)}</h1>", 1)
        sections.append(f"<section id=library-{e(name)}>{body}</section>")
    return "\n".join([
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>ppsync: {'healthy' if healthy else 'UNHEALTHY'}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<p id=household class={'ok' if healthy else 'bad'}><strong>"
        f"{'Healthy' if healthy else 'Unhealthy'}</strong>: {e(data['health'])}</p>",
        *sections,
        "</body></html>",
    ])
