"""Reap exited processes, as PID 1 must: our children, and orphans reparented to us."""

from __future__ import annotations

import os
from collections.abc import Iterable

from appliance.supervisor.child import Child


def reap(children: Iterable[Child]) -> None:
    """Collect every exited process and tell the child it belonged to, if any."""
    by_pid = {child.pid: child for child in children if child.pid is not None}
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid in by_pid:
            by_pid[pid].exited(os.waitstatus_to_exitcode(status))
