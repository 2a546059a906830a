"""``ppsync health`` and ``/healthz``: is the mirror being kept current?

Healthy when the newest finished pass (sync, change or repair; a pass stopped by a signal does
not count) exited 0 and ended less than 3 x the schedule's interval ago. Reads only the state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from ppsync.config import ScheduleConfig, Settings, schedule_zone
from ppsync.errors import Interrupted
from ppsync.state import State

PASS_COMMANDS = ("sync", "change", "repair")


@dataclass(frozen=True, slots=True)
class Health:
    ok: bool
    reason: str


def schedule_period(schedule: ScheduleConfig) -> float:
    """Seconds between passes: the interval, or the gap between a cron's next two firings."""
    if not schedule.cron:
        return schedule.interval_seconds
    from apscheduler.triggers.cron import CronTrigger

    zone = schedule_zone(schedule)
    trigger = CronTrigger.from_crontab(schedule.cron, timezone=zone)
    first = trigger.get_next_fire_time(None, datetime.now(zone))
    second = trigger.get_next_fire_time(first, first)
    return float((second - first).total_seconds()) if first and second else 86400.0


def judge_health(state: State, schedule: ScheduleConfig, now: float | None = None) -> Health:
    now = time.time() if now is None else now
    limit = 3 * schedule_period(schedule)
    for run in state.last_runs(50):
        if run.get("command") not in PASS_COMMANDS or not run.get("finished"):
            continue
        if run.get("exit_code") == Interrupted.exit_code:
            continue
        age = now - float(run.get("finished_at") or 0)
        what = f"last pass (run {run['run_id']}) ended {age / 60:.0f} min ago"
        if run.get("exit_code") != 0:
            detail = run.get("safety_stop") or run.get("error") or (
                f"{len(run.get('failures', []))} files failed")
            return Health(False, f"{what} with exit {run.get('exit_code')}: {detail}")
        if age > limit:
            return Health(False, f"{what}, more than 3 x the schedule ({limit / 60:.0f} min)")
        return Health(True, f"{what} with exit 0")
    return Health(False, "no pass has finished yet")


def check_health(settings: Settings) -> Health:
    path = settings.mirror.state_path
    if not path.is_file():
        return Health(False, f"no state at {path}: no pass has run yet")
    state = State.open(path)
    try:
        return judge_health(state, settings.schedule)
    finally:
        state.close()
