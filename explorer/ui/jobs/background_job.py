"""The lifecycle of a background training job, whatever it trains: state, Stop, the
server's queue, the thread's set-up, the outcome message, validated results.

A job is created by a page, started (:meth:`BackgroundJob.start`: a daemon thread), and
read through its ``snapshot()`` while the page redraws. Its state runs

    queued -> running -> finished | stopped | diverged | failed

(``queued``: waiting in :data:`explorer.ui.jobs.training_queue.SLOTS`, or the queue it was
given; a job stopped in line ends ``stopped`` without training). :meth:`BackgroundJob.stop`
works in every state; the browser-session watchdog (:mod:`explorer.ui.jobs.session_watch`)
calls it with a reason when the tab closes. A subclass says only what it trains
(``_train``) and what its snapshot holds: :class:`explorer.ui.jobs.training_job.TrainingJob`
(the Train page, one model) and :class:`explorer.ui.jobs.twin_job.TwinJob` (the Compare
page's AE and VAE side by side). Both train through the one training loop
(:func:`explorer.core.train.train_together`).

Nothing here touches Streamlit: a page keeps its job in ``st.session_state``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np
import torch

from explorer.core.checkpoint_format import checkpoint_bytes
from explorer.core.checkpoints import Checkpoint, load_checkpoint
from explorer.core.config import TrainConfig
from explorer.core.limits import absurd_results, reconstruction_bound
from explorer.core.models import Autoencoder
from explorer.core.threads import default_threads
from explorer.core.train import TrainingDiverged
from explorer.ui.jobs import training_queue
from explorer.ui.jobs.training_queue import TrainingQueue, lower_thread_priority, stopped_in_line_message

__all__ = ["DONE_STATES", "SAMPLE_SIZE", "BackgroundJob", "JobState", "fixed_sample", "validated_checkpoint"]

JobState = Literal["queued", "running", "finished", "stopped", "diverged", "failed"]
#: States in which the thread has ended.
DONE_STATES = ("finished", "stopped", "diverged", "failed")
#: Test digits on a job's live latent maps (a fixed sample, the same for every snapshot).
SAMPLE_SIZE = 2000
SAMPLE_SEED = 0


def fixed_sample(num_images: int, size: int = SAMPLE_SIZE, seed: int = SAMPLE_SEED) -> np.ndarray:
    """Sorted row indices of a fixed random sample of ``min(size, num_images)`` images."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(num_images, size=min(size, num_images), replace=False))


def validated_checkpoint(model: Autoencoder, metrics: dict, train_config: TrainConfig, history: list[dict],
                         dataset: dict, name: str | None = None) -> tuple[bytes, Checkpoint]:
    """A trained model as a checkpoint that passed every check a loaded file passes (one
    path: serialised with ``checkpoint_bytes``, loaded back with ``load_checkpoint``).

    Args:
        model: the trained model (CPU).
        metrics: its final test metrics (:func:`explorer.core.metrics.evaluate`), nats per image.
        train_config: how it was trained; history: its epochs as dicts; dataset:
            ``{"name", "sha256"}`` of the training data (all stored in the checkpoint).
        name: the model's name in the message when a job trains several (e.g. ``"AE"``).

    Returns:
        (the checkpoint's bytes, the loaded :class:`explorer.core.checkpoints.Checkpoint`).

    Raises:
        TrainingDiverged: the final weights or metrics are non-finite or absurd
            (:func:`explorer.core.limits.absurd_results`); nothing is kept.
    """
    problem = absurd_results(model, metrics, reconstruction_bound(model.config))
    if problem is not None:
        if name is not None:
            problem = f"the {name}'s {problem.removeprefix('the ')}"
        raise TrainingDiverged(f"Training diverged: at the end {problem} (learning rate {train_config.lr:g}). "
                               "Try a smaller learning rate.", [])
    data = checkpoint_bytes(model, train_config=train_config, history=history, metrics=metrics, dataset=dataset)
    return data, load_checkpoint(data, written_here=True)


