"""Deployment files: the Dockerfile, .dockerignore, the compose example and the systemd units.

No Docker engine exists where these tests run, so the image is never built here. Instead the
Dockerfile is parsed and checked for what matters (multi-stage, non-root, health check, entry
point, what it copies), and the units are parsed and, where ``systemd-analyze`` exists, checked
by ``.ci/systemd-verify``, including that it rejects broken copies.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "docker" / "compose.example.yaml"
UNITS = ROOT / "systemd"
VERIFY_SCRIPT = ROOT / ".ci" / "systemd-verify"
UNIT_NAMES = ("ppsync.service", "ppsync-once.service", "ppsync-household.service", "ppsync.timer")
SERVICES = ("ppsync.service", "ppsync-once.service")  # the household unit: systemd-verify rates it


# --- Dockerfile -------------------------------------------------------------------------------


@dataclass
class Instruction:
    name: str  # upper case: FROM, RUN, COPY, ...
    args: str


@dataclass
class Stage:
    base: str
    alias: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, name: str) -> list[str]:
        return [i.args for i in self.instructions if i.name == name]

    def last(self, name: str) -> str:
        found = self.all(name)
        assert found, f"no {name} in the stage FROM {self.base}"
        return found[-1]


def parse_dockerfile(text: str) -> tuple[list[Instruction], list[Stage]]:
    """Instructions before the first FROM (global ARGs) and the stages, continuations joined."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    preamble: list[Instruction] = []
    stages: list[Stage] = []
    for line in logical:
        name, _, args = line.partition(" ")
        instruction = Instruction(name.upper(), args.strip())
        if instruction.name == "FROM":
            words = [w for w in instruction.args.split() if not w.startswith("--")]
            alias = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], alias))
        elif stages:
            stages[-1].instructions.append(instruction)
        else:
            preamble.append(instruction)
    return preamble, stages


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), f"not the JSON (exec) form: {args}"
    return value


def env_pairs(stage: Stage) -> dict[str, str]:
    """ENV key=value pairs of a stage (values without spaces or quotes, as ours are)."""
    env: dict[str, str] = {}
    for args in stage.all("ENV"):
        for word in args.split():
            key, sep, value = word.partition("=")
            assert sep, f"use ENV key=value, not the legacy form: {args}"
            env[key] = value
    return env


def arg_defaults(stage: Stage) -> dict[str, str]:
    return dict(a.partition("=")[::2] for a in stage.all("ARG"))


@pytest.fixture(scope="module")
def dockerfile() -> tuple[list[Instruction], list[Stage]]:
    return parse_dockerfile(DOCKERFILE.read_text())


def test_dockerfile_is_multi_stage_with_one_base(dockerfile: tuple[list[Instruction], list[Stage]]):
    preamble, stages = dockerfile
    assert len(stages) >= 2
    build, final = stages[0], stages[-1]
    assert build.alias, "the build stage needs a name for COPY --from"
    # The venv holds absolute links to the interpreter: both stages need the same Python image.
    assert build.base == final.base
    if build.base.startswith("$"):
        name = build.base.strip("${}")
        defaults = {k: v for k, v in (a.args.partition("=")[::2] for a in preamble)}
        assert re.fullmatch(r"python:3\.1[1-9]-slim\S*", defaults.get(name, "")), defaults
    copies = final.all("COPY")
    assert any(f"--from={build.alias} /opt/ppsync" in c for c in copies), copies
    assert "pip install ." in " ".join(build.all("RUN"))


def test_dockerfile_final_stage_drops_to_a_created_non_root_user(
    dockerfile: tuple[list[Instruction], list[Stage]],
):
    final = dockerfile[1][-1]
    # No USER: the container starts as root only to take PUID/PGID (docker/entrypoint.sh),
    # and the entry point is that script, first on PATH as `ppsync`.
    assert not final.all("USER") or final.last("USER").split(":")[0] in {"root", "0"}
    copies = [c.split() for c in final.all("COPY")]
    assert ["docker/entrypoint.sh", "/usr/local/bin/ppsync"] in copies, copies
    assert os.access(ROOT / "docker" / "entrypoint.sh", os.X_OK)  # COPY keeps the mode
    script = (ROOT / "docker" / "entrypoint.sh").read_text()
    assert 'exec setpriv --reuid="$uid" --regid="$gid" --clear-groups' in script
    # The RUN that creates the default user, with the configurable IDs.
    setup = " ".join(final.all("RUN"))
    assert re.search(r"useradd\b.*\bppsync\b", setup), setup
    assert '--uid "${PUID}"' in setup and '--gid "${PGID}"' in setup
    defaults = arg_defaults(final)
    assert int(defaults["PUID"]) > 0 and int(defaults["PGID"]) > 0


