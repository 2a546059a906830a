"""A household's libraries in one config: [libraries.NAME.*] over the top-level defaults, key by
key; each library's own credentials (file, systemd credential, environment); errors that name
the library and the key; and a config without [libraries] read exactly as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from ppsync.config import load_config
from ppsync.config.choose import worst
from ppsync.config.libraries import load_household
from ppsync.config.quick import quick_config, quick_libraries
from ppsync.errors import ConfigError
from tests.conftest import run_cli

KEY_A = "anna-key-0123456789abcdef"
KEY_C = "cleo-key-0123456789abcdef"


def household_toml(tmp_path: Path, extra: str = "") -> Path:
    """Anna (Immich, key in a file), Ben (PhotoPrism, password), Cleo (Immich, systemd
    credential or environment): the issue's example, with shared defaults on top."""
    (tmp_path / "anna.key").write_text(KEY_A + "\n")
    path = tmp_path / "ppsync.toml"
    path.write_text(f"""
[schedule]
interval = "15m"
full_every = "6h"

[mirror]
workers = 2
delete = "trash"

[libraries.anna.server]
kind = "immich"
url = "http://nas:2283"
api_key_file = "anna.key"

[libraries.anna.mirror]
target = "photos/anna"

[libraries.ben.server]
url = "http://nas:2342"
password = "ben-pw"

[libraries.ben.mirror]
target = "photos/ben"
workers = 6

[libraries.ben.schedule]
interval = "1h"

[libraries.cleo.server]
kind = "immich"
url = "http://nas:2283"

[libraries.cleo.mirror]
target = "photos/cleo"
{extra}""")
    return path


def test_sections_override_the_defaults_key_by_key(tmp_path: Path) -> None:
    household = load_household(household_toml(tmp_path), {"PPSYNC_LIBRARIES__CLEO__SERVER__"
                                                           "API_KEY": KEY_C})
    assert household.names == ["anna", "ben", "cleo"] and household.several
    anna, ben, cleo = (lib.settings for lib in household.libraries)
    assert anna.server.kind == "immich" and anna.server.api_key.get_secret_value() == KEY_A
    assert anna.mirror.target == tmp_path / "photos/anna"  # beside the config, as always
    assert (anna.mirror.workers, ben.mirror.workers, cleo.mirror.workers) == (2, 6, 2)
    assert {anna.mirror.delete, ben.mirror.delete} == {"trash"}  # a default key kept
    assert (anna.schedule.interval, ben.schedule.interval) == ("15m", "1h")
    assert ben.schedule.full_every == "6h"  # the rest of [schedule] still the default's
    assert cleo.server.api_key.get_secret_value() == KEY_C
    assert ben.mirror.state_path == tmp_path / "photos/ben/.ppsync/state.db"


def test_systemd_credentials_are_named_after_the_library(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "cleo.api_key").write_text(KEY_C)
    (creds / "api_key").write_text("the-bare-name-is-no-library-s-key")
    household = load_household(household_toml(tmp_path), {"CREDENTIALS_DIRECTORY": str(creds)})
    cleo = household.libraries[2].settings
    assert cleo.server.api_key.get_secret_value() == KEY_C
    # Anna's file wins over any credential; the bare name is given to no library.
    assert household.libraries[0].settings.server.api_key.get_secret_value() == KEY_A


def test_environment_per_library_wins_and_top_level_is_a_default(tmp_path: Path) -> None:
    environ = {"PPSYNC_LIBRARIES__CLEO__SERVER__API_KEY": KEY_C,
               "PPSYNC_MIRROR__WORKERS": "3",  # a default: Ben's file sets workers = 6
               "PPSYNC_LIBRARIES__BEN__MIRROR__MAX_DELETE": "7"}
    anna, ben, cleo = (lib.settings for lib in load_household(household_toml(tmp_path),
                                                               environ).libraries)
    assert (anna.mirror.workers, ben.mirror.workers, cleo.mirror.workers) == (3, 6, 3)
    assert (anna.mirror.max_delete, ben.mirror.max_delete) == (100, 7)


def test_a_missing_secret_names_the_library_and_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_household(household_toml(tmp_path), {})
    assert any(p.startswith("libraries.cleo.server.api_key: no credentials") for p in
               caught.value.problems), caught.value.problems
    assert not any("anna" in p or "ben" in p for p in caught.value.problems)


