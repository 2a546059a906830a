"""A CLI that answers at once: each command imports what it needs when it runs. ``--version``
and ``--help`` load none of the heavy libraries, and the state-only commands (``status``,
``health``) no HTTP client and no scheduler. Times are the benchmark's business, not a test's."""

from __future__ import annotations

import json
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


def loaded_after(*args: str) -> set[str]:
    """The top-level modules loaded after running ``ppsync ARGS`` in a fresh interpreter."""
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True,
                            text=True, timeout=60)
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
