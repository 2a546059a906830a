#!/usr/bin/env python3
"""Speed and memory of ppsync against a bare client, side by side on the same fake server.

Prints, in one run:
  1. no-op re-sync of a 20,000-file library vs a bare client paging the same listing (curl),
     with ppsync's peak RSS; then peak RSS of no-op re-syncs at 10,000 and 100,000 files.
  2. full mirror of 40 x 8 MB files vs 4 parallel curl downloads of the same URLs.
  3. bytes served across repeated SIGKILLs of a large sync vs the library size (resume works).
  4. daemon change passes on a 100,000-file library: requests and time with nothing changed,
     and with 100 changes, against a full walk (the daemon keeps one logged-in session).
  5. a no-op run with album folders and metadata sidecars on, against one without.
  6. a daemon's RSS over 200 passes (every 4 s a full walk) on a 3,000-photo library.
  7. full mirror of 5,000 files of ~20 KB vs a bare verified, durable client on the same URLs:
     one `curl --parallel --parallel-max 4` process fed the URL list by a config file, then
     `sha1sum` of every file and one `sync`.
  8. the same for 40 x 8 MB, with CPU seconds per GB mirrored against the floor (`sha1sum` and
     `cat > file` of the same bytes).
  9. CLI start-up: `ppsync --version`, `--help`, `status`, `health`, wall time, min of 5.

Targets (issue 2): ratio 1 <= 1.5 with RSS <= 200 MB, RSS(100k)/RSS(10k) <= 1.2; ratio 2 <= 1.25;
ratio 3 <= 1.2; (issue 3) a quiet change pass <= 3 requests and < 5% of a full walk;
(issue 5) a no-op with albums and sidecars < 1.2x one without; (issue 12) the daemon's RSS
bounded: at the end no more than 20% above its RSS after the first pass.
(issue 11) ratio 7 <= 1.3; ratio 8 <= 1.15 and CPU/GB within 2x of the floor; each start-up
<= 0.1 s; ratio 1 <= 1.3.
Benchmarks 1 and 2 run against a fake Immich too (``--kind immich|photoprism|both``, default
both, printed side by side): curl POSTs /api/search/metadata pages with ``x-api-key``, following
``nextPage``, and downloads GET /api/assets/{id}/original.
Usage: python3 benchmarks/bench_sync.py [--quick] [--only 7,8,9] [--kind both]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fake_immich import FakeImmich  # noqa: E402
from tests.fake_photoprism import FakePhotoPrism  # noqa: E402

PASSWORD = "bench-password"
PAGE_SIZE = 1000


def write_config(work: Path, server: FakePhotoPrism, target: Path, workers: int = 4,
                 extra: str = "") -> Path:
    config = work / "ppsync.toml"
    config.write_text(
        f'[server]\nurl = "{server.url}"\npassword = "{PASSWORD}"\n'
        f'[mirror]\ntarget = "{target}"\nworkers = {workers}\npage_size = {PAGE_SIZE}\n'
        '[log]\nlevel = "warning"\nformat = "json"\n' + extra
    )
    return config


def _peak_rss(pid: int) -> int:
    """VmHWM of a running process, in bytes (0 once it is gone).

    Read from /proc rather than from wait4's ru_maxrss: the child is forked from this
    benchmark process, which holds the whole fake library, and ru_maxrss would count that
    moment before exec. VmHWM starts afresh at exec and only grows.
    """
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_ppsync_cpu(config: Path, *args: str) -> tuple[float, float, int]:
    """Run ppsync as its own process; return (wall seconds, CPU seconds, exit code)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "ppsync", "--config", str(config), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_utime + usage.ru_stime, proc.returncode


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bare_verified_mirror(server: FakePhotoPrism, out: Path) -> tuple[float, float]:
    """The bare verified, durable client: one curl process downloading every original, 4 at
    a time, fed the URL list by a config file; then ``sha1sum`` of every file, checked against
    the server's hash, and one ``sync``. Returns (wall seconds, CPU seconds), login included."""
    cpu = _children_cpu()
    started = time.perf_counter()
    _, download_token = bearer(server)
    files = server.files(root="/")
    config = out.parent / "curl-urls.txt"
    config.write_text("".join(f'url = "{server.url}/api/v1/dl/{f.sha1}?t={download_token}"\n'
                              f'output = "{out}/{f.sha1}"\n' for f in files))
    subprocess.run(["curl", "-sf", "--no-progress-meter", "--parallel", "--parallel-max", "4", "-H",
                    "Accept-Encoding: identity", "-K", str(config)], check=True)
    sums = subprocess.run(["sha1sum", *(str(out / f.sha1) for f in files)], check=True,
                          capture_output=True, text=True).stdout.split()[0::2]
    assert sums == [f.sha1 for f in files], "curl fetched damaged files"
    subprocess.run(["sync"], check=True)
    return time.perf_counter() - started, _children_cpu() - cpu


