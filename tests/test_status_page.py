"""The status page (``[monitor] listen``): ``/`` shows a person what the daemon did (health, the
last passes with their outcome and why, the next run, the mirror, free disk, what is set aside,
the files that failed), ``/status.json`` the same data; read-only, no secret, and no request
to the photo server. A real headless Chromium loads it from a running daemon, and a screenshot
is kept where CI keeps its artifacts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ConfigFactory
from tests.kinds import Library
from tests.test_daemon import free_port, start_daemon, stop, wait_for

ARTIFACTS = Path(os.environ.get("PPSYNC_ARTIFACTS", Path(__file__).parent.parent / "artifacts"))


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def status(base: str) -> dict[str, Any]:
    code, body = fetch(f"{base}/status.json")
    assert code == 200, body
    return dict(json.loads(body))


def finished_runs(base: str) -> list[dict[str, Any]]:
    try:
        return [r for r in status(base)["runs"] if r["outcome"] != "running or cut short"]
    except OSError:  # the daemon is not listening yet
        return []


def test_the_page_shows_passes_failures_and_the_mirror_without_asking_the_server(
        lib: Library, target: Path, lib_config: ConfigFactory) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    lib.add("2024/05/a.jpg", b"a" * 2000)
    config = lib_config(schedule={"interval": "1s", "full_every": "1h"},
                        monitor={"listen": f"127.0.0.1:{port}"})
    (target / ".ppsync" / "trash").mkdir(parents=True)
    (target / ".ppsync" / "trash" / "old.jpg").write_bytes(b"x" * 300)
    proc = start_daemon(config)
    try:
        wait_for(lambda: any(r["outcome"] == "ok" for r in finished_runs(base)))
        first = status(base)
        assert first["healthy"] is True and first["mirror"] == {"files": 1, "bytes": 2000}
        assert first["set_aside"]["files"] == 1 and first["set_aside"]["bytes"] == 300
        assert first["disk"]["free"] > 0 and first["next_run"]
        # A file whose bytes never match: the next passes fail, and say which file and why.
        lib.corrupt_next_downloads(10**6)
        lib.add("2024/05/b.jpg", b"b" * 500)
        wait_for(lambda: any(r["outcome"] == "failed (exit 1)" for r in finished_runs(base)))
        after = status(base)
        assert after["healthy"] is False
        assert any("b.jpg" in f["path"] and "SHA-1" in f["reason"] for f in after["failures"])
        lib.reset_counters()
        code, page = fetch(f"{base}/")
        assert code == 200
        assert "Unhealthy" in page and "failed (exit 1)" in page and "b.jpg" in page
        assert 'http-equiv="refresh"' in page and "<script" not in page
        assert lib.request_count() == 0  # the page asked the photo server nothing
        posted = urllib.request.Request(f"{base}/", data=b"x", method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(posted, timeout=10)
        assert refused.value.code == 501  # read-only
    finally:
        code, err = stop(proc)
    assert code == 0, err
    secret = next((str(v) for k, v in lib.server_section().items()
                   if k in ("password", "api_key")), "")
    assert secret and secret not in page and secret not in json.dumps(after)


def browser() -> str | None:
    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)


@pytest.mark.parametrize("server_kind", ["photoprism"])
def test_a_real_browser_shows_a_person_the_health_and_the_last_passes(
        lib: Library, target: Path, lib_config: ConfigFactory, tmp_path: Path) -> None:
    chromium = browser()
    if chromium is None:
        pytest.skip("no Chromium here (.ci/run installs Debian's chromium)")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    lib.add("2024/05/a.jpg", b"a" * 2000)
    config = lib_config(schedule={"interval": "1h"}, monitor={"listen": f"127.0.0.1:{port}"})
    proc = start_daemon(config)
    try:
        wait_for(lambda: any(r["outcome"] == "ok" for r in finished_runs(base)))
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 f"--user-data-dir={tmp_path / 'chromium'}", "--window-size=1100,800"]
        # --dump-dom prints the page as the browser built it: what a person sees, as text.
        dom = subprocess.run([chromium, *flags, "--dump-dom", f"{base}/"], capture_output=True,
                             text=True, timeout=120)
        assert dom.returncode == 0, dom.stderr[-2000:]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "status-page.png"
        shot.unlink(missing_ok=True)
        taken = subprocess.run([chromium, *flags, f"--screenshot={shot}", f"{base}/"],
                               capture_output=True, text=True, timeout=120)
    finally:
        code, err = stop(proc)
    assert code == 0, err
    text = dom.stdout
    assert "<title>ppsync: healthy</title>" in text
    assert "Healthy" in text and "with exit 0" in text  # the health line, in words
    assert "1 files, 2.0 KiB" in text  # the mirror
    assert "Free disk space" in text and "Next run" in text
    assert ">ok<" in text.replace("</td>", "<")  # the pass, with its outcome
    assert taken.returncode == 0 and shot.is_file() and shot.stat().st_size > 1000, \
        taken.stderr[-2000:]
