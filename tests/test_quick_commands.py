"""``status`` and ``health`` answer at once, and say the same as before: the fast path of the
config (``ppsync.config.quick``) gives what the settings model gives, for every config tried,
errors word for word; the read-only reader of the state (``ppsync.state.reader``) gives what
``State`` gives; neither command writes the state. Times are the benchmark's business
(benchmarks/bench_quick_commands.py); tests/test_startup.py holds what they do not import."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import pytest

from ppsync.config import LogConfig, ServerConfig, Settings, load_config
from ppsync.config.quick import (
    LOG_FORMATS,
    LOG_LEVELS,
    READ,
    SECTION_KEYS,
    SERVER_KEYS,
    SERVERS,
    QuickSettings,
    quick_config,
    vouched_config,
)
from ppsync.errors import ConfigError, StateDamaged
from ppsync.models import LocalRecord, RecordStatus, RunReport
from ppsync.state import AsideRow, State
from ppsync.state.reader import StateReader
from tests.conftest import ConfigFactory, run_cli
from tests.kinds import Library

SERVER = '[server]\nurl = "http://127.0.0.1:9"\npassword = "pw"\n'
MIRROR = '[mirror]\ntarget = "mirror"\n'

# (name, the file after [server] (None: no [server] either), environment, fast path answers)
CASES: list[tuple[str, str | None, dict[str, str], bool]] = [
    ("plain", MIRROR, {}, True),
    ("state beside the config", MIRROR + 'state = "s/state.db"\n', {}, True),
    ("absolute state", MIRROR + 'state = "/var/lib/ppsync/state.db"\n', {}, True),
    ("env state", MIRROR, {"PPSYNC_MIRROR__STATE": "/abs/x.db"}, True),
    ("env state relative, any case", MIRROR, {"ppsync_Mirror__state": "rel.db"}, True),
    ("env empty state", MIRROR, {"PPSYNC_MIRROR__STATE": ""}, True),
    ("env target wins", MIRROR + 'state = "a.db"\n', {"PPSYNC_MIRROR__TARGET": "t"}, True),
    ("env target empty", MIRROR, {"PPSYNC_MIRROR__TARGET": ""}, True),
    ("home target", '[mirror]\ntarget = "~/photos"\n', {}, True),
    ("empty target", '[mirror]\ntarget = ""\n', {}, True),
    ("durations", MIRROR + '[schedule]\ninterval = "1h30m"\nfull_every = "12h"\n'
     'jitter = "5m"\n', {}, True),
    ("cron and zone", MIRROR + '[schedule]\ncron = "0 3 * * *"\ntimezone = " Europe/Berlin "\n',
     {}, True),
    ("env cron", MIRROR, {"PPSYNC_SCHEDULE__CRON": "*/5 * * * *"}, True),
    ("env log", MIRROR, {"PPSYNC_LOG__LEVEL": "warning", "PPSYNC_LOG__FORMAT": "json"}, True),
    ("other sections", MIRROR + 'workers = 8\ndelete = "trash"\n[monitor]\n'
     'listen = "127.0.0.1:9108"\n[upload]\nenabled = false\n[scrub]\nevery = "7d"\n', {}, True),
    ("secrets and strangers in env", MIRROR,
     {"PPSYNC_SERVER__PASSWORD": "pw2", "PPSYNC_BOGUS": "x", "PPSYNC_CONFIG_X": "y"}, True),
    ("servers", MIRROR + '[servers.old]\nurl = "http://10.0.0.9:2342"\n', {}, True),
    ("env servers", MIRROR, {"PPSYNC_SERVERS__OLD__URL": "http://h"}, True),
    ("server from env", None, {"PPSYNC_SERVER__URL": "http://h", "PPSYNC_MIRROR__TARGET": "m"},
     True),
    # What the model must decide: an error (its own words) or a form read only by it.
    ("bad zone", MIRROR + '[schedule]\ntimezone = "Mars/Base"\n', {}, False),
    ("short interval", MIRROR, {"PPSYNC_SCHEDULE__INTERVAL": "0s"}, False),
    ("interval and cron", MIRROR + '[schedule]\ninterval = "1h"\ncron = "0 3 * * *"\n', {},
     False),
    ("cron of 4 fields", MIRROR + '[schedule]\ncron = "0 3 * *"\n', {}, False),
    ("cron out of range", MIRROR + '[schedule]\ncron = "61 3 * * *"\n', {}, False),
    ("bad duration", MIRROR + '[schedule]\nfull_every = "daily"\n', {}, False),
    ("number interval", MIRROR + "[schedule]\ninterval = 5\n", {}, False),
    ("upper-case level", MIRROR + '[log]\nlevel = "INFO"\n', {}, False),
    ("env bad format", MIRROR, {"PPSYNC_LOG__FORMAT": "xml"}, False),
    ("unknown mirror key", MIRROR + 'stat = "x.db"\n', {}, False),
    ("unknown section", MIRROR + '[schedul]\ninterval = "1h"\n', {}, False),
    ("unknown servers key", MIRROR + "[servers.old]\nbogus = 1\n", {}, False),
    ("env unknown key", MIRROR, {"PPSYNC_MIRROR__BOGUS": "x"}, False),
    ("env JSON section", MIRROR, {"PPSYNC_MIRROR": '{"state": "j.db"}'}, False),
    ("no mirror", "", {}, False),
    ("number target", "[mirror]\ntarget = 5\n", {}, False),
    ("no server", None, {"PPSYNC_MIRROR__TARGET": "m"}, False),
    ("section not a table", "mirror = 5\n", {}, False),
]


def view(settings: Settings | QuickSettings) -> tuple[Any, ...]:
    """What status and health read of a config."""
    schedule = settings.schedule
    return (settings.mirror.target, settings.mirror.state, settings.mirror.state_path,
            schedule.interval, schedule.cron, schedule.full_every, schedule.jitter,
            schedule.timezone, schedule.interval_seconds, settings.log.level,
            settings.log.format)


def outcome(load: Callable[[], Settings | QuickSettings]) -> tuple[Any, ...]:
    try:
        return ("ok", *view(load()))
    except ConfigError as exc:
        return ("error", *exc.problems)


@pytest.mark.parametrize(("text", "environ", "fast"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
@pytest.mark.parametrize("log_level", [None, "debug"])
def test_the_fast_path_reads_every_config_as_the_model_does(
    tmp_path: Path, text: str | None, environ: dict[str, str], fast: bool, log_level: str | None
) -> None:
    path = tmp_path / "ppsync.toml"
    path.write_text("" if text is None else SERVER + text)
    model = outcome(lambda: load_config(path, environ, log_level=log_level, credentials=False))
    assert outcome(lambda: quick_config(path, environ, log_level=log_level)) == model
    vouched = vouched_config(path, environ, log_level=log_level)
    assert (vouched is not None) == fast, model
    if vouched is not None:
        assert ("ok", *view(vouched)) == model


@pytest.mark.parametrize("text", ["[mirror\n", "x = \n"])
def test_a_file_that_is_not_toml_is_the_same_one_line_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "ppsync.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as model:
        load_config(path, {}, credentials=False)
    with pytest.raises(ConfigError) as quick:
        quick_config(path, {})
    assert quick.value.problems == model.value.problems
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError) as model:
        load_config(missing, {}, credentials=False)
    with pytest.raises(ConfigError) as quick:
        quick_config(missing, {})
    assert quick.value.problems == model.value.problems


def test_values_the_quick_commands_do_not_read_are_left_to_the_others(tmp_path: Path) -> None:
    """Lazy validation, by design: ``status`` of a mirror whose config has a bad worker count
    still shows the mirror; ``check`` and every command that uses the value refuse it."""
    path = tmp_path / "ppsync.toml"
    path.write_text(SERVER + MIRROR + "workers = 0\n")
    assert quick_config(path, {}).mirror.target == tmp_path / "mirror"
    with pytest.raises(ConfigError, match=r"mirror\.workers"):
        load_config(path, {}, credentials=False)


def _model(section: str) -> Any:
    return Settings.model_fields[section].annotation


def test_the_fast_path_knows_the_models_keys_defaults_and_choices() -> None:
    assert set(SECTION_KEYS) | {SERVERS} == set(Settings.model_fields)
    for section, keys in SECTION_KEYS.items():
        assert keys == set(_model(section).model_fields), section
    assert set(SERVER_KEYS) == set(ServerConfig.model_fields)
    for section, defaults in READ.items():
        fields = _model(section).model_fields
        for key, default in defaults.items():
            field = fields[key]
            assert (None if field.is_required() else field.default) == default, (section, key)
    assert get_args(LogConfig.model_fields["level"].annotation) == LOG_LEVELS
    assert get_args(LogConfig.model_fields["format"].annotation) == LOG_FORMATS


# --- the state, read-only -----------------------------------------------------------------


def _fill(state: State) -> None:
    """Runs (finished, failed, unfinished), active, kept and damaged files, set-aside items."""
    state.save_many([
        LocalRecord("f1", "p1", "a.jpg", "1" * 40, 100),
        LocalRecord("f2", "p2", "b.jpg", "2" * 40, 250),
        LocalRecord("f3", "p3", "c.jpg", "3" * 40, 7, RecordStatus.KEPT),
    ])
    state.mark_damaged("f2", "2" * 40, "SHA-1 differs")
    state.record_set_aside([AsideRow(".ppsync/trash/x.jpg", 30, 1_700_000_000.0),
                            AsideRow(".ppsync/replaced/y.jpg", 12, 1_600_000_000.0)])
    state.set_meta("scrub_cycle_done", "1700000123.5")
    for exit_code in (0, 1):
        run_id = state.start_run("sync")
        state.finish_run(RunReport(run_id=run_id, command="sync", started_at=time.time(),
                                   finished_at=time.time(), exit_code=exit_code))
    state.start_run("change")


def _answers(state: State | StateReader) -> dict[str, Any]:
    damaged = (state.count_damaged() if isinstance(state, StateReader)
               else len(state.damaged_records()))
    return {"runs": state.last_runs(10), "aside": state.set_aside_totals(),
            "meta": state.get_meta("scrub_cycle_done"), "missing": state.get_meta("nothing"),
            "active": state.count_active(), "bytes": state.active_bytes(),
            "kept": state.count_kept(), "damaged": damaged}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_reader_answers_as_the_state_does_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    empty = State.open(path)
    empty.close()
    reader = StateReader.open(path)
    assert reader is not None
    with reader:
        assert _answers(reader)["runs"] == [] and _answers(reader)["active"] == 0
    state = State.open(path)
    try:
        _fill(state)
        expected = _answers(state)
    finally:
        state.close()
    assert expected["damaged"] == 1 and expected["kept"] == 1 and len(expected["runs"]) == 3
    before = _digest(path)
    reader = StateReader.open(path)
    assert reader is not None
    with reader:
        assert _answers(reader) == expected
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader.conn.execute("DELETE FROM runs")
    assert _digest(path) == before


def test_a_state_of_another_schema_is_left_to_state_open(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    State.open(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '6' WHERE key = 'schema_version'")
    conn.close()
    assert StateReader.open(path) is None  # State.open migrates it, as every command does
    State.open(path).close()
    assert StateReader.open(path) is not None
    not_a_state = tmp_path / "other.db"
    sqlite3.connect(not_a_state).close()
    assert StateReader.open(not_a_state) is None


def test_a_damaged_state_is_the_same_error_as_for_a_run(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not a database, it was overwritten" * 100)
    with pytest.raises(StateDamaged) as full:
        State.open(path)
    with pytest.raises(StateDamaged) as read:
        StateReader.open(path)
    assert str(read.value) == str(full.value)


def _state_cli(config: Path, state_db: Path) -> tuple[dict[str, Any], str, str]:
    status = run_cli(config, "status", "--json")
    assert status.returncode == 0, status.stderr
    health = run_cli(config, "health")
    assert health.returncode in (0, 1), health.stderr
    return json.loads(status.stdout), health.stdout, _digest(state_db)


def test_status_and_health_follow_passes_and_never_write_the_state(
    lib: Library, lib_config: ConfigFactory, lib_sync: Callable[..., RunReport], target: Path
) -> None:
    state_db = target / ".ppsync" / "state.db"
    lib.add("2024/a.jpg", b"a" * 1000)
    lib.add("2024/b.jpg", b"b" * 2000)
    assert lib_sync().exit_code == 0
    config = lib_config()
    before = _digest(state_db)
    shown, health, after = _state_cli(config, state_db)
    assert after == before
    assert shown["mirror"]["files"] == 2 and shown["mirror"]["bytes"] == 3000
    assert [run["exit_code"] for run in shown["runs"]] == [0]
    assert health.startswith("healthy: last pass (run 1)")
    # The next pass brings one more photo; then a pass the server fails.
    lib.add("2024/c.jpg", b"c" * 500)
    assert lib_sync().exit_code == 0
    lib.fail_next(50, 500)
    assert lib_sync(server={"retries": 0, "outage_wait": "0s"}).exit_code != 0
    before = _digest(state_db)
    shown, health, after = _state_cli(config, state_db)
    assert after == before
    assert shown["mirror"]["files"] == 3 and shown["mirror"]["bytes"] == 3500
    assert [run["run_id"] for run in shown["runs"]] == [3, 2, 1]
    assert shown["runs"][0]["exit_code"] != 0 and health.startswith("unhealthy: last pass (run 3)")


def test_status_and_health_of_an_older_state_migrate_it_as_before(
    make_config: ConfigFactory, target: Path
) -> None:
    config = make_config()
    (target / ".ppsync").mkdir()
    state_db = target / ".ppsync" / "state.db"
    state = State.open(state_db)
    try:
        _fill(state)
    finally:
        state.close()
    for command in ("status", "health"):
        with sqlite3.connect(state_db) as conn:
            conn.execute("UPDATE meta SET value = '6' WHERE key = 'schema_version'")
        conn.close()
        result = run_cli(config, command)
        assert result.returncode == (0 if command == "status" else 1), result.stderr
        assert "Traceback" not in result.stderr
        with sqlite3.connect(state_db) as conn:
            version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'")
            assert version.fetchone()[0] == "7"  # opened the full way, and migrated
        conn.close()
    shown = json.loads(run_cli(config, "status", "--json").stdout)
    assert shown["mirror"]["files"] == 2 and shown["mirror"]["damaged"] == 1
