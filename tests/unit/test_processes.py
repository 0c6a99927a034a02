"""The one liveness check: a recorded (pid, start time) is alive only while that very
process runs — not a zombie, not another process that got the pid again."""

from __future__ import annotations

import os
import subprocess
import time

from glassbox import processes


def test_this_process_is_alive_with_and_without_its_start_time():
    me = os.getpid()
    start = processes.start_time(me)
    assert start and processes.alive(me) and processes.alive(me, start)


def test_another_start_time_is_another_process():
    me = os.getpid()
    assert not processes.alive(me, processes.start_time(me) + 1)


def test_a_zombie_and_a_reaped_process_are_not_alive():
    p = subprocess.Popen(["true"])
    for _ in range(500):                       # exited, not yet reaped: a zombie
        with open(f"/proc/{p.pid}/stat", "rb") as f:
            if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                break
        time.sleep(0.01)
    else:
        raise AssertionError("`true` did not exit within 5 s")
    assert not processes.alive(p.pid)
    p.wait()
    assert not processes.alive(p.pid) and processes.start_time(p.pid) is None


def test_no_pid_is_never_alive():
    assert not processes.alive(0) and not processes.alive(-1) and processes.start_time(0) is None
