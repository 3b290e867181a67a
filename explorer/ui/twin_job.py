"""An AE and a VAE trained side by side in a background thread ("watch the holes form"
on the Compare page): progress, the latest codes of both, Stop, and both results as
validated checkpoints.

A twin run is a training like any other on this server: it waits its turn in the
server's queue (:data:`explorer.ui.training_queue.SLOTS`, state ``"queued"``) and the
page has :data:`explorer.ui.session_watch.WATCHDOG` stop it when its browser session
ends. Its results pass the same check as the Train page's
(:func:`explorer.core.limits.absurd_results`) before they are offered as models.

:class:`TwinJob` runs :func:`explorer.core.twins.train_twins` in a daemon thread and
keeps, under a lock, what the page reads through :meth:`TwinJob.snapshot`. Nothing here
touches Streamlit: the page keeps one job per session in ``st.session_state``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch

from explorer.core.checkpoints import Checkpoint, checkpoint_bytes, load_checkpoint
from explorer.core.config import ModelConfig, TrainConfig
from explorer.core.limits import absurd_results, reconstruction_bound
from explorer.core.metrics import evaluate
from explorer.core.train import TrainingDiverged
from explorer.core.twins import TwinReport, build_twins, train_twins
from explorer.ui.training_job import fixed_sample
from explorer.ui.training_queue import SLOTS, QueuedJob, TrainingQueue

JobState = Literal["queued", "running", "finished", "stopped", "diverged", "failed"]
DONE_STATES = ("finished", "stopped", "diverged", "failed")
#: Test digits on the live maps (a fixed sample, the same for both models and every report).
SAMPLE_SIZE = 2000
#: Optimiser steps between two reports of both maps (re-encoding 2,000 digits twice).
REPORT_EVERY = 25
#: Intra-op threads of the training thread. Measured on the 2 shared cores with other
#: jobs running (load about 7): one step of a 128-64 model took 175-600 ms with 2
#: threads and 12-18 ms with 1 (threads waiting for each other on a busy machine).
TRAINING_THREADS = 1
#: The twins' networks: those of the shipped models.
MODEL_CONFIG = ModelConfig(kind="vae", latent_dim=2, hidden_sizes=(512, 256))


@dataclass(frozen=True)
class TwinSnapshot:
    """A consistent copy of a :class:`TwinJob`'s state for drawing.

    Attributes:
        state: one of ``queued`` (waiting for a free training slot), ``running``,
            ``finished``, ``stopped``, ``diverged``, ``failed``.
        step: optimiser steps done (each model); num_steps: steps in the whole run.
        epoch: current 1-based epoch (0 before the first step); epochs: asked for.
        elapsed: seconds since the start.
        losses: (AE, VAE) mean training loss since the previous report, nats per image.
        codes: (AE z, VAE mu) of the sample digits, (n, 2) each; None before the first report.
        sample_labels: (n,) labels of the sample digits.
        message: what ended the run (stopped, diverged, failed), else "".
        checkpoints: (AE, VAE) once done with a result, else None.
        queue_position: while queued, the 1-based place in line (1: starts next); else 0.
    """

    state: JobState
    step: int
    num_steps: int
    epoch: int
    epochs: int
    elapsed: float
    losses: tuple[float, float] | None
    codes: tuple[np.ndarray, np.ndarray] | None
    sample_labels: np.ndarray
    message: str
    checkpoints: tuple[Checkpoint, Checkpoint] | None
    queue_position: int = 0

    @property
    def fraction(self) -> float:
        """Share of the steps done, in [0, 1]."""
        if self.num_steps == 0:
            return 1.0 if self.state in DONE_STATES else 0.0
        return min(1.0, self.step / self.num_steps)


@dataclass(eq=False)
class TwinJob(QueuedJob):
    """An AE and a VAE with the same initial weights, trained on the same batches in a
    daemon thread (create, then :meth:`start`).

    Args:
        train_config: epochs, batch size, lr, schedule, seed (of the weights and the
            batches) and subset of the training split.
        train_images: (N, 1, 28, 28) pixels in [0, 1]; read only.
        test_images: (M, 1, 28, 28) pixels in [0, 1]: the live maps' sample and the
            final test metrics.
        test_labels: (M,) digit labels.
        dataset: ``{"name", "sha256"}`` of the training data, stored in the checkpoints.
        model_config: the networks (its kind is ignored: one AE, one VAE).
        queue: the queue that limits trainings at once (default: the server's,
            :data:`explorer.ui.training_queue.SLOTS`); the pair takes one slot.

    Attributes:
        session_names: (AE, VAE) names in the session's model choice, set by the page
            once it has offered them there.
    """

    train_config: TrainConfig
    train_images: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    dataset: dict
    model_config: ModelConfig = MODEL_CONFIG
    sample_size: int = SAMPLE_SIZE
    queue: TrainingQueue | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    _state: JobState = field(default="queued", init=False)
    _start: float = field(default=0.0, init=False)
    _end: float | None = field(default=None, init=False)
    _report: TwinReport | None = field(default=None, init=False)
    _codes: tuple[np.ndarray, np.ndarray] | None = field(default=None, init=False)
    _message: str = field(default="", init=False)
    _stop_reason: str | None = field(default=None, init=False)
    _checkpoints: tuple[Checkpoint, Checkpoint] | None = field(default=None, init=False)
    session_names: tuple[str, str] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._sample_rows = fixed_sample(len(self.test_images), self.sample_size)
        self._sample_labels = self.test_labels.numpy()[self._sample_rows]

    def start(self) -> "TwinJob":
        """Start training in a daemon thread; returns self.

        Raises:
            RuntimeError: the job was already started.
        """
        if self._thread is not None:
            raise RuntimeError("this job has already been started")
        if self.queue is None:
            self.queue = SLOTS
        self._thread = threading.Thread(target=self._run, name="twin-training", daemon=True)
        self._thread.start()
        return self

    def stop(self, reason: str | None = None) -> None:
        """Ask training to end before its next step; both models keep their weights. A
        queued job leaves the queue without training.

        Args:
            reason: why, for the message (default: the user pressed Stop), e.g.
                ``"its browser session ended"`` (:mod:`explorer.ui.session_watch`).
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
        """True once the thread has ended and its result is ready."""
        with self._lock:
            return self._state in DONE_STATES

    def snapshot(self) -> TwinSnapshot:
        """A consistent copy of the state (thread-safe; no tensors copied)."""
        with self._lock:
            r = self._report
            state = self._state
            now = self._end if self._end is not None else time.perf_counter()
            return TwinSnapshot(
                state=state, step=r.step if r else 0, num_steps=r.num_steps if r else 0,
                epoch=r.epoch if r else 0, epochs=self.train_config.epochs,
                elapsed=now - self._start if self._start else 0.0,
                losses=r.losses if r else None, codes=self._codes, sample_labels=self._sample_labels,
                message=self._message, checkpoints=self._checkpoints,
                queue_position=self.queue.position(self) if state == "queued" and self.queue else 0,
            )

    # --- the training thread -------------------------------------------------------

    def _on_report(self, report: TwinReport) -> None:
        with self._lock:
            self._report = report
            if report.codes is not None:
                self._codes = (report.codes[0], report.codes[1])

    def _run(self) -> None:
        if not self._enter_slot(TRAINING_THREADS):
            return
        state: JobState = "finished"
        message = ""
        try:
            models = build_twins(self.model_config, self.train_config.seed)
            sample = self.test_images[torch.from_numpy(self._sample_rows)]
            try:
                result = train_twins(models, self.train_images, self.train_config, report_images=sample,
                                     report_every=REPORT_EVERY, on_report=self._on_report,
                                     should_stop=self._stop.is_set)
            except TrainingDiverged as exc:
                state, message = "diverged", f"{exc} No result is kept."
            else:
                if result.stopped:
                    state = "stopped"
                    who = f"Stopped ({self._stop_reason})" if self._stop_reason else "Stopped by the user"
                    message = (f"{who} after {result.steps} of {self._report.num_steps} steps; "
                               "both models keep their weights from that moment.")
                problem = self._package(models, result.histories)
                if problem is not None:
                    state = "diverged"
                    message = (f"Training diverged: at the end {problem} (learning rate "
                               f"{self.train_config.lr:g}). A diverged run is not offered as a model.")
        except Exception as exc:  # noqa: BLE001 - reported to the page, never lost
            state, message = "failed", f"Training failed: {type(exc).__name__}: {exc}"
        finally:
            self.queue.leave(self)  # the next in line starts
        with self._lock:
            self._state, self._message = state, message
            self._end = time.perf_counter()

    def _package(self, models, histories: list[list[dict]]) -> str | None:
        """Test metrics and validated checkpoints of both models (serialised, loaded back).

        Returns:
            None, or what is non-finite or absurd in either model's final weights or
            metrics (:func:`explorer.core.limits.absurd_results`, named with the model);
            then neither result is kept.
        """
        checkpoints = []
        for name, model, history in zip(("AE", "VAE"), models, histories):
            metrics = evaluate(model, self.test_images, self.test_labels, seed=self.train_config.seed)
            problem = absurd_results(model, metrics, reconstruction_bound(model.config))
            if problem is not None:
                return f"the {name}'s {problem.removeprefix('the ')}"
            data = checkpoint_bytes(model, train_config=self.train_config, history=history, metrics=metrics,
                                    dataset=self.dataset)
            checkpoints.append(load_checkpoint(data, written_here=True))
        with self._lock:
            self._checkpoints = (checkpoints[0], checkpoints[1])
        return None


def run_names(job: TwinJob) -> tuple[str, str]:
    """Names for the two results in the model choice, e.g. ``twin AE s0 10k e10``."""
    c = job.train_config
    images = c.subset if c.subset is not None else len(job.train_images)
    tail = f"s{c.seed} {images // 1000}k e{c.epochs}"
    return f"twin AE {tail}", f"twin VAE {tail}"
