"""Cost of the load-time checks on the shipped checkpoints: the probe
(:func:`explorer.core.limits.absurd_outputs`: 100 real test digits, every label of a
conditional model, 8 plain images, 100 prior draws) and a whole ``load_checkpoint``.

Usage::

    python -m bench.probe [--threads 1] [--repeats 5]

Prints one JSON line per checkpoint: the probe's best CPU time (``thread_time``, which
the other jobs on a shared machine disturb less) and best wall time in ms, and the best
wall time of a whole load (read, checksums, shipped-manifest lookup, build, probe) in ms.
Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from explorer.core.checkpoint_trust import shipped_digests
from explorer.core.checkpoints import load_checkpoint
from explorer.core.limits import absurd_outputs

CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"


def _best(function, repeats: int) -> tuple[float, float]:
    """(best CPU ms, best wall ms) of ``function()`` over ``repeats`` calls, after one warm-up."""
    function()
    cpu, wall = [], []
    for _ in range(repeats):
        c, w = time.thread_time(), time.perf_counter()
        function()
        cpu.append(time.thread_time() - c)
        wall.append(time.perf_counter() - w)
    return 1000 * min(cpu), 1000 * min(wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for name in sorted(shipped_digests().values()):
        path = CHECKPOINTS / name
        model = load_checkpoint(path).model
        probe_cpu, probe_wall = _best(lambda: absurd_outputs(model), args.repeats)
        _, load_wall = _best(lambda: load_checkpoint(path), args.repeats)
        print(json.dumps({"checkpoint": name, "threads": args.threads, "probe_cpu_ms": round(probe_cpu, 1),
                          "probe_wall_ms": round(probe_wall, 1), "load_wall_ms": round(load_wall, 1)}), flush=True)


if __name__ == "__main__":
    main()
