"""Benchmark of in-app training: the default settings' -ELBO against wall time, and
the cost of the live updates.

Usage::

    python -m bench.training [--repeats 2]

For each repeat, in alternating order, it runs with the Train page's default settings
(:data:`explorer.ui.jobs.train_form.DEFAULT_TRAIN_CONFIG`) on all 60,000 training images:

1. a :class:`explorer.ui.jobs.training_job.TrainingJob` as the page runs it (background thread,
   progress callback, the 2,000-digit latent snapshot re-encoded after every epoch),
   polled like the page's 1 s refresh, which also rebuilds both figures and serialises
   them to JSON as Streamlit does;
2. the plain trainer :func:`explorer.core.train.train` with no callbacks, in a thread of
   its own set up like the job's.

It prints one JSON object: the job's curve of test -ELBO against seconds, the seconds
at which -ELBO first reached 145 nats, total seconds of both, the live-update overhead
(job / plain - 1) with its medians, and the measured cost of one snapshot and one
redraw. Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from dataclasses import asdict, replace

import plotly.io
import torch

from explorer.ui import figures
from explorer.ui.figures import charts
from explorer.ui.jobs import train_form as form
from explorer.ui.jobs import training_job as tj
from explorer.core.data import load_mnist
from explorer.core.models import build_model
from explorer.core.train import train

TARGET_NEG_ELBO = 145.0
REFRESH_SECONDS = 2.0  # as the Train page (LIVE_REFRESH_SECONDS)


def redraw(snapshot: tj.JobSnapshot, memo: dict) -> float:
    """Seconds to redraw the page's two figures for one snapshot, as the page does:
    build a figure when its epoch changes, serialise both to JSON every time."""
    start = time.perf_counter()
    if snapshot.snapshots:
        shown = snapshot.snapshots[-1]
        key = ("map", shown.epoch)
        if key not in memo:
            memo[key] = figures.latent_scatter(shown.xy, snapshot.sample_labels, axis_names=shown.axis_names)
        plotly.io.to_json(memo[key])
    if snapshot.history:
        key = ("curves", len(snapshot.history))
        if key not in memo:
            memo[key] = charts.training_curves([r.to_dict() for r in snapshot.history])
        plotly.io.to_json(memo[key])
    return time.perf_counter() - start


def run_job(data, config=form.DEFAULT_TRAIN_CONFIG) -> dict:
    """One TrainingJob (default settings), redrawn every REFRESH_SECONDS."""
    job = tj.TrainingJob(form.DEFAULT_MODEL_CONFIG, config, data.train_images,
                         data.test_images, data.test_labels, data.dataset_info())
    snapshot_seconds = []
    original = job._take_snapshot

    def timed_snapshot(epoch):
        start = time.perf_counter()
        original(epoch)
        snapshot_seconds.append(time.perf_counter() - start)

    job._take_snapshot = timed_snapshot
    redraws, memo = [], {}
    start = time.perf_counter()
    job.start()
    while not job.join(REFRESH_SECONDS):
        redraws.append(redraw(job.snapshot(), memo))
    total = time.perf_counter() - start
    snap = job.snapshot()
    curve = [(round(r.seconds, 2), round(r.metrics["test_neg_elbo"], 2)) for r in snap.history]
    reached = next((s for s, v in curve if v <= TARGET_NEG_ELBO), None)
    return {"total_seconds": total, "curve": curve, "seconds_to_145": reached,
            "final_neg_elbo": snap.checkpoint.metrics["test_neg_elbo"],
            "snapshot_seconds_median": statistics.median(snapshot_seconds[1:]),
            "redraw_seconds_median": statistics.median(redraws) if redraws else None,
            "redraws": len(redraws)}


def run_plain(data, config=form.DEFAULT_TRAIN_CONFIG) -> dict:
    """The plain trainer, same settings, no callbacks, in a fresh thread that flushes
    denormals before its first op (as the job does; see ``TrainingJob._run``), so the
    two differ only by the live updates."""
    out = {}

    def work():
        torch.set_flush_denormal(True)
        if tj.TrainingJob.threads is not None:
            torch.set_num_threads(tj.TrainingJob.threads)
        model = build_model(form.DEFAULT_MODEL_CONFIG, seed=config.seed)
        start = time.perf_counter()
        result = train(model, data.train_images, data.test_images, config)
        out.update(total_seconds=time.perf_counter() - start,
                   final_neg_elbo=result.history[-1].metrics["test_neg_elbo"])

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the measurements and print them as JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.training",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=2, help="pairs of full default runs")
    parser.add_argument("--short-pairs", type=int, default=0,
                        help="extra pairs of short runs (2 epochs of 20,000 images) for the overhead")
    args = parser.parse_args(argv)
    # Load in a short-lived thread, as the app's script threads do: torch ops in the
    # main thread leave an OpenMP worker team behind that slows every other thread's
    # torch work (measured: 2 epochs of 20,000 images 3.1 s -> 5.5 s).
    loaded = []
    loader = threading.Thread(target=lambda: loaded.append(load_mnist()))
    loader.start()
    loader.join()
    data = loaded[0]
    jobs, plains, short_jobs, short_plains = [], [], [], []
    for i in range(args.repeats):
        order = [run_job, run_plain] if i % 2 == 0 else [run_plain, run_job]
        for fn in order:
            (jobs if fn is run_job else plains).append(fn(data))
    short = replace(form.DEFAULT_TRAIN_CONFIG, epochs=2, subset=20_000)
    for i in range(args.short_pairs):
        order = [run_job, run_plain] if i % 2 == 0 else [run_plain, run_job]
        for fn in order:
            (short_jobs if fn is run_job else short_plains).append(fn(data, short)["total_seconds"])
    overheads = [j["total_seconds"] / p["total_seconds"] - 1 for j, p in zip(jobs, plains)]
    short_overheads = [j / p - 1 for j, p in zip(short_jobs, short_plains)]
    print(json.dumps({
        "settings": asdict(form.DEFAULT_TRAIN_CONFIG),
        "threads": torch.get_num_threads(),
        "job_runs": jobs,
        "plain_runs": plains,
        "job_seconds_median": statistics.median(j["total_seconds"] for j in jobs) if jobs else None,
        "plain_seconds_median": statistics.median(p["total_seconds"] for p in plains) if plains else None,
        "live_overhead_per_pair": [round(o, 3) for o in overheads],
        "live_overhead_median": round(statistics.median(overheads), 3) if overheads else None,
        "short_pairs_seconds": list(zip(short_jobs, short_plains)),
        "short_overhead_per_pair": [round(o, 3) for o in short_overheads],
        "short_overhead_median": round(statistics.median(short_overheads), 3) if short_overheads else None,
        "active_threads_after": threading.active_count(),
    }, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
