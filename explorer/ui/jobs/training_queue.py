"""At most N trainings at once on this server; the others wait in a first-in, first-out queue.

Several students training at once on 2 cores slowed each other about 20-fold; queued, each
run gets the cores it was measured with. :data:`SLOTS` is the server-wide queue every
:class:`explorer.ui.jobs.background_job.BackgroundJob` (the Train page's and the Compare page's
trainings) uses unless it is given its own.

N comes from the environment variable ``EXPLORER_MAX_TRAININGS`` (default: the number of
CPU cores, ``os.cpu_count()``). No Streamlit here.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable


def _limit_from_environment() -> int:
    """``EXPLORER_MAX_TRAININGS`` as a positive integer, else the core count."""
    text = os.environ.get("EXPLORER_MAX_TRAININGS", "").strip()
    if text.isdigit() and int(text) >= 1:
        return int(text)
    return max(1, os.cpu_count() or 1)


#: Trainings that may run at once on this server.
MAX_CONCURRENT_TRAININGS = _limit_from_environment()

#: How much a training thread steps back for the page work of every session (its Linux
#: nice increment; environment variable ``EXPLORER_TRAINING_NICE``, default 10; 0 keeps
#: it level). Only matters when the cores are busy: an idle server trains at full speed,
#: a busy one serves sliders and clicks first (a nice-10 thread gets about a tenth of
#: the CPU a nice-0 one gets while both want it).
TRAINING_NICE = int(os.environ.get("EXPLORER_TRAINING_NICE", "10") or 0)


def lower_thread_priority(increment: int | None = None) -> bool:
    """Lower the calling thread's CPU priority by ``increment`` (default
    :data:`TRAINING_NICE`), so a training yields the cores to the page work of every
    session. Call it first in a training thread: threads it starts later (PyTorch's
    intra-op workers) inherit the priority; other threads keep theirs.

    Best effort: returns False where the platform has no per-thread priority (not Linux)
    or refuses; the training then runs at normal priority.
    """
    increment = TRAINING_NICE if increment is None else increment
    if increment <= 0 or not hasattr(os, "setpriority") or not hasattr(threading, "get_native_id"):
        return False
    try:
        thread = threading.get_native_id()  # on Linux a thread is a task of its own
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + increment))
    except OSError:
        return False
    return True


class TrainingQueue:
    """A counting semaphore with a visible FIFO queue.

    A holder (any hashable object, e.g. a job) calls :meth:`wait_turn`, which returns
    once it is first in line and a slot is free, and :meth:`leave` when it is done (or
    gives up). :meth:`position` tells the page where it stands. Thread-safe.

    Args:
        limit: slots (trainings that may run at once), at least 1.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"a training queue needs at least one slot, got {limit}")
        self.limit = limit
        self._cond = threading.Condition()
        self._running: set[int] = set()
        self._waiting: deque[int] = deque()

    def wait_turn(self, holder: object, cancelled: Callable[[], bool], poll_seconds: float = 0.1) -> bool:
        """Queue ``holder`` and block until it may run (True) or ``cancelled()`` (False).

        ``cancelled`` is polled every ``poll_seconds`` while waiting; a cancelled holder
        leaves the queue. Starting is strictly first-in, first-out.
        """
        key = id(holder)
        with self._cond:
            if key not in self._running and key not in self._waiting:
                self._waiting.append(key)
            while True:
                if cancelled():
                    self._remove(key)
                    return False
                if self._waiting and self._waiting[0] == key and len(self._running) < self.limit:
                    self._waiting.popleft()
                    self._running.add(key)
                    self._cond.notify_all()  # the next in line may fit too
                    return True
                self._cond.wait(poll_seconds)

    def leave(self, holder: object) -> None:
        """Free ``holder``'s slot or place in line (nothing if it has neither)."""
        with self._cond:
            self._remove(id(holder))

    def position(self, holder: object) -> int:
        """0 when ``holder`` runs (or is not queued), else its 1-based place in line."""
        key = id(holder)
        with self._cond:
            try:
                return self._waiting.index(key) + 1
            except ValueError:
                return 0

    def counts(self) -> tuple[int, int]:
        """(running, waiting)."""
        with self._cond:
            return len(self._running), len(self._waiting)

    def _remove(self, key: int) -> None:
        self._running.discard(key)
        try:
            self._waiting.remove(key)
        except ValueError:
            pass
        self._cond.notify_all()


#: The server-wide queue (one per process).
SLOTS = TrainingQueue(MAX_CONCURRENT_TRAININGS)


def waiting_text(position: int, limit: int) -> str:
    """What a queued training's progress bar says: its place in line and the server's limit.

    Args:
        position: the 1-based place in line (:meth:`TrainingQueue.position`; 0 is read as 1).
        limit: trainings the server runs at once.
    """
    return (f"Waiting for a free training slot: {ordinal(max(position, 1))} in line "
            f"(this server trains {limit} at a time); it starts by itself")


def stopped_in_line_message(reason: str | None) -> str:
    """The message of a training stopped before its turn came (``reason``: why, or None
    when the user pressed Stop)."""
    return f"Stopped while waiting in line ({reason or 'by the user'}); nothing was trained."


def ordinal(n: int) -> str:
    """``"1st"``, ``"2nd"``, ``"3rd"``, ``"4th"``, ``"11th"``, ``"22nd"``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
