"""``ppsync health`` and ``/healthz``: is the mirror being kept current?

Healthy when the newest finished pass (sync, change or repair; a pass stopped by a signal or
cut short by a crash does not count) exited 0 and ended less than 3 x the schedule's interval
ago, or while a pass is running and the last finished one (if any) exited 0: a first sync of a
large library takes hours, and a container health check must not call that unhealthy (an
"autoheal" container would restart it mid-sync). Reads only the state (and /proc, to tell a
running pass from one whose process is gone), read-only where it can (``StateReader``).

``ppsync health`` passes the fast path's config (``ppsync.config.quick``), the daemon its
``Settings``: both have what is read here, and nothing here loads pydantic or sqlite-utils.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ppsync.config.basics import schedule_zone
from ppsync.errors import ConfigError, Interrupted
from ppsync.procs import is_running

if TYPE_CHECKING:
    from ppsync.config import ScheduleConfig, Settings
    from ppsync.config.quick import QuickSchedule, QuickSettings
    from ppsync.state import State

PASS_COMMANDS = ("sync", "change", "repair")


@dataclass(frozen=True, slots=True)
class Health:
    ok: bool
    reason: str


class RunsSource(Protocol):
    """A ``State`` or a ``StateReader``."""

    def last_runs(self, limit: int = 10) -> list[dict[str, Any]]: ...


def schedule_period(schedule: ScheduleConfig | QuickSchedule) -> float:
    """Seconds between passes: the interval, or the gap between a cron's next two firings."""
    if not schedule.cron:
        return schedule.interval_seconds
    from apscheduler.triggers.cron import CronTrigger

    zone = schedule_zone(schedule)
    trigger = CronTrigger.from_crontab(schedule.cron, timezone=zone)
    first = trigger.get_next_fire_time(None, datetime.now(zone))
    second = trigger.get_next_fire_time(first, first)
    return float((second - first).total_seconds()) if first and second else 86400.0


def _running(run: dict[str, Any]) -> bool:
    return not run.get("finished") and is_running(int(run.get("pid") or 0),
                                                  str(run.get("process") or ""))


def span(seconds: float) -> str:
    """A stretch of time as a person reads it: seconds under a minute (a 10 s schedule is not
    "0 min", a pass that just ended did not end "0 min ago"), else whole minutes."""
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.0f} min"


def judge_health(state: RunsSource, schedule: ScheduleConfig | QuickSchedule,
                 now: float | None = None) -> Health:
    now = time.time() if now is None else now
    limit = 3 * schedule_period(schedule)
    running: dict[str, Any] | None = None
    runs = state.last_runs(50)
    # Beside a daemon, a one-off `docker run ... sync` (another config, a test, a mistake)
    # does not decide the daemon's health: only the daemon's passes count then.
    daemon_seen = any(run.get("origin") == "daemon" for run in runs)
    for run in runs:
        if run.get("command") not in PASS_COMMANDS:
            continue
        if daemon_seen and run.get("origin") == "command":
            continue
        if not run.get("finished"):
            if running is None and _running(run):
                running = run
            continue
        if run.get("exit_code") == Interrupted.exit_code or run.get("crashed"):
            continue
        age = now - float(run.get("finished_at") or 0)
        what = f"last pass (run {run['run_id']}) ended {span(age)} ago"
        if run.get("exit_code") != 0:
            detail = run.get("safety_stop") or run.get("error") or (
                f"{len(run.get('failures', []))} files failed")
            return Health(False, f"{what} with exit {run.get('exit_code')}: {detail}")
        if age > limit and running is not None:
            return Health(True, f"{_since(running, now)}; the {what} with exit 0")
        if age > limit:
            return Health(False, f"{what}, more than 3 x the schedule ({span(limit)})")
        return Health(True, f"{what} with exit 0")
    if running is not None:
        return Health(True, f"first {_since(running, now)}")
    return Health(False, "no pass has finished yet")


def _since(run: dict[str, Any], now: float) -> str:
    running = now - float(run.get("started_at") or now)
    return f"pass (run {run['run_id']}) running for {span(running)}"


def check_health(settings: Settings | QuickSettings) -> Health:
    from ppsync.state.reader import StateReader, state_exists

    path = settings.mirror.state_path
    try:
        exists = state_exists(path)
        reader = StateReader.open(path) if exists else None
        # The full way when it cannot read: a state of an older schema is migrated first.
        state = _open_state(path) if exists and reader is None else None
    except ConfigError as exc:  # a state this uid may not read: say so, in one line
        return Health(False, str(exc))
    if reader is not None:
        with reader:
            return judge_health(reader, settings.schedule)
    if state is None:
        target = settings.mirror.target
        if not target.is_dir():
            return Health(False, f"mirror.target {target} does not exist or is not mounted, "
                          f"and there is no state at {path}: no pass can run")
        return Health(False, f"no state at {path}: no pass has run yet")
    try:
        return judge_health(state, settings.schedule)
    finally:
        state.close()


def _open_state(path: Path) -> State:
    from ppsync.state import State

    return State.open(path)