def bench_verified_mirror(work: Path, server: FakePhotoPrism, name: str) -> dict[str, float]:
    """ppsync's full mirror into an empty folder vs the bare verified client, best of 2 each
    (alternating, so both see the same page cache and the same neighbours)."""
    out = work / f"curl-{name}"
    target = work / f"mirror-{name}"
    bare: list[tuple[float, float]] = []
    ours: list[tuple[float, float]] = []
    for _ in range(2):
        for folder in (out, target):
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
        subprocess.run(["sync"], check=True)
        bare.append(bare_verified_mirror(server, out))
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run(["sync"], check=True)
        seconds, cpu, code = run_ppsync_cpu(write_config(work, server, target), "sync")
        assert code == 0, f"{name} mirror failed with exit {code}"
        ours.append((seconds, cpu))
    shutil.rmtree(target, ignore_errors=True)
    (ours_s, ours_cpu), (bare_s, bare_cpu) = min(ours), min(bare)
    return {"ppsync_s": ours_s, "ppsync_cpu_s": ours_cpu, "bare_s": bare_s,
            "bare_cpu_s": bare_cpu, "ratio": ours_s / bare_s}


def bench_small_files(work: Path, count: int, size: int) -> dict[str, float]:
    server = FakePhotoPrism(password=PASSWORD)
    server.start()
    try:
        server.add_synthetic_photos(count, 1, size=size)
        return {"files": count, "kb": size / 1024, **bench_verified_mirror(work, server, "small")}
    finally:
        server.stop()


def cpu_floor(work: Path) -> float:
    """CPU seconds of ``sha1sum`` and ``cat > file`` over the blobs: hashing and copying the
    bytes once each, the least any verified mirror can spend."""
    out = work / "floor"
    out.mkdir(exist_ok=True)
    blobs = sorted((work / "blobs").iterdir())
    cpu = _children_cpu()
    subprocess.run(["sha1sum", *map(str, blobs)], check=True, stdout=subprocess.DEVNULL)
    for blob in blobs:
        subprocess.run(f'cat "{blob}" > "{out / blob.name}"', shell=True, check=True)
    spent = _children_cpu() - cpu
    shutil.rmtree(out, ignore_errors=True)
    return spent


def bench_big_verified(work: Path, count: int, size: int) -> dict[str, float]:
    server = big_library(work, count, size)
    try:
        result = bench_verified_mirror(work, server, "big")
        gb = count * size / 2**30
        floor = cpu_floor(work)
        return {"files": count, "mb": count * size / 2**20, **result,
                "ppsync_cpu_per_gb": result["ppsync_cpu_s"] / gb,
                "bare_cpu_per_gb": result["bare_cpu_s"] / gb, "floor_cpu_per_gb": floor / gb,
                "cpu_vs_floor": result["ppsync_cpu_s"] / floor}
    finally:
        server.stop()
        shutil.rmtree(work / "blobs", ignore_errors=True)


def ppsync_command() -> list[str]:
    """The installed console script when there is one (what users type), else ``-m``."""
    script = Path(sys.executable).parent / "ppsync"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ppsync"]


