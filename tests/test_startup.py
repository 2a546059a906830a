"""A CLI that answers at once: each command imports what it needs when it runs. ``--version``
and ``--help`` load none of the heavy libraries, nor do the state-only commands (``status``,
``health``) on a config their fast path reads (``ppsync.config.quick``): no pydantic, no
sqlite-utils, no structlog, no HTTP client, and the scheduler only for a cron. Times are the
benchmark's business (benchmarks/bench_quick_commands.py), not a test's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ConfigFactory

HEAVY = ("httpx", "httpcore", "pydantic", "pydantic_settings", "sqlite_utils", "structlog",
         "apscheduler", "tenacity", "prometheus_client", "orjson")
NETWORK = ("httpx", "httpcore", "tenacity", "apscheduler", "prometheus_client")

PROBE = """
import json, sys
from ppsync.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})), file=sys.stderr)
"""


def loaded_after(*args: str, env: dict[str, str] | None = None) -> set[str]:
    """The top-level modules loaded after running ``ppsync ARGS`` in a fresh interpreter."""
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True,
                            text=True, timeout=60, env={**os.environ, **(env or {})})
    modules: list[str] = json.loads(result.stderr.strip().splitlines()[-1])
    return set(modules)


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["sync", "--help"]])
def test_version_and_help_load_no_heavy_library(args: list[str]) -> None:
    assert loaded_after(*args).isdisjoint(HEAVY)


@pytest.mark.parametrize("command", ["status", "health"])
def test_state_only_commands_load_no_http_client_or_scheduler(
    command: str, make_config: ConfigFactory, target: Path
) -> None:
    config = make_config()
    assert loaded_after("--config", str(config), command).isdisjoint(NETWORK)


def _with_state(target: Path) -> None:
    from ppsync.state import State

    (target / ".ppsync").mkdir()
    State.open(target / ".ppsync" / "state.db").close()


@pytest.mark.parametrize("command", ["status", "health"])
def test_state_only_commands_load_no_heavy_library(
    command: str, make_config: ConfigFactory, target: Path
) -> None:
    config = make_config(schedule={"interval": "30m"}, monitor={"listen": "127.0.0.1:9108"})
    _with_state(target)
    # The secret in the environment (as in a container) is not read, and changes nothing.
    loaded = loaded_after("--config", str(config), command,
                          env={"PPSYNC_SERVER__PASSWORD": "from-env"})
    assert loaded.isdisjoint(HEAVY), loaded & set(HEAVY)


def test_health_loads_the_scheduler_only_for_a_cron(
    make_config: ConfigFactory, target: Path
) -> None:
    config = make_config(schedule={"cron": "0 3 * * *", "timezone": "Europe/Berlin"})
    _with_state(target)
    loaded = loaded_after("--config", str(config), "health")
    assert "apscheduler" in loaded
    assert loaded.isdisjoint(set(HEAVY) - {"apscheduler"})


def test_a_config_the_fast_path_does_not_vouch_for_gets_the_models_word(
    make_config: ConfigFactory, target: Path
) -> None:
    config = make_config(schedule={"interval": "0s"})
    loaded = loaded_after("--config", str(config), "status")
    assert "pydantic" in loaded  # the settings model said what is wrong, as before
