"""Upload benchmark: our S3Storage against boto3's own ``upload_file`` (default TransferConfig).

Starts the same Swift + s3api server the tests use, writes a random file (1 GiB by default)
in a temporary folder, and uploads it alternately with each client, every upload in a fresh
child process so that its CPU time and peak RSS are its own. Prints throughput, client CPU
seconds per GiB and peak RSS for each, and the ratios.

    .venv/bin/python bench/upload_s3.py [--size-mib 1024] [--rounds 2]
        [--part-size-mib 64] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
MiB = 1024 * 1024
GiB = 1024 * MiB


def write_random_file(path: Path, size: int) -> None:
    with path.open("wb") as handle:
        remaining = size
        while remaining:
            chunk = os.urandom(min(remaining, 8 * MiB))
            handle.write(chunk)
            remaining -= len(chunk)


IDLE_LOOP_WATCHER = """
import asyncio, sys
async def main():
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    loop.add_reader(sys.stdin.fileno(), lambda: done.done() or done.set_result(None))
    worst = 0.0
    while not done.done():
        before = loop.time()
        await asyncio.sleep(0.005)
        worst = max(worst, loop.time() - before - 0.005)
    print(worst * 1000)
asyncio.run(main())
"""

# -- one upload, in a child process -------------------------------------------------------


def child_ours(
    server: dict[str, str], path: Path, key: str, part_mib: int, workers: int
) -> dict[str, float]:
    """Upload with S3Storage; returns the event loop's longest stall meanwhile (in ms)."""
    from ecg_desktop.config import Settings
    from ecg_desktop.storage import S3Storage

    settings = Settings(
        s3_bucket_name=server["bucket"],
        s3_endpoint_url=server["endpoint"],
        aws_access_key_id=server["access_key"],
        aws_secret_access_key=server["secret_key"],
        aws_region=server["region"],
        upload_part_size=part_mib * MiB,
        upload_concurrency=workers,
        data_dir=path.parent,
    )

    longest_stall = 0.0

    async def watch_loop(interval: float = 0.005) -> None:
        nonlocal longest_stall
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(interval)
            longest_stall = max(longest_stall, loop.time() - before - interval)

    async def run() -> None:
        storage = S3Storage(settings)
        warm_up = path.with_name("warm-up.bin")
        warm_up.write_bytes(b"x")
        # First use imports httpx's and boto3's lazy parts and loads boto3's S3 model: a
        # one-time hitch that is not the upload's.
        await storage.upload(f"{key}.warm-up", warm_up, "video/mp4")
        # The baseline: an idle event loop in another process, over the same time, shows
        # how long this busy machine keeps any process waiting for a core.
        idle = subprocess.Popen(  # noqa: ASYNC220 - started once, before the clocks matter
            [sys.executable, "-c", IDLE_LOOP_WATCHER],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        watcher = asyncio.create_task(watch_loop())
        try:
            await storage.upload(key, path, "video/mp4", on_progress=lambda done, total: None)
        finally:
            watcher.cancel()
            await storage.close()
            idle_out, _ = idle.communicate("")  # the upload is over: blocking is fine
        stalls["idle_stall_ms"] = float(idle_out.strip() or "nan")

    stalls: dict[str, float] = {}
    asyncio.run(run())
    return {"max_loop_stall_ms": longest_stall * 1000, **stalls}


def child_boto3(server: dict[str, str], path: Path, key: str) -> None:
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=server["endpoint"],
        aws_access_key_id=server["access_key"],
        aws_secret_access_key=server["secret_key"],
        region_name=server["region"],
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    client.upload_file(str(path), server["bucket"], key, ExtraArgs={"ContentType": "video/mp4"})


def child_main(arguments: argparse.Namespace) -> None:
    server = json.loads(arguments.server)
    path = Path(arguments.file)
    # Imports are not the upload: load them before the clocks start (client creation counts).
    import boto3  # noqa: F401
    import httpx  # noqa: F401

    import ecg_desktop.storage  # noqa: F401

    started_wall, started = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    extra: dict[str, float] = {}
    if arguments.child == "ours":
        extra = child_ours(
            server, path, arguments.key, arguments.part_size_mib, arguments.concurrency
        )
    else:
        child_boto3(server, path, arguments.key)
    wall = time.perf_counter() - started_wall
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage.ru_utime - started.ru_utime) + (usage.ru_stime - started.ru_stime)
    user = usage.ru_utime - started.ru_utime
    peak_rss_mb = usage.ru_maxrss / 1024  # kilobytes on Linux
    figures = {"wall_s": wall, "cpu_s": cpu, "user_s": user, "peak_rss_mb": peak_rss_mb}
    print(json.dumps({**figures, **extra}))