def test_dockerfile_final_stage_holds_no_build_tools(
    dockerfile: tuple[list[Instruction], list[Stage]],
):
    build, final = dockerfile[1][0], dockerfile[1][-1]
    install = next(r for r in build.all("RUN") if "pip install ." in r)
    # pip and setuptools leave the venv before it is copied; the base's own go in the final
    # stage where pip manages them (python:3.11-slim).
    assert re.search(r"/opt/ppsync/bin/python -m pip uninstall -q -y pip setuptools\b", install)
    assert install.index("pip install .") < install.index("uninstall")
    assert "pip uninstall -q -y pip setuptools wheel" in " ".join(final.all("RUN"))
    assert not [r for r in final.all("RUN") if re.search(r"\b(pip|apt-get) install\b", r)]


@pytest.mark.parametrize(("puid", "pgid", "message"), [
    ("1000", "1000", ""),
    ("1026", "100", ""),
    ("", "1000", "PUID must be a user ID number, not ''"),
    ("abc", "1000", "PUID must be a user ID number, not 'abc'"),
    ("-5", "1000", "PUID must be a user ID number"),
    ("0", "1000", "PUID=0 would run ppsync as root"),
    ("00", "1000", "PUID=0 would run ppsync as root"),
    ("1000", "0", "PGID=0 would run ppsync in the root group"),
    ("1000", "", "PGID must be a group ID number, not ''"),
    ("1000", "staff", "PGID must be a group ID number, not 'staff'"),
])
def test_dockerfile_refuses_root_and_bad_ids_with_a_clear_message(
    dockerfile: tuple[list[Instruction], list[Stage]], puid: str, pgid: str, message: str,
):
    # Docker runs RUN with /bin/sh -c and the build ARGs in the environment: run the checks
    # (everything before the user is created) the same way.
    setup = next(r for r in dockerfile[1][-1].all("RUN") if "useradd" in r)
    checks = setup[: setup.index("groupadd")]
    result = subprocess.run(["sh", "-c", checks + " true"], env={"PUID": puid, "PGID": pgid},
                            capture_output=True, text=True)
    assert (result.returncode == 0) == (not message), result.stderr
    assert message in result.stderr


def test_dockerfile_health_check_fits_old_engines_and_a_slow_start(
    dockerfile: tuple[list[Instruction], list[Stage]],
):
    options = dockerfile[1][-1].last("HEALTHCHECK").partition("CMD ")[0]
    flags = dict(re.findall(r"--([a-z-]+)=(\S+)", options))
    # Docker 20.10 (many NAS) rejects flags it does not know, and the build fails.
    assert set(flags) <= {"interval", "timeout", "start-period", "retries"}, flags
    # PhotoPrism starting next to ppsync (migrations) needs minutes before a first pass runs;
    # once it runs, `ppsync health` is healthy however long it takes.
    assert flags["start-period"].endswith("m") and int(flags["start-period"][:-1]) >= 5


def test_dockerfile_runs_the_daemon_with_a_health_check(
    dockerfile: tuple[list[Instruction], list[Stage]],
):
    final = dockerfile[1][-1]
    assert exec_form(final.last("ENTRYPOINT")) == ["ppsync"]
    assert exec_form(final.last("CMD")) == ["daemon"]
    options, sep, command = final.last("HEALTHCHECK").partition("CMD ")
    assert sep, "HEALTHCHECK needs a CMD"
    assert exec_form(command) == ["ppsync", "health"]
    assert "--interval=" in options and "--timeout=" in options
    env = env_pairs(final)
    # The entry point (/usr/local/bin/ppsync) before the venv's ppsync: `docker exec ... ppsync`
    # and the health check go through it too, and run as PUID, never as root.
    path = env["PATH"].split(":")
    assert path.index("/usr/local/bin") < path.index("/opt/ppsync/bin"), path
    assert env["PYTHONUNBUFFERED"] == "1"


