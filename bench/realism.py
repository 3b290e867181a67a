"""Benchmark of the "looks like a real digit" judge as the Compare page uses it.

Usage::

    python -m bench.realism [--repeats 20] [--threads 2]

Measures (median and p90 over repeats, milliseconds, inference mode, on the shipped AE
and VAE): the judge's verdicts for a 16-image sample grid, for a 10-step interpolation
path, and both at once (the 50 ms goal); the holes shading of one map (the page's
30 x 30 grid over the map's ranges: decode + judge; the 300 ms goal; the page caches it
per model); the judge's one-off build (reference set and its k-NN radii, once per
server); and the 1-minute load average before and after (the machine may be shared).
Prints one JSON object. Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from explorer.core.checkpoints import load_checkpoint
from explorer.core.classifier import load_classifier
from explorer.core.data import load_split
from explorer.core.holes import score_grid
from explorer.core.latent import decode_z, encode_dataset, interpolate, latent_ranges, prior_samples
from explorer.core.realism import build_judge
from explorer.ui.caches import HOLES_GRID_N


def _ms(fn, repeats: int) -> dict:
    fn()  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return {"median_ms": round(float(np.median(times)), 1), "p90_ms": round(float(np.percentile(times, 90)), 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (the server's)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    classifier = load_classifier().model
    train = load_split(train=True, verify=False)[0]
    start = time.perf_counter()
    judge = build_judge(classifier, train)
    build_s = time.perf_counter() - start
    images, labels = load_split(train=False)
    out = {"threads": args.threads, "judge_build_s": round(build_s, 2), "reference_size": len(judge.reference)}
    for name in ("mnist_ae_z2", "mnist_vae_z2"):
        path = next(p for p in (f"checkpoints/{name}.safetensors", f"checkpoints/{name}.pt") if os.path.exists(p))
        model = load_checkpoint(path).model.eval()
        enc = encode_dataset(model, images, labels)
        grid = decode_z(model, prior_samples(16, 2, 0))
        strip = decode_z(model, interpolate(enc.mu[0], enc.mu[1], 10))
        both = torch.cat([grid, strip])
        ranges = [(r.low, r.high) for r in latent_ranges(enc.mu, model.is_variational)]
        out[name] = {
            "grid_16_ms": _ms(lambda: judge.judge(grid), args.repeats),
            "path_10_ms": _ms(lambda: judge.judge(strip), args.repeats),
            "grid_and_path_ms": _ms(lambda: judge.judge(both), args.repeats),
            f"holes_{HOLES_GRID_N}x{HOLES_GRID_N}_ms": _ms(lambda: score_grid(model, judge, ranges, HOLES_GRID_N),
                                                            max(3, args.repeats // 4)),
        }
    out["load_average_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
