"""The config as ``status`` and ``health`` read it: ``[mirror] target`` and ``state``,
``[schedule]`` and ``[log]``, without loading pydantic (about 90 ms of a 0.1 s budget).

It reads the same file and environment as ``load_config`` (``basics``), and validates the keys it
returns with the same rules (``basics``: durations, zones, cron) and the same defaults (a test
derives them from the settings model). Validation is lazy: the values of the keys these commands
do not read are not checked here (``check`` and every other command load the whole model).

Whenever it meets anything it does not vouch for, a bad value, a name it does not know, a type
it does not expect, an environment variable it does not read (a JSON section, a nesting), it
hands the whole config to ``load_config``: every error a user sees is the model's own message,
word for word, and an unusual but valid config still works, only slower.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ppsync.config.basics import (
    DEFAULT_INTERVAL,
    absolute,
    check_cron,
    check_duration,
    check_interval_or_cron,
    clean_zone,
    find_config_path,
    parse_duration,
    read_toml,
)

if TYPE_CHECKING:
    from ppsync.config.load import Settings

ENV_PREFIX = "ppsync_"  # pydantic-settings compares names without case
ENV_NESTING = "__"

# Every key of every section: a name not here is refused by the model ("unknown key"), so it
# is handed to it. tests/test_quick_commands.py holds these equal to the model's fields.
SERVER_KEYS = frozenset({
    "kind", "url", "username", "password", "password_file", "api_key", "api_key_file", "token",
    "token_file", "client_id", "client_secret", "client_secret_file", "user_uid", "verify_tls",
    "ca_file", "timeout", "retries", "retry_backoff", "originals_path", "outage_wait"})
SECTION_KEYS: dict[str, frozenset[str]] = {
    "server": SERVER_KEYS,
    "mirror": frozenset({
        "target", "state", "delete", "max_delete", "max_delete_percent", "workers",
        "page_size", "include_archived", "include_private", "query", "require_mount", "layout",
        "min_free"}),
    "log": frozenset({"level", "format"}),
    "schedule": frozenset({"interval", "cron", "full_every", "jitter", "timezone",
                           "passes_at_once"}),
    "monitor": frozenset({"listen", "ping_url", "notify_command", "notify_url"}),
    "upload": frozenset({
        "enabled", "inbox", "albums", "after", "done_dir", "settle_seconds", "extensions",
        "mode", "import_path", "batch_mb"}),
    "albums": frozenset({"mode", "folder", "types"}),
    "metadata": frozenset({"sidecars", "originals_sidecars"}),
    "retention": frozenset({"keep_days", "max_size", "make_room"}),
    "scrub": frozenset({"every", "max_rate"}),
}
SERVERS = "servers"  # [servers.NAME]: tables of SERVER_KEYS

# What this module reads, with the model's defaults (None: required).
READ: dict[str, dict[str, str | None]] = {
    "mirror": {"target": None, "state": None},
    "schedule": {"interval": "", "cron": "", "full_every": "24h", "jitter": "0s",
                 "timezone": ""},
    "log": {"level": "info", "format": "auto"},
}
MIRROR_REQUIRED = ("target",)
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("auto", "console", "json")


@dataclass(frozen=True, slots=True)
class QuickMirror:
    target: Path
    state: Path | None

    @property
    def meta_dir(self) -> Path:
        return self.target / ".ppsync"

    @property
    def state_path(self) -> Path:  # as ``MirrorConfig.state_path``
        return self.state if self.state is not None else self.meta_dir / "state.db"


@dataclass(frozen=True, slots=True)
class QuickSchedule:
    interval: str
    cron: str
    full_every: str
    jitter: str
    timezone: str

    @property
    def interval_seconds(self) -> float:  # as ``ScheduleConfig.interval_seconds``
        return parse_duration(self.interval or DEFAULT_INTERVAL)


@dataclass(frozen=True, slots=True)
class QuickLog:
    level: str
    format: str


@dataclass(frozen=True, slots=True)
class QuickSettings:
    """What ``status`` and ``health`` need of the config, each value as ``Settings`` has it."""

    mirror: QuickMirror
    schedule: QuickSchedule
    log: QuickLog


class _Defer(Exception):
    """Something the fast path does not vouch for: the settings model decides."""


def quick_config(explicit_path: Path | None = None, environ: Mapping[str, str] | None = None,
                 *, log_level: str | None = None) -> QuickSettings:
    """``load_config(..., credentials=False)`` narrowed to ``QuickSettings``, usually without
    building the model. Raises ``ConfigError`` exactly as ``load_config`` does."""
    environ = os.environ if environ is None else environ
    vouched = vouched_config(explicit_path, environ, log_level=log_level)
    return vouched if vouched is not None else _from_model(explicit_path, environ, log_level)


def quick_libraries(explicit_path: Path | None = None,
                    environ: Mapping[str, str] | None = None, *,
                    log_level: str | None = None) -> list[tuple[str, QuickSettings]]:
    """``quick_config`` for every library: ``[("", settings)]`` for a config without
    ``[libraries]`` (the fast path, as always); with ``[libraries]``, the settings model of
    ``config.libraries`` decides (the fast path does not merge sections: simpler, and a
    household's ``status`` may take the model's ~0.1 s)."""
    environ = os.environ if environ is None else environ
    path = find_config_path(explicit_path, environ)
    data = read_toml(path) if path is not None else {}
    if "libraries" not in data:
        base_dir = path.parent.absolute() if path is not None else Path.cwd()
        try:
            return [("", _quick(data, environ, base_dir, log_level))]
        except (_Defer, ValueError):
            return [("", _from_model(explicit_path, environ, log_level))]
    from ppsync.config.libraries import load_household

    household = load_household(explicit_path, environ, log_level=log_level, credentials=False)
    return [(library.name, _narrow(library.settings)) for library in household.libraries]


def vouched_config(explicit_path: Path | None, environ: Mapping[str, str], *,
                   log_level: str | None = None) -> QuickSettings | None:
    """The fast path alone: the settings, or None where the model must decide. Raises
    ``ConfigError`` for a file that is missing, unreadable or not TOML (as the model would)."""
    path = find_config_path(explicit_path, environ)
    data = read_toml(path) if path is not None else {}
    base_dir = path.parent.absolute() if path is not None else Path.cwd()
    try:
        return _quick(data, environ, base_dir, log_level)
    except (_Defer, ValueError):
        return None


def _from_model(explicit_path: Path | None, environ: Mapping[str, str],
                log_level: str | None) -> QuickSettings:
    from ppsync.config.load import load_config

    return _narrow(load_config(explicit_path, environ, log_level=log_level, credentials=False))


def _narrow(settings: Settings) -> QuickSettings:
    schedule = settings.schedule
    return QuickSettings(
        QuickMirror(settings.mirror.target, settings.mirror.state),
        QuickSchedule(schedule.interval, schedule.cron, schedule.full_every, schedule.jitter,
                      schedule.timezone),
        QuickLog(settings.log.level, settings.log.format))


def _quick(data: dict[str, Any], environ: Mapping[str, str], base_dir: Path,
           log_level: str | None) -> QuickSettings:
    """The fast path; raises ``_Defer`` or ``ValueError`` where the model must decide."""
    _known_names(data)
    values = {section: dict(defaults) for section, defaults in READ.items()}
    for section, keys in values.items():
        given = data.get(section, {})
        for key in keys:
            if key in given:
                keys[key] = _text(given[key])
    server_given = "url" in data.get("server", {})
    for name, raw in environ.items():
        found = _env_key(name)
        if found is None:
            continue
        section, key = found
        if section == "server" and key == "url":
            server_given = True
        if section in values and key in values[section]:
            values[section][key] = raw
    mirror, schedule, log = values["mirror"], values["schedule"], values["log"]
    if not server_given or any(mirror[key] is None for key in MIRROR_REQUIRED):
        raise _Defer("a required key is missing")
    return QuickSettings(_mirror(mirror, base_dir), _schedule(schedule),
                         _log(log, log_level))


def _known_names(data: dict[str, Any]) -> None:
    """Every section and key of the file is one the model knows, in the shape it expects."""
    for section, table in data.items():
        if not isinstance(table, dict):
            raise _Defer(f"{section} is not a table")
        if section == SERVERS:
            for server in table.values():
                if not isinstance(server, dict) or not server.keys() <= SERVER_KEYS:
                    raise _Defer("a [servers.NAME] the model must judge")
        elif section not in SECTION_KEYS or not table.keys() <= SECTION_KEYS[section]:
            raise _Defer(f"an unknown name in {section}")


def _env_key(name: str) -> tuple[str, str] | None:
    """The (section, key) an environment variable sets, None for one the model ignores (not
    ``PPSYNC_<a section>...``); ``_Defer`` for one it would judge in a way read here is not."""
    lowered = name.lower()
    if not lowered.startswith(ENV_PREFIX):
        return None
    parts = lowered[len(ENV_PREFIX):].split(ENV_NESTING)
    section = parts[0]
    if section != SERVERS and section not in SECTION_KEYS:
        return None  # PPSYNC_CONFIG, and names that are no field: ignored by the model too
    if section == SERVERS:
        if len(parts) == 3 and parts[2] in SERVER_KEYS:
            return None  # an extra server: not read by the commands that come here
        raise _Defer(f"{name} sets servers in a way the model must judge")
    if len(parts) != 2 or parts[1] not in SECTION_KEYS[section]:
        raise _Defer(f"{name} sets {section} in a way the model must judge (JSON, nesting)")
    return section, parts[1]


def _text(value: Any) -> str:
    if not isinstance(value, str):  # the model takes only text for these keys
        raise _Defer("not a string")
    return value


def _mirror(values: dict[str, str | None], base_dir: Path) -> QuickMirror:
    target, state = values["target"], values["state"]
    assert target is not None  # MIRROR_REQUIRED
    return QuickMirror(absolute(Path(target), base_dir),
                       None if state is None else absolute(Path(state), base_dir))


def _schedule(values: dict[str, str | None]) -> QuickSchedule:
    interval, cron, full_every, jitter, timezone = (
        str(values[key]) for key in ("interval", "cron", "full_every", "jitter", "timezone"))
    for duration in (interval, full_every, jitter):
        check_duration(duration)
    check_cron(cron)
    check_interval_or_cron(interval, cron)
    return QuickSchedule(interval, cron, full_every, jitter, clean_zone(timezone))


def _log(values: dict[str, str | None], log_level: str | None) -> QuickLog:
    level, format_ = str(values["level"]), str(values["format"])
    if level not in LOG_LEVELS or format_ not in LOG_FORMATS:
        raise _Defer("a log value the model refuses")
    return QuickLog(log_level if log_level is not None else level, format_)