def test_dockerfile_volumes_and_paths_keep_the_safety_guards(
    dockerfile: tuple[list[Instruction], list[Stage]],
):
    final = dockerfile[1][-1]
    volumes = [v for args in final.all("VOLUME") for v in exec_form(args)]
    env = env_pairs(final)
    target = PurePosixPath(env["PPSYNC_MIRROR__TARGET"])
    state = PurePosixPath(env["PPSYNC_MIRROR__STATE"])
    # The state sits on a volume, outside the target (the empty-target guard needs that).
    assert any(state.is_relative_to(v) for v in volumes), (state, volumes)
    assert not state.is_relative_to(target)
    # The target is not a VOLUME: a missing mount must stay missing (exit 4), not become an
    # empty anonymous volume that ppsync fills.
    assert not any(target.is_relative_to(v) or PurePosixPath(v).is_relative_to(target)
                   for v in volumes)
    # An explicitly named config file that is missing is a config error (exit 2), so the image
    # must not name one: ./ppsync.toml in the working directory is optional.
    assert "PPSYNC_CONFIG" not in env
    assert final.last("WORKDIR") == "/config"


def test_dockerfile_copies_only_existing_files_and_downloads_nothing(
    dockerfile: tuple[list[Instruction], list[Stage]],
):
    sources = []
    for stage in dockerfile[1]:
        for args in stage.all("COPY") + stage.all("ADD"):
            words = args.split()
            if any(w.startswith("--from") for w in words):
                continue
            sources += [w for w in words[:-1] if not w.startswith("--")]
        for run in stage.all("RUN"):
            assert not re.search(r"\b(curl|wget)\b", run), run
    assert sources, "the build stage copies nothing from the repository"
    ignore = load_dockerignore()
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
        assert not dockerignored(ignore, source.rstrip("/")), f"{source} is in .dockerignore"


# --- .dockerignore ----------------------------------------------------------------------------


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Docker's .dockerignore globbing: * and ? stay within a segment, ** spans segments."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def load_dockerignore() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        rules.append((negated, _glob_regex(pattern)))
    return rules


def dockerignored(rules: list[tuple[bool, re.Pattern[str]]], path: str) -> bool:
    """The last rule matching the path or one of its parent folders decides."""
    parts = PurePosixPath(path).parts
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for negated, regex in rules:
        if any(regex.match(c) for c in candidates):
            ignored = not negated
    return ignored


@pytest.mark.parametrize(
    ("path", "ignored"),
    [
        ("pyproject.toml", False),
        ("README.md", False),
        ("src/ppsync/cli.py", False),
        ("src/ppsync/py.typed", False),
        (".git/HEAD", True),
        (".venv/bin/python", True),
        ("tests/test_cli.py", True),
        ("ppsync.toml", True),
        (".mypy_cache/3.11/x.json", True),
        ("src/ppsync/__pycache__/cli.cpython-311.pyc", True),
        ("src/ppsync.egg-info/PKG-INFO", True),
    ],
)
def test_dockerignore_sends_only_the_build_inputs(path: str, ignored: bool):
    assert dockerignored(load_dockerignore(), path) is ignored


# --- compose example: as text for its comments, as YAML (pyyaml) for what Compose reads -------


def compose_services(text: str) -> dict[str, str]:
    """Each top-level service's block of text, keyed by name."""
    blocks: dict[str, str] = {}
    in_services, current = False, None
    for line in text.splitlines():
        if re.match(r"^\S", line):
            in_services, current = line.startswith("services:"), None
            continue
        match = re.match(r"^  ([A-Za-z0-9_.-]+):\s*(#.*)?$", line)
        if in_services and match:
            current = match.group(1)
            blocks[current] = ""
        elif in_services and current:
            blocks[current] += line + "\n"
    return blocks


