"""What a child gets before it runs: its own uid, no new privileges, resource limits.

Inside a default container there is no CAP_SYS_ADMIN, so namespaces and bubblewrap are out;
uid separation, PR_SET_NO_NEW_PRIVS and rlimits work everywhere.
"""

from __future__ import annotations

import ctypes
import os
import resource
from collections.abc import Callable
from dataclasses import dataclass, field

from appliance.supervisor.const import FILES_LIMIT, MEMORY_LIMIT, PROCESSES_LIMIT

PR_SET_NO_NEW_PRIVS = 38


@dataclass(frozen=True)
class Account:
    """The uid and groups a child runs under; None keeps the supervisor's own."""

    uid: int | None = None
    gid: int | None = None
    extra_groups: tuple[int, ...] = field(default=())


def account_for(uid: int, extra_groups: tuple[int, ...] = ()) -> Account:
    """Return a child's own account when the supervisor is root, else the supervisor's."""
    if os.geteuid() != 0:
        return Account()
    return Account(uid=uid, gid=uid, extra_groups=extra_groups)


def confinement(account: Account) -> Callable[[], None]:
    """Return the function a freshly forked child runs (after its uid change) before exec."""
    libc = ctypes.CDLL(None, use_errno=True)
    own_uid = account.uid is not None

    def confine() -> None:
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        resource.setrlimit(resource.RLIMIT_NOFILE, (FILES_LIMIT, FILES_LIMIT))
        if own_uid:
            # RLIMIT_NPROC counts every process of the uid: only safe when the uid is the child's.
            resource.setrlimit(resource.RLIMIT_NPROC, (PROCESSES_LIMIT, PROCESSES_LIMIT))

    return confine
