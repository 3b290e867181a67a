"""Benchmark of the "looks like a real digit" judge as the Compare page uses it.

Usage::

    python -m bench.realism [--repeats 20] [--threads 2] [--grid 16]

Measures (median and p90 over repeats, milliseconds, inference mode, on the shipped AE
and VAE): the judge's verdicts for a 16-image sample grid, for a 10-step interpolation
path, and both at once (the 50 ms goal); the holes shading of one map (the page's
30 x 30 grid over the map's ranges: decode + judge; the 300 ms goal; the page caches it
per model), split into its parts (decoding, realism's k-NN distances, the classifier),
and the same shading with the eager classifier instead of its inference copy (the speed-up
of :func:`explorer.core.realism.inference_copy`, measured under the same load); the
judge's one-off build (reference set, k-NN radii and the classifier's inference copy,
once per server); and the 1-minute load average before and after (the machine may be shared).
Prints one JSON object. Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time

from explorer.core.threads import configure_openmp

configure_openmp()  # as the app does, before torch is imported: libgomp reads it once

import numpy as np  # noqa: E402
import torch  # noqa: E402

from explorer.core.checkpoints import load_checkpoint  # noqa: E402
from explorer.core.classifier import load_classifier  # noqa: E402
from explorer.core.data import load_split  # noqa: E402
from explorer.core.holes import score_grid  # noqa: E402
from explorer.core.latent import decode_z, encode_dataset, interpolate, prior_samples  # noqa: E402
from explorer.ui.figures.slider_ranges import latent_ranges  # noqa: E402
from explorer.core.realism import build_judge  # noqa: E402
from explorer.ui.state.caches import HOLES_GRID_N  # noqa: E402


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
    parser.add_argument("--grid", type=int, default=HOLES_GRID_N, help="holes grid points per axis (the page's)")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (the server's)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)  # as the page's decodings (inference mode)
    load_before = os.getloadavg()[0]
    classifier = load_classifier().model
    train = load_split(train=True)[0]  # verifies (and unpacks) the files first: a fresh checkout has only the .gz
    start = time.perf_counter()
    judge = build_judge(classifier, train)
    build_s = time.perf_counter() - start
    images, labels = load_split(train=False)
    eager = dataclasses.replace(judge, fast=classifier)  # the same judge, its classifier run eagerly
    out = {"threads": args.threads, "judge_build_s": round(build_s, 2), "reference_size": len(judge.reference)}
    n = args.grid
    for name in ("mnist_ae_z2", "mnist_vae_z2"):
        path = next(p for p in (f"checkpoints/{name}.safetensors", f"checkpoints/{name}.pt") if os.path.exists(p))
        model = load_checkpoint(path).model.eval()
        enc = encode_dataset(model, images, labels)
        grid = decode_z(model, prior_samples(16, 2, 0))
        strip = decode_z(model, interpolate(enc.mu[0], enc.mu[1], 10))
        both = torch.cat([grid, strip])
        ranges = [(r.low, r.high) for r in latent_ranges(enc.mu, model.is_variational)]
        z1, z2 = torch.meshgrid(torch.linspace(*ranges[0], n), torch.linspace(*ranges[1], n), indexing="xy")
        z = torch.stack([z1.reshape(-1), z2.reshape(-1)], 1)
        cells = model.decode_mean(z, None).detach()
        slow = min(args.repeats, max(3, args.repeats // 4))
        out[name] = {
            "grid_16_ms": _ms(lambda: judge.judge(grid), args.repeats),
            "path_10_ms": _ms(lambda: judge.judge(strip), args.repeats),
            "grid_and_path_ms": _ms(lambda: judge.judge(both), args.repeats),
            f"holes_{n}x{n}_ms": _ms(lambda: score_grid(model, judge, ranges, n), slow),
            f"holes_{n}x{n}_parts_ms": {
                "decode": _ms(lambda: model.decode_mean(z, None), slow),
                "realism_knn": _ms(lambda: judge.realism(cells), slow),
                "classifier": _ms(lambda: judge.confidence(cells), slow),
            },
            f"holes_{n}x{n}_eager_classifier_ms": _ms(lambda: score_grid(model, eager, ranges, n), slow),
        }
    out["load_average_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