def test_compose_example_wires_ppsync_to_photoprism():
    text = COMPOSE.read_text()
    assert "\t" not in text, "YAML must be indented with spaces"
    services = compose_services(text)
    assert {"photoprism", "ppsync"} <= services.keys(), services.keys()
    assert "image: photoprism/photoprism" in services["photoprism"]
    ppsync = services["ppsync"]
    context = re.search(r"^\s+context:\s*(\S+)", ppsync, re.M)
    assert context, "ppsync is built from this repository"
    assert (COMPOSE.parent / context.group(1) / "Dockerfile").is_file()
    assert re.search(r"depends_on:\s*\n\s+-\s*photoprism\b", ppsync)
    assert re.search(r"PPSYNC_SERVER__URL:\s*\"?http://photoprism:2342\b", ppsync)
    # The password comes from a secret file, never from the compose file itself.
    assert re.search(r"PPSYNC_SERVER__PASSWORD_FILE:\s*\"?/run/secrets/photoprism_password\b",
                     ppsync)
    assert not re.search(r"PPSYNC_SERVER__(PASSWORD|TOKEN):", ppsync)
    assert re.search(r"^secrets:\s*\n\s+photoprism_password:\s*\n(\s+#.*\n)*\s+file:\s*\S+",
                     text, re.M)


def test_compose_example_mounts_what_the_image_expects(
    dockerfile: tuple[list[Instruction], list[Stage]],
):
    env = env_pairs(dockerfile[1][-1])
    ppsync = compose_services(COMPOSE.read_text())["ppsync"]
    targets = re.findall(r"target:\s*(\S+)", ppsync) + re.findall(r"^\s+-\s*[^\s:]+:(/\S+)",
                                                                  ppsync, re.M)
    assert env["PPSYNC_MIRROR__TARGET"] in targets, targets
    assert str(PurePosixPath(env["PPSYNC_MIRROR__STATE"]).parent) in targets, targets
    # Health comes from the image's HEALTHCHECK (`ppsync health`); the example must not switch
    # it off or replace it with something else.
    healthcheck = re.search(r"^\s+healthcheck:\s*\n((?:\s{6,}.*\n)*)", ppsync, re.M)
    if healthcheck:
        assert "ppsync" in healthcheck.group(1) and "health" in healthcheck.group(1)
        assert "disable: true" not in healthcheck.group(1)
    assert "ppsync health" in ppsync or healthcheck is None


def test_compose_docs_and_example_config_agree_on_the_time_zone():
    # Cron schedules follow TZ (or [schedule] timezone): the compose example sets TZ for them,
    # and the docs (the page on running it) and the example config say so.
    ppsync = compose_services(COMPOSE.read_text())["ppsync"]
    tz = re.search(r"^\s+TZ:\s*\"([^\"]+)\"\s*#(.*)$", ppsync, re.M)
    assert tz and "cron" in ppsync[tz.start():].split("secrets:")[0], ppsync
    from zoneinfo import ZoneInfo

    ZoneInfo(tz.group(1))  # a real zone name
    example = (ROOT / "config.example.toml").read_text()
    assert re.search(r"^timezone = \"\"", example, re.M)
    running = " ".join((ROOT / "docs" / "running.md").read_text().split())  # lines rewrap
    assert "`[schedule] timezone`" in running or "[schedule] timezone" in running
    assert "`TZ`" in running and "follows local time" in running


# --- systemd units ----------------------------------------------------------------------------


@dataclass
class Setting:
    section: str
    key: str
    value: str
    comments: list[str]  # the nearest comment block above this setting or its group


