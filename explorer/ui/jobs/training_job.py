"""Training in the background for one browser session: progress, latent snapshots, Stop.

A :class:`TrainingJob` runs :func:`explorer.core.train.train` in a daemon thread so the
page that started it keeps redrawing. The thread writes, under a lock, what the page
reads through :meth:`TrainingJob.snapshot`:

- progress (epoch, batch, elapsed seconds, estimated seconds left);
- the per-epoch history (:class:`explorer.core.train.EpochRecord`);
- after every epoch (and once before the first step), the 2-D latent map of a fixed
  sample of test digits, re-encoded with the current weights, so a class can watch the
  clusters form and replay them afterwards;
- at the end, the outcome (finished, stopped, diverged, failed) and the trained model
  as a validated :class:`explorer.core.checkpoints.Checkpoint`.

At most :data:`explorer.ui.jobs.training_queue.MAX_CONCURRENT_TRAININGS` jobs train at once
on a server: a started job first waits in the server's FIFO queue (state ``"queued"``,
:attr:`JobSnapshot.queue_position` is its place in line), then runs. :meth:`TrainingJob.stop`
works while queued too. Anything that starts jobs (the Train page, the Compare page's
joint training) goes through the same queue by default; pass ``queue=`` to use another.
A job kept in the session under :data:`explorer.ui.state.session.TRAINING_JOB_KEY` is also
stopped when its browser tab closes and handed to the next session after a reload
(:mod:`explorer.ui.state.browser_store`); a job kept elsewhere gets the first of these with
``session_watch.WATCHDOG.watch(job, session_watch.current_session_id())``.
``stop(reason)`` names who stopped it in the message; ``stop()`` means the user.

The Train page's settings, run names and time formats are in :mod:`explorer.ui.jobs.train_form`.

The lifecycle (state, Stop, queue, thread set-up, outcome message) is
:class:`explorer.ui.jobs.background_job.BackgroundJob`'s; this module says what the Train page's job
trains and what its snapshot holds. Nothing here touches Streamlit: the page keeps one
job per session in ``st.session_state``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch

from explorer.core.checkpoints import Checkpoint, load_m1
from explorer.core.config import ModelConfig, TrainConfig
from explorer.core.latent import encode_dataset, project_2d
from explorer.core.metrics import evaluate
from explorer.core.models import Autoencoder, build_model
from explorer.core.train import BatchProgress, EpochRecord, train
from explorer.ui.jobs.background_job import DONE_STATES, SAMPLE_SIZE, BackgroundJob, JobState, fixed_sample, validated_checkpoint
from explorer.ui.jobs.train_form import run_name

__all__ = ["DONE_STATES", "SAMPLE_SIZE", "JobSnapshot", "JobState", "LatentSnapshot", "TrainingJob"]


@dataclass(frozen=True)
class LatentSnapshot:
    """The latent map of the fixed test sample at one point of training.

    Attributes:
        epoch: completed epochs when it was taken (0: initial weights).
        xy: (n, 2) float32 coordinates (mu itself for a 2-D latent space, else its
            first two principal components, see :func:`explorer.core.latent.project_2d`).
        axis_names: axis titles, e.g. ``("z1", "z2")`` or ``("PC1 of mu", "PC2 of mu")``.
    """

    epoch: int
    xy: np.ndarray
    axis_names: tuple[str, str]


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of a job's state for drawing.

    Attributes:
        state: ``"queued"`` (waiting for a free training slot), ``"running"``,
            ``"finished"``, ``"stopped"``, ``"diverged"`` or ``"failed"``.
        epoch: current 1-based epoch (0 before the first step).
        batch: batches done in that epoch.
        num_batches: batches per epoch (0 before the first step).
        epochs: epochs asked for.
        elapsed: seconds since the job started.
        eta: estimated seconds left (None until the first step; 0 when done).
        history: completed epochs.
        snapshots: latent maps, one per completed epoch plus the initial one.
        sample_labels: (n,) labels of the sampled test digits.
        message: what ended the run (diverged/failed/stopped), else "".
        checkpoint: the trained model once the job is done (None while running, or
            when the run diverged or failed: a diverged run is never offered).
        name: descriptive name of the trained model (:func:`run_name`), "" until done.
        queue_position: while queued, the 1-based place in line (1: starts next); else 0.
    """

    state: JobState
    epoch: int
    batch: int
    num_batches: int
    epochs: int
    elapsed: float
    eta: float | None
    history: tuple[EpochRecord, ...]
    snapshots: tuple[LatentSnapshot, ...]
    sample_labels: np.ndarray
    message: str
    checkpoint: Checkpoint | None
    name: str
    queue_position: int = 0

    @property
    def fraction(self) -> float:
        """Share of all optimiser steps done, in [0, 1]."""
        if self.num_batches == 0:
            return 1.0 if self.state in DONE_STATES else 0.0
        return min(1.0, ((self.epoch - 1) * self.num_batches + self.batch) / (self.epochs * self.num_batches))


