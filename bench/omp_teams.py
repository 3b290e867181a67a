"""How a training thread's speed depends on other OpenMP teams alive in the process.

Usage::

    python -m bench.omp_teams [--repeats 3] [--subset 10000]

PyTorch's CPU build runs intra-op work on GNU OpenMP (libgomp), which keeps one worker
team per thread that has run a parallel op, for as long as that thread lives. Between
parallel regions a worker spins for a while before it sleeps on a futex; libgomp cuts
the spin to almost nothing once it manages more threads than the process may use cores
(``GOMP_SPINCOUNT``, "throttled" spinning). So a training thread runs in one of two
modes:

- ``alone``: its team is the only one: workers spin between the many small parallel
  regions of a step (fast on an idle machine; on a loaded one a spinning worker burns
  the time slice its descheduled partner needs);
- ``other_team_alive``: another live thread (here the main thread) has run a parallel
  op: workers sleep and are woken for every region (a wake-up per region; robust under
  load).

For each mode it trains the default Train page model for one epoch of ``--subset``
training images in a fresh thread (as the app's TrainingJob does) and prints, as JSON,
wall seconds, process CPU seconds and the voluntary context switches of all threads
(futex sleeps: near zero when spinning, thousands when throttled). Each mode runs in a
process of its own. Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import replace

MODES = ("alone", "other_team_alive")


def _voluntary_switches() -> int:
    total = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/status") as f:
                total += sum(int(line.split()[1]) for line in f if line.startswith("voluntary_ctxt_switches"))
        except OSError:
            pass  # a thread that has just ended
    return total


def _child(mode: str, subset: int) -> dict:
    import torch

    from explorer.core.data import load_split
    from explorer.core.models import build_model
    from explorer.core.train import train
    from explorer.ui.jobs import train_form as form

    torch.set_flush_denormal(True)
    loaded = []  # loaded in a thread that then ends, so its team goes with it
    loader = threading.Thread(target=lambda: loaded.append(load_split(train=True)))
    loader.start()
    loader.join()
    images = loaded[0][0][:subset]
    if mode == "other_team_alive":
        torch.ones(4000, 784).mul_(2)  # a parallel op: the main thread now keeps a team
    config = replace(form.DEFAULT_TRAIN_CONFIG, epochs=1)
    out = {}

    def work():
        torch.set_flush_denormal(True)  # before the thread's first op, as TrainingJob._run
        model = build_model(form.DEFAULT_MODEL_CONFIG, seed=config.seed)
        switches, start, cpu = _voluntary_switches(), time.perf_counter(), time.process_time()
        train(model, images, images[:1000], config)
        out.update(wall_s=time.perf_counter() - start, cpu_s=time.process_time() - cpu,
                   voluntary_switches=_voluntary_switches() - switches)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.omp_teams", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per mode, alternating")
    parser.add_argument("--subset", type=int, default=10_000, help="training images in the epoch")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.subset)))
        return 0
    runs = {mode: [] for mode in MODES}
    for _ in range(args.repeats):
        for mode in MODES:
            out = subprocess.run([sys.executable, "-m", "bench.omp_teams", "--child", mode, "--subset", str(args.subset)],
                                 capture_output=True, text=True, check=True)
            runs[mode].append(json.loads(out.stdout.strip().splitlines()[-1]))
    summary = {mode: {key: statistics.median(r[key] for r in rs) for key in rs[0]} | {"runs": rs}
               for mode, rs in runs.items()}
    summary["load_average"] = os.getloadavg()
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