def parse_unit(path: Path) -> list[Setting]:
    """A unit file as a list of settings (systemd allows repeated keys, so no dict)."""
    settings: list[Setting] = []
    section, comments, pending = "", [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if pending:
            line, pending = pending + line, ""
        if not line:
            comments = []
        elif line[0] in "#;":
            if settings and settings[-1].comments is comments:
                comments = []  # a new block after a group of settings
            comments.append(line)
        elif line.startswith("["):
            section, comments = line.strip("[]"), []
        elif line.endswith("\\"):
            pending = line[:-1] + " "
        else:
            key, sep, value = line.partition("=")
            assert sep, f"{path.name}: not key=value: {line}"
            settings.append(Setting(section, key.strip(), value.strip(), comments))
    return settings


def values(settings: list[Setting], section: str, key: str) -> list[str]:
    return [s.value for s in settings if s.section == section and s.key == key]


def one(settings: list[Setting], section: str, key: str) -> str:
    found = values(settings, section, key)
    assert len(found) == 1, f"[{section}] {key}: expected once, found {found}"
    return found[0]


def seconds(span: str) -> float:
    units = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "hr": 3600, "d": 86400}
    total = 0.0
    for number, unit in re.findall(r"(\d+)\s*([a-z]*)", span):
        total += int(number) * units[unit or "s"]
    return total


@pytest.fixture(scope="module")
def units() -> dict[str, list[Setting]]:
    return {name: parse_unit(UNITS / name) for name in UNIT_NAMES}


HARDENING = {
    "DynamicUser": "yes",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictNamespaces": "yes",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "SystemCallArchitectures": "native",
}


def test_daemon_unit_is_a_notify_service_with_a_watchdog(units: dict[str, list[Setting]]):
    unit = units["ppsync.service"]
    assert one(unit, "Service", "Type") == "notify"
    command = one(unit, "Service", "ExecStart").split()
    assert command[0].startswith("/") and command[0].endswith("/ppsync")
    assert command[-1] == "daemon" and "--config" in command
    assert one(unit, "Service", "ExecReload") == "/bin/kill -HUP $MAINPID"
    assert one(unit, "Service", "Restart") == "on-failure"
    assert seconds(one(unit, "Service", "RestartSec")) > 0
    assert seconds(one(unit, "Service", "WatchdogSec")) >= 60
    # READY=1 follows the first finished pass, which can take hours on a large library.
    assert one(unit, "Service", "TimeoutStartSec") == "infinity"
    assert 0 < seconds(one(unit, "Service", "TimeoutStopSec")) <= 300
    assert "network-online.target" in values(unit, "Unit", "After")
    assert "network-online.target" in values(unit, "Unit", "Wants")
    assert one(unit, "Install", "WantedBy") == "multi-user.target"


@pytest.mark.parametrize("name", SERVICES)
def test_services_are_hardened(units: dict[str, list[Setting]], name: str):
    unit = units[name]
    for key, expected in HARDENING.items():
        assert one(unit, "Service", key) == expected, key
    families = one(unit, "Service", "RestrictAddressFamilies").split()
    assert {"AF_UNIX", "AF_INET", "AF_INET6"} <= set(families)  # AF_UNIX: sd_notify, journald
    assert re.fullmatch(r"0[0-7]{3}", one(unit, "Service", "UMask"))
    assert re.fullmatch(r"(password|token):/\S+", one(unit, "Service", "LoadCredential"))


@pytest.mark.parametrize("name", SERVICES)
def test_services_can_write_only_the_target_and_their_state(
    units: dict[str, list[Setting]], name: str
):
    unit = units[name]
    target = one(unit, "Service", "ReadWritePaths")
    assert target.startswith("/") and " " not in target
    assert one(unit, "Unit", "RequiresMountsFor") == target
    state_dir = one(unit, "Service", "StateDirectory")
    environment = dict(v.partition("=")[::2] for v in values(unit, "Service", "Environment"))
    state = environment.get("PPSYNC_MIRROR__STATE")
    if state is not None:  # state outside the target must be in the StateDirectory
        assert PurePosixPath(state).is_relative_to(f"/var/lib/{state_dir}"), state


def test_both_services_share_identity_target_and_install(units: dict[str, list[Setting]]):
    daemon, once = units["ppsync.service"], units["ppsync-once.service"]
    for section, key in [("Service", "User"), ("Service", "Group"), ("Service", "ReadWritePaths"),
                         ("Service", "StateDirectory"), ("Service", "Environment"),
                         ("Service", "LoadCredential"), ("Service", "UMask")]:
        assert values(daemon, section, key) == values(once, section, key), key
    assert values(daemon, "Service", "User"), "a fixed User= name: both units, one owner"
    daemon_cmd = one(daemon, "Service", "ExecStart").split()
    once_cmd = one(once, "Service", "ExecStart").split()
    assert daemon_cmd[:-1] == once_cmd[:-2]  # same binary, same --config