# -- the driver ---------------------------------------------------------------------------


def run_child(
    which: str, server: dict[str, str], path: Path, key: str, arguments: argparse.Namespace
) -> dict[str, float]:
    argv = [
        sys.executable, __file__, "--child", which, "--server", json.dumps(server),
        "--file", str(path), "--key", key,
        "--part-size-mib", str(arguments.part_size_mib),
        "--concurrency", str(arguments.concurrency),
    ]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=REPO_ROOT)
    if result.returncode != 0:
        raise SystemExit(f"{which} upload failed:\n{result.stderr}")
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def summarise(name: str, runs: list[dict[str, float]], size: int) -> dict[str, float]:
    gib = size / GiB
    best_wall = min(r["wall_s"] for r in runs)
    median_wall = statistics.median(r["wall_s"] for r in runs)
    summary = {
        "MB/s (best)": size / best_wall / 1e6,
        "MB/s (median)": size / median_wall / 1e6,
        "CPU s/GiB (median)": statistics.median(r["cpu_s"] for r in runs) / gib,
        "peak RSS MB (max)": max(r["peak_rss_mb"] for r in runs),
    }
    print(f"{name:>8}: " + ", ".join(f"{k} {v:.1f}" for k, v in summary.items()))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--part-size-mib", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--child", choices=["ours", "boto3"])
    parser.add_argument("--server")
    parser.add_argument("--file")
    parser.add_argument("--key")
    arguments = parser.parse_args()
    if arguments.child:
        child_main(arguments)
        return

    from tests.services.swift_s3 import start_swift_s3

    size = arguments.size_mib * MiB
    with tempfile.TemporaryDirectory(prefix="ecg-bench-upload-") as folder, start_swift_s3(
        log_level="WARNING"
    ) as swift:
        path = Path(folder) / "video.mp4"
        print(f"writing {arguments.size_mib} MiB of random bytes ...", flush=True)
        write_random_file(path, size)
        bucket = swift.create_bucket()
        server = {
            "endpoint": swift.endpoint_url, "bucket": bucket, "access_key": swift.access_key,
            "secret_key": swift.secret_key, "region": swift.region,
        }
        admin: Any = swift.admin_client
        runs: dict[str, list[dict[str, float]]] = {"boto3": [], "ours": []}
        for round_number in range(arguments.rounds):
            for which in ("boto3", "ours"):
                key = f"bench/{which}-{round_number}.mp4"
                figures = run_child(which, server, path, key, arguments)
                stored = admin.head_object(Bucket=bucket, Key=key)["ContentLength"]
                assert stored == size, f"{which} stored {stored} bytes, not {size}"
                admin.delete_object(Bucket=bucket, Key=key)
                runs[which].append(figures)
                speed = size / figures["wall_s"] / 1e6
                print(f"  round {round_number + 1} {which:>5}: {speed:7.1f} MB/s, "
                      f"{figures['cpu_s']:.2f} s CPU ({figures['user_s']:.2f} user), "
                      f"{figures['peak_rss_mb']:.0f} MB RSS"
                      + (f", longest loop stall {figures['max_loop_stall_ms']:.0f} ms "
                         f"(an idle loop meanwhile: {figures['idle_stall_ms']:.0f} ms)"
                         if "max_loop_stall_ms" in figures else ""),
                      flush=True)
        print(f"\n{arguments.size_mib} MiB, ours with {arguments.part_size_mib} MiB parts x "
              f"{arguments.concurrency} in flight; boto3 upload_file, default TransferConfig")
        baseline = summarise("boto3", runs["boto3"], size)
        ours = summarise("ours", runs["ours"], size)
        print(f"throughput ratio (median): {ours['MB/s (median)'] / baseline['MB/s (median)']:.2f}x"
              f"; CPU per GiB ratio: "
              f"{ours['CPU s/GiB (median)'] / baseline['CPU s/GiB (median)']:.2f}x")


if __name__ == "__main__":
    main()