@dataclass(eq=False)  # identity, not field-wise comparison of tensors
class TrainingJob(BackgroundJob):
    """One training run in a background daemon thread (create, then :meth:`start`).

    Args:
        model_config: the model to build (``build_model(model_config, seed=train_config.seed)``).
        train_config: optimisation settings.
        train_images: (N, 1, 28, 28) pixels in [0, 1]; read only (may be shared).
        test_images: (M, 1, 28, 28) pixels in [0, 1], evaluated after every epoch.
        test_labels: (M,) digit labels, for the latent map (and the condition of a
            conditional model's evaluation).
        dataset: ``{"name", "sha256"}`` of the training data, stored in the checkpoint.
        sample_size: test digits in the live latent map.
        train_labels: (N,) digit labels; required by a conditional model and by M2 (which
            knows ``train_config.labels`` of them; an M1+M2 config's M1 file is loaded and
            checked in the thread, :func:`explorer.core.checkpoints.load_m1`).
        queue: the queue that limits trainings at once (keyword only; default: the
            server's, :data:`explorer.ui.jobs.training_queue.SLOTS`).

    Attributes:
        model: the model being trained (built from ``model_config`` and the seed by
            the thread; None before); the thread owns it until :attr:`done`.
        session_model_name: set by the app once the trained model is offered in the
            model choice (see :func:`explorer.ui.state.registry.adopt_finished_training`).
    """

    #: Intra-op threads: one per core (``threads.default_threads()``). Measured on 2
    #: cores, 2 epochs of 20,000 images, default model, in a thread of a process whose
    #: main thread runs no torch ops (as in the app): 2 threads 3.1-3.2 s, 1 thread
    #: 4.8-4.9 s. (Where the main thread has run parallel torch ops first, a second
    #: thread's work slows to about 5.5 s with either setting.) Set explicitly in the
    #: thread: its default is whatever the last ``torch.set_num_threads`` of any thread
    #: asked for (the twin run asks for 1), see :mod:`explorer.core.threads`.
    threads = None

    model_config: ModelConfig
    train_config: TrainConfig
    train_images: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    dataset: dict
    sample_size: int = SAMPLE_SIZE
    train_labels: torch.Tensor | None = None
    _progress: BatchProgress | None = field(default=None, init=False)
    _history: list[EpochRecord] = field(default_factory=list, init=False)
    _snapshots: list[LatentSnapshot] = field(default_factory=list, init=False)
    _checkpoint: Checkpoint | None = field(default=None, init=False)
    _checkpoint_bytes: bytes | None = field(default=None, init=False)
    _name: str = field(default="", init=False)
    session_model_name: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        # Only NumPy work here; every torch op happens in the training thread (see _train).
        self._sample_rows = fixed_sample(len(self.test_images), self.sample_size)
        self._sample_labels = self.test_labels.numpy()[self._sample_rows]
        self.model: Autoencoder | None = None

    def checkpoint_bytes(self) -> bytes | None:
        """The serialised checkpoint of the trained model (None while running or without one)."""
        with self._lock:
            return self._checkpoint_bytes

    def snapshot(self) -> JobSnapshot:
        """A consistent copy of the job's state (thread-safe, cheap: no tensors copied)."""
        with self._lock:
            state, elapsed, position = self._clock()
            p = self._progress
            snap = JobSnapshot(
                state=state,
                epoch=p.epoch if p else 0,
                batch=p.batch if p else 0,
                num_batches=p.num_batches if p else 0,
                epochs=self.train_config.epochs,
                elapsed=elapsed,
                eta=None,
                history=tuple(self._history),
                snapshots=tuple(self._snapshots),
                sample_labels=self._sample_labels,
                message=self._message,
                checkpoint=self._checkpoint,
                name=self._name,
                queue_position=position,
            )
        if state in DONE_STATES:
            eta = 0.0
        elif snap.fraction > 0:
            eta = elapsed * (1 - snap.fraction) / snap.fraction
        else:
            eta = None
        return replace(snap, eta=eta)

    # --- the training thread -------------------------------------------------------

    def _take_snapshot(self, epoch: int) -> None:
        encodings = encode_dataset(self.model, self._sample_images, torch.from_numpy(self._sample_labels))
        xy, axis_names = project_2d(encodings.mu)
        with self._lock:
            self._snapshots.append(LatentSnapshot(epoch, xy, axis_names))

    def _on_batch(self, progress: BatchProgress) -> None:
        with self._lock:
            self._progress = progress

    def _on_epoch(self, record: EpochRecord) -> None:
        with self._lock:
            self._history.append(record)
        self._take_snapshot(record.epoch)

    def _train(self) -> str | None:
        # Torch work starts here, not in the constructor: a thread that runs parallel
        # torch ops keeps an OpenMP worker team that slows other threads' torch work
        # (the constructor runs in the page's script thread).
        self._sample_images = self.test_images[torch.from_numpy(self._sample_rows)]
        self.model = build_model(self.model_config, seed=self.train_config.seed)
        if self.model_config.m1 is not None:  # M1+M2: M2 reads the codes of the M1 VAE (as the CLI's --m1)
            self.model.attach_m1(load_m1(self.model_config.m1, self.model_config.m1_sha256))
        self._take_snapshot(0)
        result = train(self.model, self.train_images, self.test_images, self.train_config,
                       on_batch=self._on_batch, on_epoch=self._on_epoch,
                       should_stop=self._stop.is_set, train_labels=self.train_labels,
                       test_labels=self.test_labels)
        with self._lock:
            history = list(self._history)
        metrics = evaluate(self.model, self.test_images, self.test_labels, seed=self.train_config.seed)
        data, checkpoint = validated_checkpoint(self.model, metrics, self.train_config,
                                                [r.to_dict() for r in history], self.dataset)
        name = run_name(self.model_config, self.train_config, len(history))
        with self._lock:
            self._checkpoint_bytes, self._checkpoint, self._name = data, checkpoint, name
        if not result.stopped:
            return None
        done = len(history)
        return (f"after {done} complete epoch{'s' if done != 1 else ''}; "
                "the model keeps its weights from the moment it stopped.")