def test_oneshot_unit_runs_one_sync(units: dict[str, list[Setting]]):
    unit = units["ppsync-once.service"]
    assert one(unit, "Service", "Type") == "oneshot"
    # Nightly: a full walk every time, so deletions reach the mirror every night.
    assert one(unit, "Service", "ExecStart").split()[-2:] == ["sync", "--full"]
    for absent in ("WatchdogSec", "NotifyAccess", "Restart"):
        assert not values(unit, "Service", absent), absent
    assert not values(unit, "Install", "WantedBy"), "started by ppsync.timer, not at boot"


def test_timer_runs_the_oneshot_nightly_and_catches_up(units: dict[str, list[Setting]]):
    timer = units["ppsync.timer"]
    assert one(timer, "Timer", "OnCalendar")
    assert one(timer, "Timer", "Persistent") == "true"
    assert seconds(one(timer, "Timer", "RandomizedDelaySec")) > 0
    assert one(timer, "Timer", "Unit") == "ppsync-once.service"
    assert (UNITS / one(timer, "Timer", "Unit")).is_file()
    assert one(timer, "Install", "WantedBy") == "timers.target"


CHANGEABLE = {
    "ppsync.service": ["ExecStart", "RequiresMountsFor", "ReadWritePaths", "User", "Group",
                       "UMask", "Environment", "LoadCredential", "WatchdogSec", "RestartSec"],
    "ppsync-once.service": ["ExecStart", "RequiresMountsFor", "ReadWritePaths", "User", "Group",
                            "UMask", "Environment", "LoadCredential"],
    "ppsync-household.service": ["ExecStart", "RequiresMountsFor", "ReadWritePaths", "User",
                                 "Group", "UMask", "Environment", "LoadCredential",
                                 "WatchdogSec", "RestartSec"],
    "ppsync.timer": ["OnCalendar", "RandomizedDelaySec"],
}


@pytest.mark.parametrize("name", UNIT_NAMES)
def test_lines_users_change_are_explained(units: dict[str, list[Setting]], name: str):
    for setting in units[name]:
        if setting.key in CHANGEABLE[name]:
            assert any("CHANGE" in c for c in setting.comments), f"{name}: {setting.key}"


def test_unit_parser_keeps_repeated_keys_and_comment_blocks(tmp_path: Path):
    unit = tmp_path / "x.service"
    unit.write_text("[Service]\n# CHANGE: a\nEnvironment=A=1\nEnvironment=B=2\n\nType=simple\n")
    settings = parse_unit(unit)
    assert values(settings, "Service", "Environment") == ["A=1", "B=2"]
    assert settings[1].comments == ["# CHANGE: a"]
    assert settings[2].comments == []


# --- .ci/systemd-verify -----------------------------------------------------------------------

needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)


def run_verify(*args: str) -> subprocess.CompletedProcess[str]:
    # The units name /usr/local/bin/ppsync; the script substitutes the ppsync found on PATH,
    # so put this interpreter's scripts folder (the venv's) first.
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run(["bash", str(VERIFY_SCRIPT), *args], capture_output=True, text=True,
                          env=env, timeout=120, check=False)


@needs_systemd_analyze
def test_systemd_verify_accepts_the_units():
    result = run_verify()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout


def _exposure_checked() -> bool:
    help_text = subprocess.run(["systemd-analyze", "security", "--help"], capture_output=True,
                               text=True, check=False).stdout
    return "--offline" in help_text


