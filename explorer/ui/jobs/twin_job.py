"""An AE and a VAE trained side by side in a background thread ("watch the holes form"
on the Compare page): progress, the latest codes of both, Stop, and both results as
validated checkpoints.

A twin run is a training like any other on this server: it waits its turn in the
server's queue (:data:`explorer.ui.jobs.training_queue.SLOTS`, state ``"queued"``) and the
page has :data:`explorer.ui.jobs.session_watch.WATCHDOG` stop it when its browser session
ends. Its results pass the same check as the Train page's
(:func:`explorer.core.limits.absurd_results`) before they are offered as models.

:class:`TwinJob` runs :func:`explorer.core.twins.train_twins` in a daemon thread and
keeps, under a lock, what the page reads through :meth:`TwinJob.snapshot`. Its lifecycle
(state, Stop, queue, thread set-up, outcome message) is
:class:`explorer.ui.jobs.background_job.BackgroundJob`'s, the same as the Train page's job. Nothing here
touches Streamlit: the page keeps one job per session in ``st.session_state``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from explorer.core.checkpoints import Checkpoint
from explorer.core.config import ModelConfig, TrainConfig
from explorer.core.metrics import evaluate
from explorer.core.twins import TwinReport, build_twins, train_twins
from explorer.ui.jobs.background_job import DONE_STATES, SAMPLE_SIZE, BackgroundJob, JobState, fixed_sample, validated_checkpoint

__all__ = ["DONE_STATES", "MODEL_CONFIG", "REPORT_EVERY", "SAMPLE_SIZE", "TwinJob", "TwinSnapshot", "run_names"]

#: Optimiser steps between two reports of both maps (re-encoding 2,000 digits twice).
REPORT_EVERY = 25
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
class TwinJob(BackgroundJob):
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
        queue: the queue that limits trainings at once (keyword only; default: the
            server's, :data:`explorer.ui.jobs.training_queue.SLOTS`); the pair takes one slot.

    Attributes:
        session_names: (AE, VAE) names in the session's model choice, set by the page
            once it has offered them there.
    """

    #: Intra-op threads. Measured on the 2 shared cores with other jobs running (load
    #: about 7): one step of a 128-64 model took 175-600 ms with 2 threads and 12-18 ms
    #: with 1 (threads waiting for each other on a busy machine).
    threads = 1
    thread_name = "twin-training"

    train_config: TrainConfig
    train_images: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    dataset: dict
    model_config: ModelConfig = MODEL_CONFIG
    sample_size: int = SAMPLE_SIZE
    _report: TwinReport | None = field(default=None, init=False)
    _codes: tuple[np.ndarray, np.ndarray] | None = field(default=None, init=False)
    _checkpoints: tuple[Checkpoint, Checkpoint] | None = field(default=None, init=False)
    session_names: tuple[str, str] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._sample_rows = fixed_sample(len(self.test_images), self.sample_size)
        self._sample_labels = self.test_labels.numpy()[self._sample_rows]

    def snapshot(self) -> TwinSnapshot:
        """A consistent copy of the state (thread-safe; no tensors copied)."""
        with self._lock:
            state, elapsed, position = self._clock()
            r = self._report
            return TwinSnapshot(
                state=state, step=r.step if r else 0, num_steps=r.num_steps if r else 0,
                epoch=r.epoch if r else 0, epochs=self.train_config.epochs, elapsed=elapsed,
                losses=r.losses if r else None, codes=self._codes, sample_labels=self._sample_labels,
                message=self._message, checkpoints=self._checkpoints, queue_position=position,
            )

    # --- the training thread -------------------------------------------------------

    def _on_report(self, report: TwinReport) -> None:
        with self._lock:
            self._report = report
            if report.codes is not None:
                self._codes = (report.codes[0], report.codes[1])

    def _train(self) -> str | None:
        models = build_twins(self.model_config, self.train_config.seed)
        sample = self.test_images[torch.from_numpy(self._sample_rows)]
        result = train_twins(models, self.train_images, self.train_config, report_images=sample,
                             report_every=REPORT_EVERY, on_report=self._on_report, should_stop=self._stop.is_set)
        # Test metrics and validated checkpoints of both; neither is kept when one is absurd.
        checkpoints = []
        for name, model, history in zip(("AE", "VAE"), models, result.histories):
            metrics = evaluate(model, self.test_images, self.test_labels, seed=self.train_config.seed)
            checkpoints.append(validated_checkpoint(model, metrics, self.train_config, history, self.dataset,
                                                    name=name)[1])
        with self._lock:
            self._checkpoints = (checkpoints[0], checkpoints[1])
        if not result.stopped:
            return None
        return (f"after {result.steps} of {self._report.num_steps} steps; "
                "both models keep their weights from that moment.")


def run_names(job: TwinJob) -> tuple[str, str]:
    """Names for the two results in the model choice, e.g. ``twin AE s0 10k e10``."""
    c = job.train_config
    images = c.subset if c.subset is not None else len(job.train_images)
    tail = f"s{c.seed} {images // 1000}k e{c.epochs}"
    return f"twin AE {tail}", f"twin VAE {tail}"
