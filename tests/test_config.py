"""Config: every problem at once with its key, env over file, secrets from files, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ppsync.config import load_config
from ppsync.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ppsync.toml"
    path.write_text(text)
    return path


def test_example_config_loads() -> None:
    settings = load_config(REPO / "config.example.toml", {"PPSYNC_SERVER__PASSWORD": "pw"})
    assert settings.server.url == "http://127.0.0.1:2342"
    assert settings.mirror.delete == "keep"
    assert settings.mirror.page_size == 1000
    assert settings.mirror.include_archived is True  # an archived photo is still the user's


def test_example_immich_section_loads_once_uncommented(tmp_path: Path) -> None:
    text = (REPO / "config.example.toml").read_text()
    start, end = text.index("# >>> immich"), text.index("# <<< immich")
    lines = [line[2:] for line in text[start:end].splitlines()
             if line.startswith("# ") and not line.startswith("#  ")]
    section = "\n".join(lines[lines.index("[server]"):])
    # The Immich section replaces PhotoPrism's [server] keys; the rest of the file stays.
    path = write(tmp_path, text[:text.index("[server]\n")] + section + "\n" + text[end:])
    settings = load_config(path, {"PPSYNC_SERVER__API_KEY": "k" * 20})
    assert settings.server.kind == "immich" and settings.server.url.endswith(":2283")
    assert settings.server.api_key.get_secret_value() == "k" * 20
    assert settings.mirror.include_archived is True  # unset: an Immich archive is mirrored


@pytest.mark.parametrize(("kind", "given", "expected"), [
    ("photoprism", "", True), ("immich", "", True),
    ("photoprism", "include_archived = false", False),
    ("immich", "include_archived = false", False)])
def test_include_archived_is_on_for_both_kinds_and_an_explicit_value_wins(
        tmp_path: Path, kind: str, given: str, expected: bool) -> None:
    secret = "api_key" if kind == "immich" else "password"
    path = write(tmp_path, f"""
[server]
kind = "{kind}"
url = "http://127.0.0.1:1"
{secret} = "{"k" * 20}"
[mirror]
target = "{tmp_path}"
{given}
""")
    assert load_config(path, {}).mirror.include_archived is expected


def test_every_problem_is_reported_at_once_with_its_key(tmp_path: Path) -> None:
    path = write(tmp_path, """
[server]
url = "ftp://photos"
pasword = "typo"
[mirror]
target = "/srv/m"
delete = "sometimes"
workers = 0
page_size = 200000
[logs]
level = "loud"
""")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    keys = {problem.split(":")[0] for problem in caught.value.problems}
    assert {"server.url", "server.pasword", "mirror.delete", "mirror.workers",
            "mirror.page_size", "logs"} <= keys


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[server]\nurl = "http://a"\npassword = "file"\n'
                           '[mirror]\ntarget = "m"\nworkers = 2\n')
    settings = load_config(path, {"PPSYNC_MIRROR__WORKERS": "7",
                                  "PPSYNC_SERVER__PASSWORD": "env"})
    assert settings.mirror.workers == 7
    assert settings.server.password.get_secret_value() == "env"
    assert settings.mirror.target == tmp_path / "m"  # relative to the config file


def test_config_from_env_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_config(None, {"PPSYNC_SERVER__URL": "http://x", "PPSYNC_SERVER__PASSWORD":
                                  "p", "PPSYNC_MIRROR__TARGET": "/srv/m"})
    assert str(settings.mirror.target) == "/srv/m"


def test_secret_files_and_systemd_credentials(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    path = write(tmp_path, f'[server]\nurl = "http://a"\npassword_file = "{secret}"\n'
                           '[mirror]\ntarget = "/m"\n')
    assert load_config(path, {}).server.password.get_secret_value() == "from-file"

    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "token").write_text("DIbS8T-uyGMe1-R3fmTv-vVaR35")
    path = write(tmp_path, '[server]\nurl = "http://a"\n[mirror]\ntarget = "/m"\n')
    settings = load_config(path, {"CREDENTIALS_DIRECTORY": str(creds)})
    assert settings.server.token.get_secret_value() == "DIbS8T-uyGMe1-R3fmTv-vVaR35"
    assert "DIbS8T" not in repr(settings)


def test_missing_secret_and_both_forms_are_errors(tmp_path: Path) -> None:
    path = write(tmp_path, '[server]\nurl = "http://a"\npassword = "x"\n'
                           'password_file = "/nonexistent"\n[mirror]\ntarget = "/m"\n')
    with pytest.raises(ConfigError, match=r"server\.password_file"):
        load_config(path, {})
    path = write(tmp_path, '[server]\nurl = "http://a"\n[mirror]\ntarget = "/m"\n')
    with pytest.raises(ConfigError, match=r"server\.password"):
        load_config(path, {})


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ppsync", *args], capture_output=True,
                          text=True, env=env or {"PATH": "/usr/bin:/bin"}, timeout=60)


def test_cli_reports_bad_config_without_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, '[server]\nurl = "nope"\n[mirror]\nworkers = "many"\n')
    result = run_cli("--config", str(path), "check")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "server.url" in result.stderr and "mirror.workers" in result.stderr
    assert "mirror.target" in result.stderr

    path.write_text("[server\nurl=")
    result = run_cli("--config", str(path), "sync")
    assert result.returncode == 2 and "not valid TOML" in result.stderr

    result = run_cli("--config", str(tmp_path / "missing.toml"), "sync")
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_cli_help_lists_commands_and_exit_codes() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for word in ("sync", "plan", "status", "verify", "check", "exit codes", "safety stop"):
        assert word in result.stdout


def test_example_servers_section_loads_once_uncommented(tmp_path: Path) -> None:
    text = (REPO / "config.example.toml").read_text()
    block = text[text.index("# [servers.fresh]"):]
    uncommented = "\n".join(line[2:] for line in block.splitlines()
                            if line.startswith("# ") and not line.startswith("#  "))
    (tmp_path / "new-password").write_text("pw\n")
    uncommented = uncommented.replace("/etc/ppsync/new-password", str(tmp_path / "new-password"))
    path = write(tmp_path, text[:text.index("# [servers.fresh]")] + uncommented + "\n")
    settings = load_config(path, {"PPSYNC_SERVER__PASSWORD": "pw"})
    fresh = settings.servers["fresh"]
    assert fresh.originals_path == Path("/mnt/new-photoprism/originals")