@pytest.mark.parametrize(("extra", "expected"), [
    ('[libraries.dora.server]\nurl = "http://x:2342"\npassword = "p"\n'
     '[libraries.dora.mirror]\ntarget = "photos/anna"\n',
     "libraries.dora.mirror.target: "),
    ('[libraries.dora.server]\nurl = "http://x:2342"\npassword = "p"\n'
     '[libraries.dora.mirror]\ntarget = "photos/anna/dora"\n',
     "libraries.dora.mirror.target: "),
    ('[libraries.dora.server]\nurl = "http://x:2342"\npassword = "p"\n'
     '[libraries.dora.mirror]\ntarget = "photos/dora"\nstate = "photos/ben/.ppsync/state.db"\n',
     "libraries.dora.mirror.state: "),
    ('[libraries.ben.upload]\nenabled = true\ninbox = "photos/anna/inbox"\n',
     "libraries.ben.upload.inbox: "),
    ('[libraries.ben.mirror.extra]\n', "libraries.ben.mirror.extra: unknown key"),
    ('[libraries.ben.colour]\nx = 1\n', "libraries.ben.colour: unknown key"),
    ('[libraries.ben.log]\nlevel = "debug"\n', "libraries.ben.log: set [log] at the top level"),
    ('[libraries.ben.monitor]\nlisten = ":9108"\n',
     "libraries.ben.monitor.listen: set [monitor] listen at the top level"),
    ('[libraries.cleo.schedule]\npasses_at_once = 3\n',
     "libraries.cleo.schedule.passes_at_once: set"),
    ('[libraries.Ben]\nserver = {}\n', "libraries.Ben: a library name is"),
    ('[libraries.ben.mirror]\nworkers = 99\n', "libraries.ben.mirror.workers: "),
])
def test_config_errors_name_the_library_and_the_key(tmp_path: Path, extra: str,
                                                    expected: str) -> None:
    path = household_toml(tmp_path, extra)
    if "libraries.ben.mirror]" in extra:  # a second [libraries.ben.mirror] table: merge it
        text = path.read_text().replace('[libraries.ben.mirror]\ntarget = "photos/ben"\n'
                                        'workers = 6\n', "")
        path.write_text(text.replace("[libraries.ben.mirror]\n",
                                     '[libraries.ben.mirror]\ntarget = "photos/ben"\n'))
    with pytest.raises(ConfigError) as caught:
        load_household(path, {"PPSYNC_LIBRARIES__CLEO__SERVER__API_KEY": KEY_C})
    assert any(p.startswith(expected) for p in caught.value.problems), caught.value.problems


def test_cli_names_an_unknown_library_and_asks_which_for_one_library_commands(
        tmp_path: Path) -> None:
    path = household_toml(tmp_path)
    env = {"PPSYNC_LIBRARIES__CLEO__SERVER__API_KEY": KEY_C}
    for args in (["status", "--library", "zed"], ["sync", "--library", "zed"],
                 ["health", "--library", "anna", "--library", "zed"]):
        result = run_cli(path, *args, env=env)
        assert result.returncode == 2, result
        assert "--library zed: no such library (the config has anna, ben, cleo)" in \
            result.stderr
        assert "Traceback" not in result.stderr
    for command in (["upload"], ["plan"], ["restore", "--to", "server"]):
        result = run_cli(path, *command, env=env)
        assert result.returncode == 2
        assert f"{command[0]}: works on one library; name it with --library" in result.stderr


def test_a_config_without_libraries_is_one_library_as_before(tmp_path: Path) -> None:
    path = tmp_path / "ppsync.toml"
    path.write_text('[server]\nurl = "http://nas:2342"\npassword = "p"\n'
                    '[mirror]\ntarget = "photos"\n')
    household = load_household(path, {})
    assert not household.several and household.names == [""]
    assert household.libraries[0].settings == load_config(path, {})
    assert quick_libraries(path, {}) == [("", quick_config(path, {}))]
    result = run_cli(path, "status", "--library", "anna")
    assert result.returncode == 2 and "this config has no [libraries]" in result.stderr


def test_status_and_health_read_every_library(tmp_path: Path) -> None:
    quick = quick_libraries(household_toml(tmp_path), {})  # no secret needed
    assert [name for name, _ in quick] == ["anna", "ben", "cleo"]
    assert quick[1][1].schedule.interval == "1h"
    assert quick[2][1].mirror.state_path == tmp_path / "photos/cleo/.ppsync/state.db"


