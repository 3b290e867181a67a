"""In-app training speed: the Train page's training in the main thread against the same
training in a background thread of a process that looks like the app's.

Usage::

    python -m bench.thread_training [--repeats 3] [--subset 10000] [--epochs 7]

Both modes run :class:`explorer.ui.jobs.training_job.TrainingJob` with the Train page's
defaults (:data:`explorer.ui.jobs.train_form.DEFAULT_TRAIN_CONFIG`, here on ``--subset``
training images): the same code, callbacks and latent snapshots, the same nice level
(``training_queue.lower_thread_priority``); only the thread and its neighbours differ.

- ``main``: the job's work (``TrainingJob._run``) called in the main thread of a process
  that runs nothing else, as ``python -m explorer.cli.train`` trains;
- ``app``: as in the Streamlit server. The main thread runs no torch op (Streamlit's
  event loop). A "script run" thread first does what the Explorer page's first run
  does (loads the shipped VAE, encodes the 10,000 test digits, decodes a 20 x 20 grid)
  and ends, as Streamlit's script threads do; the job then trains in its own daemon
  thread (``TrainingJob.start``) while, every ``LIVE_REFRESH_SECONDS``, a new short-lived
  thread redraws the live view as pages/train.py does (``job.snapshot()``, the map and
  the curves built once per epoch, both serialised to JSON every time);
  ``--script-torch`` makes each redraw also decode a 20 x 20 grid (another session's
  slider or grid on the same server).

Each run is a fresh process (OpenMP state is per process); the modes alternate. It
prints one JSON object: seconds per run (the job's own ``elapsed``: training, the
per-epoch evaluations and snapshots, packaging), voluntary context switches of the
whole process per second (OpenMP workers that sleep between parallel regions switch
thousands of times per second; spinning ones do not), the medians and
``app / main - 1``. Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import replace

MODES = ("main", "app")
LIVE_REFRESH_SECONDS = 2.0  # as pages/train.py


def _voluntary_switches() -> int:
    """Voluntary context switches of this process so far, ended threads included."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw


def _in_thread(fn) -> None:
    """Run ``fn`` in a new thread and wait for it (a Streamlit script run)."""
    thread = threading.Thread(target=fn)
    thread.start()
    thread.join()


def _script_run(decode_only: bool = False) -> None:
    """What a script run of the app does with torch: the Explorer page's first run
    (the shipped VAE, the test set encoded, a 20 x 20 manifold grid decoded), or
    (``decode_only``) just the grid."""
    from explorer.core.checkpoints import load_checkpoint
    from explorer.core.data import load_split
    from explorer.core.latent import encode_dataset
    from explorer.core.manifold import decode_manifold, manifold_coordinates, manifold_z
    from explorer.ui.state.registry import CHECKPOINT_DIR, DEFAULT_CHECKPOINT

    model = load_checkpoint(CHECKPOINT_DIR / DEFAULT_CHECKPOINT).model
    if not decode_only:
        images, labels = load_split(train=False)
        encode_dataset(model, images, labels)
    decode_manifold(model, manifold_z(manifold_coordinates(20, "paper")))


def _redraw(job, memo: dict, script_torch: bool) -> None:
    """The Train page's live fragment: the snapshot, the figures (built once per epoch),
    both serialised as Streamlit does (:func:`bench.training.redraw`)."""
    from bench.training import redraw  # imports torch: only once the process has set up OpenMP

    redraw(job.snapshot(), memo)
    if script_torch:
        _script_run(decode_only=True)


def _child(mode: str, subset: int, epochs: int, script_torch: bool) -> dict:
    from explorer.core.threads import configure_openmp

    configure_openmp()  # as app.py does, before torch loads (GOMP_SPINCOUNT in the environment wins)
    import torch  # noqa: F401  (imported before the clock starts, as in the app)

    from explorer.core.data import load_mnist
    from explorer.ui.jobs import train_form as form
    from explorer.ui.jobs import training_job as tj
    from explorer.ui.jobs.training_queue import TrainingQueue

    loaded = []  # loaded in a thread that then ends: no OpenMP team stays behind in the main thread
    _in_thread(lambda: loaded.append(load_mnist()))
    data = loaded[0]
    config = replace(form.DEFAULT_TRAIN_CONFIG, subset=subset, epochs=epochs)
    job = tj.TrainingJob(form.DEFAULT_MODEL_CONFIG, config, data.train_images, data.test_images,
                         data.test_labels, data.dataset_info(), queue=TrainingQueue(1))
    switches, wall = _voluntary_switches(), time.perf_counter()
    redraws = 0
    if mode == "main":
        job._run()  # the thread's body, here in the main thread
    else:
        _in_thread(_script_run)
        switches, wall = _voluntary_switches(), time.perf_counter()
        job.start()
        memo: dict = {}
        while not job.join(LIVE_REFRESH_SECONDS):
            _in_thread(lambda: _redraw(job, memo, script_torch))
            redraws += 1
    wall = time.perf_counter() - wall
    snap = job.snapshot()
    if snap.state != "finished":
        raise RuntimeError(f"the training ended {snap.state}: {snap.message}")
    return {"seconds": snap.elapsed, "switches_per_s": (_voluntary_switches() - switches) / wall,
            "neg_elbo": snap.history[-1].metrics["test_neg_elbo"], "redraws": redraws}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.thread_training", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per mode, alternating")
    parser.add_argument("--subset", type=int, default=10_000, help="training images")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default: the Train page's)")
    parser.add_argument("--script-torch", action="store_true",
                        help="every live redraw also decodes a 20 x 20 grid (another session's work)")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.epochs is None:
        from explorer.ui.jobs.train_form import DEFAULT_TRAIN_CONFIG

        args.epochs = DEFAULT_TRAIN_CONFIG.epochs
    if args.child:
        print(json.dumps(_child(args.child, args.subset, args.epochs, args.script_torch)))
        return 0
    runs = {mode: [] for mode in MODES}
    loads = []
    for i in range(args.repeats):
        for mode in (MODES if i % 2 == 0 else MODES[::-1]):
            command = [sys.executable, "-m", "bench.thread_training", "--child", mode, "--subset", str(args.subset),
                       "--epochs", str(args.epochs)] + (["--script-torch"] if args.script_torch else [])
            out = subprocess.run(command, capture_output=True, text=True, check=True)
            runs[mode].append(json.loads(out.stdout.strip().splitlines()[-1]))
            loads.append(os.getloadavg()[0])
    medians = {mode: statistics.median(r["seconds"] for r in rs) for mode, rs in runs.items()}
    print(json.dumps({
        "subset": args.subset, "epochs": args.epochs, "script_torch": args.script_torch,
        "seconds_median": medians,
        "app_over_main": round(medians["app"] / medians["main"] - 1, 3),
        "switches_per_s_median": {m: round(statistics.median(r["switches_per_s"] for r in rs)) for m, rs in runs.items()},
        "runs": runs,
        "load_average_1min_after_each_run": loads,
    }, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
