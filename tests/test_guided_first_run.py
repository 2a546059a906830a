"""``ppsync init`` writes a first config that works, against either kind of server: asked on a
terminal or taken from flags, checked against the server before it is kept, the secret in a
file of its own, both mode 0600, nothing else created, and never an existing config replaced
unless told to."""

from __future__ import annotations

import os
import pty
import select
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ppsync.config import load_config
from tests.conftest import mirrored_files, run_cli
from tests.fake_immich import FakeImmich
from tests.kinds import Library


def init(folder: Path, *flags: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``ppsync --config <folder>/ppsync.toml init ...`` in a subprocess (no terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "ppsync", "--config", str(folder / "ppsync.toml"), "init",
         *flags], input=stdin, capture_output=True, text=True, timeout=120,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, cwd=folder)


def login_flags(server: dict[str, Any]) -> tuple[list[str], str]:
    """The init flags and the secret for a ``Library.server_section()``."""
    flags = ["--kind", server.get("kind", "photoprism"), "--url", server["url"]]
    if "api_key" in server:
        return flags, server["api_key"]
    return [*flags, "--username", server["username"]], server["password"]


def listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_flags_write_a_private_config_and_secret_that_sync_then_uses(
        lib: Library, tmp_path: Path) -> None:
    folder, target = tmp_path / "etc", tmp_path / "mirror"
    folder.mkdir()
    key = lib.add("2024/05/a.jpg", b"a" * 300)
    flags, secret = login_flags(lib.server_section())
    result = init(folder, *flags, "--target", str(target), "--secret-file", "-",
                  stdin=secret + "\n")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    secret_name = "ppsync.api_key" if lib.kind == "immich" else "ppsync.password"
    assert listing(folder) == {"ppsync.toml", secret_name}  # and no scratch left behind
    assert mode(folder / "ppsync.toml") == 0o600 and mode(folder / secret_name) == 0o600
    assert (folder / secret_name).read_text().strip() == secret
    assert secret not in (folder / "ppsync.toml").read_text() and secret not in out
    assert not target.exists()  # never created: the user creates or mounts it
    assert f"create {target}" in out and "mount the disk" in out
    assert f"next: ppsync --config {folder / 'ppsync.toml'} sync" in out
    settings = load_config(folder / "ppsync.toml", {})
    assert settings.server.kind == lib.kind and settings.metadata.sidecars == "json"
    assert settings.mirror.target == target
    # The config works as written, from another folder (the secret file is found beside it).
    target.mkdir()
    synced = run_cli(folder / "ppsync.toml", "sync")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert list(mirrored_files(target).values()).count(b"a" * 300) == 1, key


def test_a_refused_login_writes_nothing(lib: Library, tmp_path: Path) -> None:
    flags, secret = login_flags(lib.refused_section())
    result = init(tmp_path, *flags, "--target", str(tmp_path / "m"), "--secret-file", "-",
                  stdin=secret + "\n")
    assert result.returncode == 3, result.stdout + result.stderr
    assert listing(tmp_path) == set()
    assert secret not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_server_writes_nothing_and_says_so(tmp_path: Path) -> None:
    result = init(tmp_path, "--kind", "immich", "--url", "http://127.0.0.1:9",
                  "--target", str(tmp_path / "m"), "--secret-file", "-", stdin="k" * 40 + "\n")
    assert result.returncode != 0
    assert "cannot reach http://127.0.0.1:9" in result.stderr
    assert listing(tmp_path) == set() and "Traceback" not in result.stderr


def test_an_existing_config_is_kept_unless_forced(lib: Library, tmp_path: Path) -> None:
    (tmp_path / "ppsync.toml").write_text("# mine\n")
    flags, secret = login_flags(lib.server_section())
    args = [*flags, "--target", str(tmp_path / "m"), "--secret-file", "-"]
    refused = init(tmp_path, *args, stdin=secret + "\n")
    assert refused.returncode == 2 and "exists; it is left as it is" in refused.stderr
    assert (tmp_path / "ppsync.toml").read_text() == "# mine\n"
    forced = init(tmp_path, *args, "--force", stdin=secret + "\n")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "[server]" in (tmp_path / "ppsync.toml").read_text()


def test_off_a_terminal_every_missing_answer_is_named_at_once(tmp_path: Path) -> None:
    result = init(tmp_path, "--kind", "immich")
    assert result.returncode == 2
    for flag in ("--url", "--secret-file", "--target"):
        assert f"init: {flag} is needed" in result.stderr
    assert listing(tmp_path) == set()


