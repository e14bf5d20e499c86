"""After ``kill -9`` of ``serve``, its children (the result worker, multiprocessing's
resource tracker) end too, and spilled bodies a killed run left are removed at the next
start (never those of another running copy)."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
import requests

from ecg_desktop.app.bus import EventBus
from ecg_desktop.app.callback_body import SPILL_PREFIX
from ecg_desktop.app.callbacks import CallbackReceiver
from ecg_desktop.app.metrics import Metrics
from ecg_desktop.app.ports import JobStore
from ecg_desktop.config import Settings
from ecg_desktop.domain.signatures import sign_headers
from tests.services.serve import start_serve

from .conftest import SECRET, callback_body


def test_the_result_worker_dies_with_a_killed_serve(settings_factory: Any,
                                                      tmp_path: Path) -> None:
    settings_factory()
    env = {**os.environ, "MODEL_SERVER_URL": "http://127.0.0.1:9", "WEBHOOK_SECRET_KEY": SECRET,
           "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}"}
    served = start_serve(env, tmp_path / "serve.log")
    try:
        body = json.dumps(callback_body(uuid.uuid4(), progress=1)).encode()
        headers = {"Content-Type": "application/json", **sign_headers(
            SECRET, body, msg_id="msg_1", timestamp=int(time.time()))}
        # The first callback spawns the worker.
        assert requests.post(f"{served.url}/api/upload-video/result", data=body,
                             headers=headers, timeout=30).status_code == 404
        serve = psutil.Process(served.child.popen.pid)
        deadline = time.monotonic() + 60
        while not (children := serve.children(recursive=True)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert children, "no worker was started"
        time.sleep(3)  # the worker has imported and set itself up
        children = serve.children(recursive=True)

        os.kill(serve.pid, signal.SIGKILL)
        served.child.popen.wait(10)
        _gone, alive = psutil.wait_procs(children, timeout=10)

        assert alive == [], [(p.pid, p.cmdline()[:3]) for p in alive]
    finally:
        served.kill()


async def test_spills_of_dead_runs_are_removed_at_start_and_live_ones_kept(
    job_store: JobStore, settings_factory: Any, tmp_path: Path
) -> None:
    settings: Settings = settings_factory()
    spill = settings.data_dir / "spill"
    spill.mkdir(parents=True)
    dead = psutil.Popen(["true"])
    dead.wait()
    stale = spill / f"{SPILL_PREFIX}{dead.pid}-abc.json"
    live = spill / f"{SPILL_PREFIX}{os.getpid()}-def.json"
    for path in (stale, live):
        path.write_bytes(b"{}")

    CallbackReceiver(job_store, EventBus(), settings, Metrics())

    assert not stale.exists()
    assert live.exists()