@dataclass(eq=False)  # identity, not field-wise comparison of tensors
class BackgroundJob:
    """One training run in a background daemon thread (create, then :meth:`start`).

    A subclass implements :meth:`_train` (runs in the thread once the job has a slot)
    and a ``snapshot()`` that reads its state under ``_lock`` (:meth:`_clock` gives the
    state, the elapsed seconds and the place in line).

    Args:
        queue: the queue that limits trainings at once (default: the server's,
            :data:`explorer.ui.jobs.training_queue.SLOTS`, read when the job starts); keyword only.

    Class attributes:
        threads: intra-op threads of the training thread (None: one per core,
            :func:`explorer.core.threads.default_threads`).
        thread_name: the thread's name (seen in ``threading.enumerate()``).
    """

    threads: ClassVar[int | None] = None
    thread_name: ClassVar[str] = "training-job"

    queue: TrainingQueue | None = field(default=None, kw_only=True)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    _state: JobState = field(default="queued", init=False)
    _stop_reason: str | None = field(default=None, init=False)
    _start: float = field(default=0.0, init=False)
    _end: float | None = field(default=None, init=False)
    _message: str = field(default="", init=False)

    def start(self) -> "BackgroundJob":
        """Start training in a daemon thread; returns self.

        Raises:
            RuntimeError: the job was already started.
        """
        if self._thread is not None:
            raise RuntimeError("this training job has already been started")
        if self.queue is None:
            self.queue = training_queue.SLOTS
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self, reason: str | None = None) -> None:
        """Ask training to end before its next step (within one step, plus any test
        evaluation in progress); the models keep their current weights. A queued job
        leaves the queue without training.

        Args:
            reason: why, for the message (default: the user pressed Stop), e.g.
                ``"its browser session ended"`` (:mod:`explorer.ui.jobs.session_watch`).
        """
        if reason is not None and not self._stop.is_set():
            self._stop_reason = reason
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True when it has."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.done

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` has been called."""
        return self._stop.is_set()

    @property
    def done(self) -> bool:
        """True once the thread has ended (any outcome) and the result is ready."""
        with self._lock:
            return self._state in DONE_STATES

    def _clock(self) -> tuple[JobState, float, int]:
        """(state, seconds since the run started, 1-based place in line or 0); call
        with ``_lock`` held."""
        now = self._end if self._end is not None else time.perf_counter()
        elapsed = now - self._start if self._start else 0.0
        position = self.queue.position(self) if self._state == "queued" and self.queue else 0
        return self._state, elapsed, position

    # --- the training thread -------------------------------------------------------

    def _train(self) -> str | None:
        """Train and keep the results (in the thread, with a slot). Returns None when the
        run finished, else how far a stopped run got (e.g. ``"after 2 complete epochs;
        ..."``). Raises TrainingDiverged (nothing offered) or anything else (failed)."""
        raise NotImplementedError

    def _run(self) -> None:
        if not self._enter_slot():
            return
        state: JobState = "finished"
        message = ""
        try:
            stopped_after = self._train()
            if stopped_after is not None:
                state = "stopped"
                who = f"Stopped ({self._stop_reason})" if self._stop_reason else "Stopped by the user"
                message = f"{who} {stopped_after}"
        except TrainingDiverged as exc:
            state, message = "diverged", f"{exc} A diverged run is not offered as a model."
        except Exception as exc:  # noqa: BLE001 - reported to the page, never lost
            state, message = "failed", f"Training failed: {type(exc).__name__}: {exc}"
        finally:
            self.queue.leave(self)  # the next in line starts
        with self._lock:
            self._state, self._message = state, message
            self._end = time.perf_counter()

    def _enter_slot(self) -> bool:
        """First thing in the job's thread: set it up for training, then wait in the queue.

        Denormals are flushed before any torch op of the thread: the flag is per thread and
        the intra-op workers it starts inherit it when they are created (set later, they
        run without it and slow down several-fold once weights and gradients turn
        denormal). The thread yields the cores to every session's page work
        (:func:`explorer.ui.jobs.training_queue.lower_thread_priority`) and uses
        :attr:`threads` intra-op threads (as a side effect also the default of threads
        started later).

        Returns:
            True once the job has a slot and runs; False when it was stopped while waiting
            (its state is then "stopped", with the reason).
        """
        torch.set_flush_denormal(True)
        lower_thread_priority()
        torch.set_num_threads(self.threads or default_threads())
        if not self.queue.wait_turn(self, self._stop.is_set):
            with self._lock:
                self._state = "stopped"
                self._message = stopped_in_line_message(self._stop_reason)
                self._end = self._start = time.perf_counter()
            return False
        with self._lock:
            self._state = "running"
            self._start = time.perf_counter()
        return True
