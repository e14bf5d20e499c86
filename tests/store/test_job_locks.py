"""The job lock between processes (``store.job_locks`` over ``filelock``): a job locked by one
process cannot be taken by another until released or until that process dies, and hammering
it from two processes never lets both hold it at once."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

from ecg_desktop.store.job_locks import FileJobLocks

HOLDER = textwrap.dedent("""
    import sys, uuid
    from pathlib import Path
    from ecg_desktop.store.job_locks import FileJobLocks
    locks = FileJobLocks(Path(sys.argv[1]))
    print("held" if locks.acquire(uuid.UUID(sys.argv[2])) else "refused", flush=True)
    sys.stdin.readline()  # hold until told
    locks.release(uuid.UUID(sys.argv[2]))
    print("released", flush=True)
    sys.stdin.readline()
""")

HAMMER = textwrap.dedent("""
    import os, sys, time, uuid
    from pathlib import Path
    from ecg_desktop.store.job_locks import FileJobLocks
    folder, job, log = Path(sys.argv[1]), uuid.UUID(sys.argv[2]), sys.argv[3]
    held = 0
    for _ in range(int(sys.argv[4])):
        locks = FileJobLocks(folder)  # a fresh object each time, as a new pipeline would be
        if locks.acquire(job):
            with open(log, "a") as out:
                out.write(f"in {os.getpid()}\\n"); out.flush()
                time.sleep(0.0005)
                out.write(f"out {os.getpid()}\\n")
            locks.release(job)
            held += 1
    print(held)
""")


def _holder(folder: Path, job: uuid.UUID) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", HOLDER, str(folder), str(job)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def test_a_job_locked_by_another_process_is_refused_until_it_lets_go(tmp_path: Path) -> None:
    job = uuid.uuid4()
    holder = _holder(tmp_path, job)
    assert holder.stdout is not None and holder.stdin is not None
    try:
        assert holder.stdout.readline().strip() == "held"
        locks = FileJobLocks(tmp_path)
        assert not locks.acquire(job)
        assert locks.acquire(uuid.uuid4())  # another job is free

        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "released"
        assert locks.acquire(job)
        assert not FileJobLocks(tmp_path).acquire(job)  # now we hold it
        locks.release(job)
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_holder_leaves_the_job_free(tmp_path: Path) -> None:
    job = uuid.uuid4()
    holder = _holder(tmp_path, job)
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait()
    assert FileJobLocks(tmp_path).acquire(job)


def test_two_processes_hammering_one_lock_never_hold_it_together(tmp_path: Path) -> None:
    job, log = uuid.uuid4(), tmp_path / "log.txt"
    hammers = [subprocess.Popen([sys.executable, "-c", HAMMER, str(tmp_path / "locks"),
                                 str(job), str(log), "400"], stdout=subprocess.PIPE, text=True)
               for _ in range(2)]
    held = [int(p.communicate(timeout=120)[0]) for p in hammers]

    lines = log.read_text().splitlines()
    assert sum(held) == len(lines) // 2 > 0
    for enter, leave in zip(lines[::2], lines[1::2], strict=True):
        assert enter.startswith("in ") and leave == "out " + enter[3:], (enter, leave)
