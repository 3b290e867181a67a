"""CPU threads of PyTorch's work on a shared server: OpenMP's spinning and intra-op threads.

PyTorch's CPU build (the PyPI wheel) runs its parallel regions, MKL's included, on GNU
OpenMP (libgomp). Between two regions a worker thread first busy-waits ("spins")
``GOMP_SPINCOUNT`` times, then sleeps on a futex until the next region wakes it. libgomp's
default, 300,000 spins (its own estimate: 3 ms; longer on CPUs whose ``pause`` is slow),
is right for a machine that runs nothing else and wrong for a shared one: when another
process or thread holds a core, a spinning worker burns the time slice that its
descheduled partner needs, and every small region waits for a slice of its own. A training
step has dozens of regions (a layer's matmul, activation, loss terms, Adam), milliseconds
apart at most. Measured on the 2-core server with ``python -m bench.thread_training`` (the
Train page's training in a background thread of a process like the app's) while other
sessions' test suites held the load average at 4-6: 3 epochs of 10,000 images took
47-51 s with the default spin, 14-16 s with 3,000 spins, 11-13 s with 0 (sleep at once);
the README gives the figures of both threads with 2,000 spins at load 7-11.

libgomp reads its environment once, when it is loaded (``import torch``), so
:func:`configure_openmp` must run before the first ``import torch`` of the process:
``app.py`` and :mod:`explorer.cli` call it first. It only sets a default: a
``GOMP_SPINCOUNT`` or ``OMP_WAIT_POLICY`` in the environment wins.

:func:`default_threads` is the intra-op thread count a training thread asks for by name.
``torch.set_num_threads(n)`` sets the calling thread's OpenMP threads *and* the default of
every thread that runs its first torch op later, so one thread that asks for 1 (the twin
run does) would leave every later training single-threaded; a training thread therefore
sets its count itself (:meth:`explorer.ui.jobs.training_job.TrainingJob`).

Nothing here imports torch.
"""

from __future__ import annotations

import os
import sys

#: Spins of an idle OpenMP worker before it sleeps (``GOMP_SPINCOUNT``): long enough to
#: bridge the gaps between the regions of one training step, short enough that a worker
#: whose partner lost its core sleeps within microseconds.
SPIN_COUNT = 2000


def configure_openmp() -> bool:
    """Make OpenMP workers spin briefly (:data:`SPIN_COUNT`) before they sleep, unless
    ``GOMP_SPINCOUNT`` or ``OMP_WAIT_POLICY`` is set in the environment.

    Call it before the process first imports torch (libgomp reads its environment when
    it is loaded).

    Returns:
        True when the setting can take effect (torch not imported yet), False when torch
        was already imported: then nothing is changed.
    """
    if "torch" in sys.modules:
        return False
    if "GOMP_SPINCOUNT" not in os.environ and "OMP_WAIT_POLICY" not in os.environ:
        os.environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
    return True


def default_threads() -> int:
    """Intra-op threads for a training: the CPU cores this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)
