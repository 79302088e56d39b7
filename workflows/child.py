"""Child processes that do not outlive the process that started them.

`countersign up` starts the Temporal dev server and the worker as children.
On a clean stop it stops them; if it is killed (kill -9, the OOM killer, a
closed terminal) the kernel does: PR_SET_PDEATHSIG, set in the child between
fork and exec, sends the child a signal when the thread that started it
ends. Start children from the thread running the event loop, which outlives
them. Linux only; elsewhere a killed `up` leaves its children to be stopped
by hand. A watchdog process instead would itself need watching.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def die_with_parent(signum: int) -> Callable[[], None] | None:
    """A `preexec_fn` that has the child sent `signum` when this process ends."""
    if sys.platform != "linux":
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork, not in the child
    parent = os.getpid()

    def in_child() -> None:  # between fork and exec: one system call, no imports, no locks
        if prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:  # the parent died before the prctl: the signal will not come
            os._exit(1)

    return in_child