def bench_startup(work: Path) -> dict[str, float]:
    """Wall time of the commands that need no server, min of 5, on a mirrored library."""
    server, target, config = prepare_library(work, 100)
    try:
        results = {}
        for args in (["--version"], ["--help"], ["status"], ["health"]):
            times = []
            for _ in range(5):
                started = time.perf_counter()
                subprocess.run([*ppsync_command(), "--config", str(config), *args],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                times.append(time.perf_counter() - started)
            results[" ".join(args)] = min(times)
        return results
    finally:
        server.stop()
        shutil.rmtree(target, ignore_errors=True)


def run_ppsync(config: Path, *args: str) -> tuple[float, int, int]:
    """Run ppsync as its own process; return (seconds, exit code, peak RSS in bytes)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "ppsync", "--config", str(config), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _peak_rss(proc.pid))
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    return elapsed, proc.returncode, peak


def bearer(server: FakePhotoPrism) -> tuple[str, str]:
    response = httpx.post(f"{server.url}/api/v1/session",
                          json={"username": "admin", "password": PASSWORD})
    body = response.json()
    return body["access_token"], body["config"]["downloadToken"]


def bare_listing(server: FakePhotoPrism, files: int) -> float:
    """curl paging the same listing: the floor any client pays for the walk (incl. login)."""
    started = time.perf_counter()
    token, _ = bearer(server)
    pages = files // PAGE_SIZE + 1
    urls = [f"{server.url}/api/v1/photos?merged=true&count={PAGE_SIZE}&offset={n * PAGE_SIZE}"
            for n in range(pages)]
    # and the archive's search, which ppsync walks by default (include_archived; none here)
    urls.append(f"{server.url}/api/v1/photos?merged=true&archived=true&count={PAGE_SIZE}"
                "&offset=0")
    args = ["curl", "-sf", "-H", f"Authorization: Bearer {token}"]
    for url in urls:
        args += ["-o", "/dev/null", url]
    subprocess.run(args, check=True)
    # the two config reads ppsync makes to judge the walk
    subprocess.run(["curl", "-sf", "-H", f"Authorization: Bearer {token}", "-o", "/dev/null",
                    f"{server.url}/api/v1/config"], check=True)
    return time.perf_counter() - started


def prepare_library(work: Path, files: int) -> tuple[FakePhotoPrism, Path, Path]:
    """A synthetic library of ``files`` originals, mirrored once (by adoption: the bytes are
    written locally first, so the setup does not take 100,000 downloads)."""
    server = FakePhotoPrism(password=PASSWORD)
    server.start()
    server.add_synthetic_photos(files, 1, size=64)
    target = work / f"mirror-{files}"
    target.mkdir()
    for f in server.files(root="/"):
        path = target / f.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(server.read_file(f.uid))
    config = write_config(work, server, target)
    _, code, _ = run_ppsync(config, "sync")
    assert code == 0, f"setup sync failed with exit {code}"
    return server, target, config


def bench_noop(work: Path, files: int) -> dict[str, float]:
    """No-op full walks (``sync --full``: a plain ``sync`` right after one is a change pass,
    which benchmark 4 measures) against curl paging the whole listing."""
    server, target, config = prepare_library(work, files)
    try:
        return noop_figures(files, config, lambda: bare_listing(server, files))
    finally:
        server.stop()
        shutil.rmtree(target, ignore_errors=True)


def noop_figures(files: int, config: Path, bare_walk: Callable[[], float]) -> dict[str, float]:
    """Best of 3 bare walks against best of 3 no-op ``sync --full`` runs (and their peak RSS),
    for either kind of server."""
    bare = min(bare_walk() for _ in range(3))
    runs = [run_ppsync(config, "sync", "--full") for _ in range(3)]
    assert all(code == 0 for _, code, _ in runs), runs
    ours = min(seconds for seconds, _, _ in runs)
    rss = max(r for _, _, r in runs)
    return {"files": files, "ppsync_s": ours, "bare_s": bare, "ratio": ours / bare,
            "rss_mb": rss / 2**20}


def big_library(work: Path, count: int, size: int) -> FakePhotoPrism:
    server = FakePhotoPrism(password=PASSWORD)
    server.start()
    blobs = work / "blobs"
    blobs.mkdir(exist_ok=True)
    for n in range(count):
        path = blobs / f"{n}.mp4"
        with path.open("wb") as handle:
            handle.write(os.urandom(size))
        photo = server.add_photo([], type="video")
        server.add_file(photo.uid, f"videos/{n:03d}.mp4", path=str(path))
    return server


def bench_full_mirror(work: Path, count: int, size: int) -> dict[str, float]:
    server = big_library(work, count, size)
    try:
        _, download_token = bearer(server)
        out = work / "curl-out"
        bare_times = []
        ours_times = []
        for _ in range(2):
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            urls = "\n".join(f"{server.url}/api/v1/dl/{f.sha1}?t={download_token}"
                             for f in server.files(root="/"))
            started = time.perf_counter()
            subprocess.run(["xargs", "-P", "4", "-n", "1", "sh", "-c",
                            f'curl -sf -H "Accept-Encoding: identity" -o "{out}/$(basename '
                            '"${0%%\\?*}")" "$0"'], input=urls, text=True, check=True)
            bare_times.append(time.perf_counter() - started)
            target = work / "mirror-big"
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            seconds, code, _ = run_ppsync(write_config(work, server, target), "sync")
            assert code == 0
            ours_times.append(seconds)
        ours, bare = min(ours_times), min(bare_times)
        return {"files": count, "mb": count * size / 2**20, "ppsync_s": ours, "curl4_s": bare,
                "ratio": ours / bare}
    finally:
        server.stop()
        shutil.rmtree(work / "blobs", ignore_errors=True)


def bench_kills(work: Path, count: int, size: int, interval: float) -> dict[str, float]:
    server = big_library(work, count, size)
    server.faults.download_rate = 40 * 2**20  # slow enough for kills to land mid-file
    try:
        target = work / "mirror-kills"
        target.mkdir()
        config = write_config(work, server, target)
        kills = 0
        while True:
            proc = subprocess.Popen([sys.executable, "-m", "ppsync", "--config", str(config),
                                     "sync"], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            try:
                code = proc.wait(timeout=interval)
                if code == 0:
                    break
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
        library = count * size
        return {"kills": kills, "served_mb": server.bytes_served / 2**20,
                "library_mb": library / 2**20, "ratio": server.bytes_served / library}
    finally:
        server.stop()
        shutil.rmtree(work / "blobs", ignore_errors=True)


def bench_change_passes(work: Path, files: int) -> dict[str, float]:
    """Change passes as the daemon runs them (in this process, one open server)."""
    from datetime import UTC, datetime, timedelta

    from ppsync.config import load_config
    from ppsync.logs import setup_logging
    from ppsync.mirror.sync import PassOptions, run_sync
    from ppsync.servers import open_server

    server, target, config = prepare_library(work, files)
    try:
        # The library was created a moment ago; make it a day old, as a real one would be.
        day_ago = datetime.now(UTC) - timedelta(days=1)
        for photo in server.photos():
            photo.created_at = photo.updated_at = day_ago
        server._invalidate()
        settings = load_config(config, {})
        setup_logging("warning", "json")
        photos = open_server(settings.server)
        photos.open()
        started = time.perf_counter()
        assert run_sync(settings, PassOptions(server=photos)).exit_code == 0  # sets the cursor
        full = time.perf_counter() - started
        server.reset_counters()
        started = time.perf_counter()
        quiet = run_sync(settings, PassOptions(changes_only=True, server=photos))
        quiet_s = time.perf_counter() - started
        quiet_requests = len(server.requests)
        assert quiet.exit_code == 0 and quiet.command == "change"
        for photo in server.photos()[:50]:
            server.edit_file(photo.files[0].uid, os.urandom(64))
        for n in range(50):
            server.add_photo([(f"new/{n}.jpg", os.urandom(64))])
        server.reset_counters()
        started = time.perf_counter()
        busy = run_sync(settings, PassOptions(changes_only=True, server=photos))
        busy_s = time.perf_counter() - started
        assert busy.exit_code == 0 and busy.downloaded == 100, busy
        busy_requests = len(server.requests)
        photos.close()
        return {"files": files, "full_s": full, "quiet_s": quiet_s,
                "quiet_requests": quiet_requests, "quiet_share": quiet_s / full,
                "changed_s": busy_s, "changed_requests": busy_requests}
    finally:
        server.stop()
        shutil.rmtree(target, ignore_errors=True)


def bench_export(work: Path, files: int, albums: int) -> dict[str, float]:
    """No-op runs with album folders and metadata sidecars on, against the same runs without
    (issue 5: under 1.2x)."""
    server, target, config = prepare_library(work, files)
    try:
        uids = [photo.uid for photo in server.photos()]
        for n in range(albums):
            server.add_album(f"Album {n}", photo_uids=uids[n * 100:(n + 1) * 100])
        plain = min(run_ppsync(config, "sync", "--full")[0] for _ in range(3))
        export = write_config(work, server, target, extra=(
            '[albums]\nmode = "symlink"\n[metadata]\nsidecars = "json"\n'))
        seconds, code, _ = run_ppsync(export, "sync", "--full")  # writes the export once
        assert code == 0, f"export run failed with exit {code}"
        with_export = min(run_ppsync(export, "sync", "--full")[0] for _ in range(3))
        return {"files": files, "albums": albums, "plain_s": plain, "export_s": with_export,
                "first_export_s": seconds, "ratio": with_export / plain}
    finally:
        server.stop()
        shutil.rmtree(target, ignore_errors=True)


def _rss(pid: int) -> int:
    """VmRSS of a running process, in bytes (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def bench_daemon_rss(work: Path, files: int, passes: int) -> dict[str, float]:
    """A daemon running ``passes`` passes (every 5th a full walk) on a library with a few
    changes now and then: its RSS after the first pass, half way, and at the end."""
    server, target, config = prepare_library(work, files)
    config.write_text(config.read_text().replace('level = "warning"', 'level = "info"')
                      + '[schedule]\ninterval = "1s"\nfull_every = "4s"\n')
    log = work / "daemon-rss.log"
    try:
        with log.open("wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "ppsync", "--config", str(config),
                                     "daemon"], stdout=out, stderr=out)
        samples: list[tuple[int, int]] = []  # (passes so far, RSS)
        done = 0
        deadline = time.monotonic() + passes * 5 + 120
        while done < passes and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            done = log.read_bytes().count(b'"event": "run finished"')
            samples.append((done, _rss(proc.pid)))
            if done and done % 10 == 0 and len(server.photos()) < files + passes:
                server.add_photo([(f"new/{done}-{time.monotonic_ns()}.jpg", os.urandom(64))])
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        assert done >= passes, f"only {done} passes"
        events = [json.loads(line) for line in log.read_text().splitlines()
                  if line.startswith("{")]
        full = sum(1 for e in events if e.get("event") == "run finished"
                   and e.get("command") == "sync")
        after_first = next(r for n, r in samples if n >= 1)
        quarters = [next(r for n, r in samples if n >= passes * q // 4) for q in (1, 2, 3)]
        last = samples[-1][1]
        return {"files": files, "passes": done, "full_walks": full,
                "first_mb": after_first / 2**20, "q1_mb": quarters[0] / 2**20,
                "half_mb": quarters[1] / 2**20, "q3_mb": quarters[2] / 2**20,
                "end_mb": last / 2**20, "max_mb": max(r for _, r in samples) / 2**20}
    finally:
        server.stop()
        shutil.rmtree(target, ignore_errors=True)


# -- Immich: the same figures as benchmarks 1 and 2, against the fake Immich ----------------

IMMICH_TAKEN = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)


def write_immich_config(work: Path, server: FakeImmich, key: str, target: Path,
                        workers: int = 4) -> Path:
    config = work / "ppsync-immich.toml"
    config.write_text(
        f'[server]\nkind = "immich"\nurl = "{server.url}"\napi_key = "{key}"\n'
        f'[mirror]\ntarget = "{target}"\nworkers = {workers}\npage_size = {PAGE_SIZE}\n'
        '[log]\nlevel = "warning"\nformat = "json"\n'
    )
    return config


def immich_library(count: int, content: Callable[[int], bytes]) -> tuple[FakeImmich, str]:
    """A fake Immich (generation v2.5, as ``tests/kinds.py`` uses) holding ``count`` photos
    taken at one moment, metadata extracted; returns it and an API key with every permission."""
    server = FakeImmich(generation="v2.5")
    server.start()
    key = server.add_key(("all",))
    for n in range(count):
        asset = server.lib.create_asset(f"IMG_{n:06d}.jpg", content(n),
                                        file_created_at=IMMICH_TAKEN,
                                        file_modified_at=IMMICH_TAKEN)
        server.lib.run_metadata_job(asset)
    return server, key


def immich_prepare_library(work: Path, files: int) -> tuple[FakeImmich, str, Path, Path]:
    """Benchmark 1's setup for Immich: ``files`` originals, mirrored once by adoption (the
    bytes written first where the default layout puts them, ``<YYYY>/<MM>/<name>``)."""
    server, key = immich_library(files, lambda n: n.to_bytes(8, "big") + os.urandom(56))
    target = work / f"immich-mirror-{files}"
    target.mkdir()
    folder = target / f"{IMMICH_TAKEN:%Y}" / f"{IMMICH_TAKEN:%m}"
    folder.mkdir(parents=True)
    for asset in list(server.lib.assets.values()):
        (folder / asset.original_file_name).write_bytes(asset.content)
    config = write_immich_config(work, server, key, target)
    _, code, _ = run_ppsync(config, "sync")
    assert code == 0, f"Immich setup sync failed with exit {code}"
    return server, key, target, config


def immich_bare_listing(server: FakeImmich, key: str) -> float:
    """curl paging the same searches ppsync walks with Immich's default ``include_archived``
    (true): the statistics read that judges the walk, then the timeline, the archive and the
    hidden walks (1000 a page, with EXIF), one POST per page following ``nextPage``. No login:
    an API key is sent as ``x-api-key``."""
    started = time.perf_counter()
    base = ["curl", "-sf", "-H", f"x-api-key: {key}"]
    subprocess.run([*base, "-o", "/dev/null", f"{server.url}/api/assets/statistics"], check=True)
    for visibility in ("timeline", "archive", "hidden"):
        page: str | None = "1"
        while page is not None:
            body = json.dumps({"page": int(page), "size": PAGE_SIZE, "withExif": True,
                               "visibility": visibility, "order": "asc"})
            out = subprocess.run([*base, "-H", "Content-Type: application/json", "-d", body,
                                  f"{server.url}/api/search/metadata"], check=True,
                                 capture_output=True).stdout
            page = json.loads(out)["assets"]["nextPage"]
    return time.perf_counter() - started


def bench_immich_noop(work: Path, files: int) -> dict[str, float]:
    server, key, target, config = immich_prepare_library(work, files)
    try:
        return noop_figures(files, config, lambda: immich_bare_listing(server, key))
    finally:
        server.stop()
        shutil.rmtree(target, ignore_errors=True)


def bench_immich_full_mirror(work: Path, count: int, size: int) -> dict[str, float]:
    """Benchmark 2 for Immich: ppsync's full mirror vs 4 parallel curl GETs of
    ``/api/assets/{id}/original`` (the fake holds the originals in memory)."""
    server, key = immich_library(count, lambda n: os.urandom(size))
    try:
        out = work / "immich-curl-out"
        target = work / "immich-mirror-big"
        urls = "\n".join(f"{server.url}/api/assets/{asset_id}/original"
                         for asset_id in list(server.lib.assets))
        bare_times = []
        ours_times = []
        for _ in range(2):
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            started = time.perf_counter()
            subprocess.run(["xargs", "-P", "4", "-n", "1", "sh", "-c",
                            f'curl -sf -H "x-api-key: {key}" -H "Accept-Encoding: identity" '
                            f'-o "{out}/$(basename "$(dirname "$0")")" "$0"'],
                           input=urls, text=True, check=True)
            bare_times.append(time.perf_counter() - started)
            assert len(list(out.iterdir())) == count, "curl missed files"
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            seconds, code, _ = run_ppsync(write_immich_config(work, server, key, target), "sync")
            assert code == 0, f"Immich mirror failed with exit {code}"
            ours_times.append(seconds)
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(target, ignore_errors=True)
        ours, bare = min(ours_times), min(bare_times)
        return {"files": count, "mb": count * size / 2**20, "ppsync_s": ours, "curl4_s": bare,
                "ratio": ours / bare}
    finally:
        server.stop()


def rss_growth(noop: Callable[[Path, int], dict[str, float]], work: Path, scale: int,
               label: str, unit: str) -> dict[str, Any]:
    """Peak RSS of a no-op at 10k and 100k files (either server kind), printed and returned."""
    small = noop(work, 10_000 // scale)
    large = noop(work, 100_000 // scale)
    growth = large["rss_mb"] / small["rss_mb"]
    print(f"   {label}RSS at {large['files']:.0f} {unit} {large['rss_mb']:.0f} MB vs "
          f"{small['files']:.0f} {unit} {small['rss_mb']:.0f} MB -> ratio {growth:.2f} "
          f"(target <= 1.2); no-op at {large['files']:.0f}: ppsync "
          f"{large['ppsync_s']:.2f} s vs curl {large['bare_s']:.2f} s "
          f"(ratio {large['ratio']:.2f})", flush=True)
    return {"small": small, "large": large, "ratio": growth}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument("--only", default="1,2,3,4,5,6,7,8,9",
                        help="comma-separated sections to run (default: all)")
    parser.add_argument("--kind", choices=("photoprism", "immich", "both"), default="both",
                        help="server kind for benchmarks 1 and 2 (default: both, side by side;"
                             " the other sections are PhotoPrism only)")
    parser.add_argument("--skip-rss-growth", action="store_true",
                        help="Immich: skip the 10,000 vs 100,000 RSS figure of benchmark 1")
    args = parser.parse_args()
    only = set(args.only.split(","))
    if not shutil.which("curl"):
        print("benchmark needs curl as the bare client (apt-get install curl)", file=sys.stderr)
        return 2
    scale = 10 if args.quick else 1
    memory_gib = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**30
    results: dict[str, object] = {"machine": f"{os.cpu_count()} cores, {memory_gib} GiB"}
    with tempfile.TemporaryDirectory(prefix="ppsync-bench-") as tmp:
        work = Path(tmp)
        if "7" in only:
            small_files = bench_small_files(work, 5000 // scale, 20 * 1024)
            results["small_files"] = small_files
            print(f"7. full mirror, {small_files['files']:.0f} x 20 KB: ppsync "
                  f"{small_files['ppsync_s']:.2f} s ({small_files['ppsync_cpu_s']:.1f} s CPU) vs "
                  f"curl --parallel + sha1sum + sync {small_files['bare_s']:.2f} s "
                  f"({small_files['bare_cpu_s']:.1f} s CPU) -> ratio {small_files['ratio']:.2f} "
                  "(target <= 1.3)", flush=True)
        if "8" in only:
            big = bench_big_verified(work, 40 // (4 if args.quick else 1), 8 * 2**20)
            results["big_verified"] = big
            print(f"8. full mirror, {big['files']:.0f} x 8 MB: ppsync {big['ppsync_s']:.2f} s vs "
                  f"curl --parallel + sha1sum + sync {big['bare_s']:.2f} s -> ratio "
                  f"{big['ratio']:.2f} (target <= 1.15); CPU per GB: ppsync "
                  f"{big['ppsync_cpu_per_gb']:.2f} s, curl+sha1sum {big['bare_cpu_per_gb']:.2f} s, "
                  f"floor (sha1sum + cat) {big['floor_cpu_per_gb']:.2f} s -> "
                  f"{big['cpu_vs_floor']:.1f}x the floor (target <= 2)", flush=True)
        if "9" in only:
            startup = bench_startup(work)
            results["startup"] = startup
            print("9. start-up, min of 5: " + ", ".join(
                f"ppsync {name} {seconds:.3f} s" for name, seconds in startup.items())
                + " (target <= 0.1 s each)", flush=True)
        pp, im = args.kind in ("photoprism", "both"), args.kind in ("immich", "both")
        if "1" in only and pp:
            noop = bench_noop(work, 20_000 // scale)
            results["noop"] = noop
            print(f"1. no-op re-sync, {noop['files']:.0f} files: ppsync {noop['ppsync_s']:.2f} s "
                  f"vs curl paging {noop['bare_s']:.2f} s -> ratio {noop['ratio']:.2f} "
                  f"(target <= 1.3); peak RSS {noop['rss_mb']:.0f} MB (target <= 200)",
                  flush=True)
        if "1" in only and im:
            inoop = bench_immich_noop(work, 20_000 // scale)
            results["immich_noop"] = inoop
            print(f"1i. Immich no-op re-sync, {inoop['files']:.0f} assets: ppsync "
                  f"{inoop['ppsync_s']:.2f} s vs curl paging /search/metadata "
                  f"{inoop['bare_s']:.2f} s -> ratio {inoop['ratio']:.2f} (target <= 1.3); "
                  f"peak RSS {inoop['rss_mb']:.0f} MB (target <= 200)", flush=True)
        if "1" in only and pp:
            results["rss"] = rss_growth(bench_noop, work, scale, "", "files")
        if "1" in only and im and not args.skip_rss_growth:
            results["immich_rss"] = rss_growth(bench_immich_noop, work, scale, "Immich ",
                                               "assets")
        if "2" in only and pp:
            full = bench_full_mirror(work, 40 // (4 if args.quick else 1), 8 * 2**20)
            results["full"] = full
            print(f"2. full mirror, {full['files']:.0f} x 8 MB: ppsync {full['ppsync_s']:.2f} s vs "
                  f"4 parallel curl {full['curl4_s']:.2f} s -> ratio {full['ratio']:.2f} "
                  "(target <= 1.25)", flush=True)
        if "2" in only and im:
            ifull = bench_immich_full_mirror(work, 40 // (4 if args.quick else 1), 8 * 2**20)
            results["immich_full"] = ifull
            print(f"2i. Immich full mirror, {ifull['files']:.0f} x 8 MB: ppsync "
                  f"{ifull['ppsync_s']:.2f} s vs 4 parallel curl {ifull['curl4_s']:.2f} s -> "
                  f"ratio {ifull['ratio']:.2f} (target <= 1.25)", flush=True)
        if pp and im and ("1" in only or "2" in only):
            print("   side by side (PhotoPrism | Immich):", flush=True)
            if "1" in only:
                print(f"   no-op {noop['files']:.0f}: ratio {noop['ratio']:.2f} | "
                      f"{inoop['ratio']:.2f}; ppsync {noop['ppsync_s']:.2f} | "
                      f"{inoop['ppsync_s']:.2f} s; curl {noop['bare_s']:.2f} | "
                      f"{inoop['bare_s']:.2f} s; peak RSS {noop['rss_mb']:.0f} | "
                      f"{inoop['rss_mb']:.0f} MB", flush=True)
            if "2" in only:
                print(f"   full mirror {full['files']:.0f} x 8 MB: ratio {full['ratio']:.2f} | "
                      f"{ifull['ratio']:.2f}; ppsync {full['ppsync_s']:.2f} | "
                      f"{ifull['ppsync_s']:.2f} s; curl x4 {full['curl4_s']:.2f} | "
                      f"{ifull['curl4_s']:.2f} s", flush=True)
        if "3" in only:
            kills = bench_kills(work, 12 // (3 if args.quick else 1), 8 * 2**20, 0.8)
            results["kills"] = kills
            print(f"3. resume across {kills['kills']:.0f} SIGKILLs: served "
                  f"{kills['served_mb']:.0f} MB for a {kills['library_mb']:.0f} MB library -> "
                  f"ratio {kills['ratio']:.2f} (target <= 1.2)", flush=True)
        if "4" in only:
            change = bench_change_passes(work, 100_000 // scale)
            results["change"] = change
            print(f"4. change pass, {change['files']:.0f} files: nothing changed "
                  f"{change['quiet_requests']:.0f} requests, {change['quiet_s']:.3f} s = "
                  f"{change['quiet_share']:.1%} of a full walk ({change['full_s']:.2f} s) "
                  f"(target <= 3 requests, < 5%); 100 changes {change['changed_requests']:.0f} "
                  f"requests (100 downloads), {change['changed_s']:.2f} s", flush=True)
        if "5" in only:
            export = bench_export(work, 20_000 // scale, 50 // scale)
            results["export"] = export
            print(f"5. no-op with albums + sidecars, {export['files']:.0f} files in "
                  f"{export['albums']:.0f} albums: {export['export_s']:.2f} s vs "
                  f"{export['plain_s']:.2f} s without -> ratio {export['ratio']:.2f} "
                  f"(target < 1.2; first export run {export['first_export_s']:.1f} s)", flush=True)
        if "6" in only:
            rss = bench_daemon_rss(work, 3000, 200 // (4 if args.quick else 1))
            results["daemon_rss"] = rss
            print(f"6. daemon RSS, {rss['files']:.0f} files, {rss['passes']:.0f} passes "
                  f"({rss['full_walks']:.0f} full walks): {rss['first_mb']:.0f} MB after the first "
                  f"pass, then at 1/4, 1/2, 3/4 and the end {rss['q1_mb']:.0f}, "
                  f"{rss['half_mb']:.0f}, {rss['q3_mb']:.0f}, {rss['end_mb']:.0f} MB; peak "
                  f"{rss['max_mb']:.0f} MB (target: bounded, end <= 1.2 x first)", flush=True)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