def test_the_worst_exit_code_wins() -> None:
    assert worst([0, 1, 0]) == 1
    assert worst([1, 5, 3]) == 3  # a server down outranks a busy lock
    assert worst([3, 4, 0]) == 4  # a safety stop needs a person
    assert worst([4, 130]) == 130
    assert worst([]) == 0


def test_the_example_household_loads_once_uncommented(tmp_path: Path) -> None:
    """The [libraries] example of config.example.toml, uncommented, is a valid household."""
    text = (Path(__file__).parents[1] / "config.example.toml").read_text()
    start, end = text.index("# [libraries.anna.server]"), text.index("# Other servers")
    block = "\n".join(line[2:] for line in text[start:end].splitlines()
                      if line.startswith("# ") and not line.startswith("#  "))
    block = block.replace("/backup/photos", str(tmp_path / "photos"))
    for name in ("anna", "ben"):
        (tmp_path / name).write_text(f"secret0{name}\n")
        block = block.replace(f"/run/secrets/{name}", str(tmp_path / name))
    head = text[:text.index("[server]")]
    rest = text[text.index("[log]"):start]  # the top-level defaults, without [server]/[mirror]
    path = tmp_path / "ppsync.toml"
    path.write_text(head + rest + block + "\n")
    household = load_household(path, {})
    assert household.names == ["anna", "ben"]
    anna, ben = (lib.settings for lib in household.libraries)
    assert anna.server.kind == "immich" and ben.server.kind == "photoprism"
    assert ben.server.client_secret.get_secret_value() == "secret0ben"
    assert (anna.schedule.interval, ben.schedule.interval) == ("15m", "1h")


def test_the_docker_and_systemd_household_examples_agree_with_the_config(
        tmp_path: Path) -> None:
    """docker/household.example.toml loads; each member's secret is one the compose example
    provides, and each systemd credential is named after a library of that config."""
    import re

    import yaml

    root = Path(__file__).parents[1]
    text = (root / "docker" / "household.example.toml").read_text()
    compose = yaml.safe_load((root / "docker" / "compose.household.example.yaml").read_text())
    secrets = set(compose["secrets"])
    assert set(compose["services"]["ppsync"]["secrets"]) == secrets
    for name in secrets:
        (tmp_path / name).write_text("secret0value\n")
    for folder in ("mirror", "state"):
        (tmp_path / folder).mkdir()
    for old, new in (("/run/secrets/", f"{tmp_path}/"), ('"/mirror/', f'"{tmp_path}/mirror/'),
                     ('"/state/', f'"{tmp_path}/state/')):
        text = text.replace(old, new)
    path = tmp_path / "ppsync.toml"
    path.write_text(text)
    household = load_household(path, {"PPSYNC_MIRROR__TARGET": "/mirror",  # the image's ENV
                                      "PPSYNC_MIRROR__STATE": "/state/state.db"})
    assert household.names == ["anna", "ben"]
    states = {lib.settings.mirror.state_path for lib in household.libraries}
    assert states == {tmp_path / "state/anna.db", tmp_path / "state/ben.db"}
    unit = (root / "systemd" / "ppsync-household.service").read_text()
    credentials = re.findall(r"^LoadCredential=([\w.-]+):", unit, flags=re.M)
    assert credentials and {c.split(".")[0] for c in credentials} <= set(household.names)
    assert all(c.split(".")[1] in ("api_key", "password", "token", "client_secret")
               for c in credentials)


def test_a_library_may_have_its_own_alerts(tmp_path: Path) -> None:
    """A Healthchecks.io check per member: [libraries.NAME.monitor] ping_url over the default."""
    extra = ('[monitor]\nping_url = "https://hc.example/household"\nlisten = "127.0.0.1:9108"\n'
             '[libraries.ben.monitor]\nping_url = "https://hc.example/ben"\n')
    path = household_toml(tmp_path)
    path.write_text(extra + path.read_text())
    household = load_household(path, {"PPSYNC_LIBRARIES__CLEO__SERVER__API_KEY": KEY_C})
    pings = {lib.name: lib.settings.monitor.ping_url for lib in household.libraries}
    assert pings == {"anna": "https://hc.example/household", "ben": "https://hc.example/ben",
                     "cleo": "https://hc.example/household"}
    assert {lib.settings.monitor.listen for lib in household.libraries} == {"127.0.0.1:9108"}
