"""Benchmark of "Watch the holes form" (Compare page): how long the twin run takes with
the page's default settings, measured as the page runs it.

Usage::

    python -m bench.twins [--repeats 2]

Each repeat starts a :class:`explorer.ui.jobs.twin_job.TwinJob` with the page's defaults
(:data:`explorer.ui.state.session.COMPARE_DEFAULTS`: training subset, epochs, seed; batch size
and learning rate of :mod:`explorer.ui.views.twins`), polls it like the page's live view
does, and records the job's own elapsed time (start to both checkpoints packaged) and
the 1-minute load average before and after (the machine may be shared). It prints one
JSON object. Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from explorer.core.config import TrainConfig
from explorer.core.data import load_split, prepare_mnist
from explorer.ui.jobs import twin_job as tj
from explorer.ui.state.session import COMPARE_DEFAULTS
from explorer.ui.views import twins as twin_view


def page_config() -> TrainConfig:
    """The TrainConfig that "Train both" builds from the page's default settings."""
    return TrainConfig(epochs=int(COMPARE_DEFAULTS["cmp_twin_epochs"]), batch_size=twin_view.BATCH_SIZE,
                       lr=twin_view.LEARNING_RATE, lr_schedule="cosine", seed=int(COMPARE_DEFAULTS["cmp_twin_seed"]),
                       subset=int(COMPARE_DEFAULTS["cmp_twin_subset"]))


def run_once(config: TrainConfig, data) -> dict:
    """One twin run as the page starts it; seconds and the state it ended in."""
    load_before = os.getloadavg()[0]
    job = tj.TwinJob(config, *data).start()
    while not job.done:  # the page's live view polls every LIVE_REFRESH_SECONDS
        time.sleep(twin_view.LIVE_REFRESH_SECONDS)
        job.snapshot()
    snap = job.snapshot()
    return {"seconds": round(snap.elapsed, 1), "state": snap.state, "load_before": load_before,
            "load_after": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    checksums = prepare_mnist()
    train_images, _ = load_split(train=True, verify=False)
    test_images, test_labels = load_split(train=False, verify=False)
    data = (train_images, test_images, test_labels, {"name": "MNIST", "sha256": checksums})
    config = page_config()
    runs = [run_once(config, data) for _ in range(args.repeats)]
    print(json.dumps({"subset": config.subset, "epochs": config.epochs, "batch_size": config.batch_size,
                      "cpu_count": os.cpu_count(), "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