def test_an_existing_secret_file_is_named_not_copied(tmp_path: Path) -> None:
    with FakeImmich() as fake:
        secret_file = tmp_path / "secrets" / "anna"
        secret_file.parent.mkdir()
        secret_file.write_text(fake.add_key() + "\n")
        folder = tmp_path / "etc"
        folder.mkdir()
        result = init(folder, "--kind", "immich", "--url", fake.url, "--target",
                      str(tmp_path / "m"), "--secret-file", str(secret_file))
        assert result.returncode == 0, result.stdout + result.stderr
        assert listing(folder) == {"ppsync.toml"}
        assert f'api_key_file = "{secret_file}"' in (folder / "ppsync.toml").read_text()


def test_a_key_that_cannot_do_the_chosen_work_is_named_and_exits_3(tmp_path: Path) -> None:
    with FakeImmich(generation="v3") as fake:  # a v1.135 key has every permission
        key = fake.add_key(("asset.read", "user.read"))
        result = init(tmp_path, "--kind", "immich", "--url", fake.url, "--target",
                      str(tmp_path / "m"), "--secret-file", "-", stdin=key + "\n")
    out = result.stdout + result.stderr
    assert result.returncode == 3, out
    assert "cannot serve" in out and "asset.download" in out
    assert f"run: ppsync --config {tmp_path / 'ppsync.toml'} check" in out
    assert (tmp_path / "ppsync.toml").is_file()  # written: the key, not the config, is wrong


def read_until(fd: int, wanted: str, seen: list[str], timeout: float = 60) -> None:
    """Read the terminal until ``wanted`` appears (the prompt we answer), or fail."""
    deadline = time.monotonic() + timeout
    while wanted not in "".join(seen):
        left = deadline - time.monotonic()
        assert left > 0, f"never asked {wanted!r}; saw {''.join(seen)!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096).decode(errors="replace")
            except OSError:  # the child closed the terminal
                chunk = ""
            assert chunk, f"ended before asking {wanted!r}; saw {''.join(seen)!r}"
            seen.append(chunk)


def test_on_a_terminal_it_asks_for_each_answer_and_hides_the_secret(tmp_path: Path) -> None:
    with FakeImmich() as fake:
        key = fake.add_key()
        target = tmp_path / "mirror"
        target.mkdir()
        pid, fd = pty.fork()
        if pid == 0:  # the child: ppsync on a real terminal
            os.chdir(tmp_path)
            os.execv(sys.executable, [sys.executable, "-m", "ppsync", "init"])
        seen: list[str] = []
        answers = [("Server kind", "immich"), ("Server address", fake.url),
                   ("E-mail to log in with", ""), ("The api key (not shown)", key),
                   ("Mirror folder", str(target)), ("Metadata sidecars", "both"),
                   ("Album folders", "symlink"), ("Folder of new photos", "")]
        for prompt, answer in answers:
            read_until(fd, prompt, seen)
            seen.clear()
            os.write(fd, (answer + "\n").encode())
        read_until(fd, "next: ppsync", seen)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, "".join(seen)
    assert key not in "".join(seen)  # not echoed
    settings = load_config(tmp_path / "ppsync.toml", {})
    assert settings.server.api_key.get_secret_value() == key
    assert settings.metadata.sidecars == "both" and settings.albums.mode == "symlink"
    assert settings.upload.enabled is False and settings.mirror.target == target


@pytest.mark.parametrize("relative", ["secret.txt", "./sub/../secret.txt"])
def test_a_relative_secret_file_is_read_beside_the_config_whatever_the_working_folder(
        tmp_path: Path, relative: str) -> None:
    with FakeImmich() as fake:
        folder = tmp_path / "etc"
        (folder / "sub").mkdir(parents=True)
        (folder / "secret.txt").write_text(fake.add_key())
        (tmp_path / "m").mkdir()
        (folder / "ppsync.toml").write_text(
            f'[server]\nkind = "immich"\nurl = "{fake.url}"\napi_key_file = "{relative}"\n'
            f'[mirror]\ntarget = "{tmp_path / "m"}"\n')
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        result = subprocess.run([sys.executable, "-m", "ppsync", "--config",
                                 str(folder / "ppsync.toml"), "check"], cwd=elsewhere,
                                capture_output=True, text=True, timeout=120,
                                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
        assert result.returncode == 0, result.stdout + result.stderr