@needs_systemd_analyze
@pytest.mark.parametrize(
    ("unit", "old", "new", "expected"),
    [
        ("ppsync.service", "ProtectSystem=strict", "ProtectSytem=strict", "ProtectSytem"),
        ("ppsync.service", "Type=notify", "Type=notfy", "notfy"),
        ("ppsync-once.service", "ExecStart=/usr/local/bin/ppsync",
         "ExecStart=/nonexistent/ppsync", "/nonexistent/ppsync"),
        ("ppsync.timer", "OnCalendar=", "OnCalendar=25:99 ", "calendar"),
        ("ppsync.timer", "Unit=ppsync-once.service", "Unit=ppsync-onec.service", "ppsync-onec"),
        ("ppsync.service", "\nMemoryDenyWriteExecute=yes\nSystemCallArchitectures=native\n"
         "SystemCallFilter=@system-service\n", "\n", "exposure"),
    ],
    ids=["unknown-key", "bad-value", "missing-binary", "bad-calendar", "timer-unit", "hardening"],
)
def test_systemd_verify_rejects_a_broken_unit(
    tmp_path: Path, unit: str, old: str, new: str, expected: str
):
    if expected == "exposure" and not _exposure_checked():
        pytest.skip("this systemd-analyze cannot rate exposure offline")
    for name in UNIT_NAMES:
        shutil.copy(UNITS / name, tmp_path / name)
    text = (tmp_path / unit).read_text()
    assert old in text, f"the test's edit no longer applies to {unit}: {old!r}"
    (tmp_path / unit).write_text(text.replace(old, new, 1))
    result = run_verify(str(tmp_path))
    assert result.returncode != 0, result.stdout + result.stderr
    assert expected in result.stdout + result.stderr


# --- compose example, read as Compose reads it ------------------------------------------------


def _compose() -> dict[str, Any]:
    import yaml

    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _header_commands() -> list[str]:
    """The shell commands the compose file's header tells a user to run, in order."""
    lines = []
    for line in COMPOSE.read_text().splitlines():
        if not line.startswith("#"):
            break
        if line.startswith("#   "):
            lines.append(line[4:].split("  #")[0].strip())
    return lines


def test_compose_example_runs_from_where_its_header_says() -> None:
    compose = _compose()
    # docker-compose 1.29 (Debian 12) rejects a top-level name:
    assert set(compose) <= {"services", "secrets", "volumes", "networks", "configs"}, set(compose)
    commands = _header_commands()
    assert commands[0] == "cd docker", commands  # where Compose resolves relative paths
    cwd = ROOT / "docker"
    assert cwd == COMPOSE.parent
    # Every compose command names the file as seen from there.
    for command in (c for c in commands if c.startswith("docker compose")):
        assert f"-f {COMPOSE.name} " in command, command
    # The secret the header writes is the file the secrets: section mounts.
    written = [m for c in commands for m in re.findall(r"> (\S+)", c)]
    secret_file = compose["secrets"]["photoprism_password"]["file"]
    assert [(cwd / w).resolve() for w in written] == [(cwd / secret_file).resolve()], written
    made = [m for c in commands for m in re.findall(r"mkdir -p (\S+)", c)]
    assert (cwd / secret_file).resolve().parent in [(cwd / m).resolve() for m in made]
    # The build context is the repository, with the Dockerfile and what it copies.
    context = (cwd / compose["services"]["ppsync"]["build"]["context"]).resolve()
    assert context == ROOT and (context / "Dockerfile").is_file()
    assert (context / "docker" / "entrypoint.sh").is_file()


def test_compose_example_sets_the_runtime_user_and_safe_mounts() -> None:
    ppsync = _compose()["services"]["ppsync"]
    env = ppsync["environment"]
    # PUID/PGID at run time (not build args), never 0, and not as --user (which ignores them).
    assert int(env["PUID"]) > 0 and int(env["PGID"]) > 0
    assert "args" not in ppsync["build"] and "user" not in ppsync
    assert env["PPSYNC_SERVER__PASSWORD_FILE"] == "/run/secrets/photoprism_password"
    assert ppsync["secrets"] == ["photoprism_password"]
    mirror = next(v for v in ppsync["volumes"] if isinstance(v, dict) and v["target"] == "/mirror")
    assert mirror["type"] == "bind" and mirror["bind"]["create_host_path"] is False
    assert "ppsync-state:/state" in ppsync["volumes"]
    assert ppsync["init"] is True
    # Docker keeps every line unless told: the example caps the log.
    assert ppsync["logging"]["options"]["max-size"]
