"""Benchmark: the cost of a contractive AE's training step against the plain AE's.

Usage::

    python -m bench.contractive [--steps 60] [--batch-size 128] [--threads 1]

Times one Adam step (forward, loss, backward, update) on real MNIST batches for the
plain AE, the CAE (exact Jacobian penalty ||J_h(x)||_F^2, Rifai et al. 2011: one
double-backward per code dimension) and the SCAE (one Gaussian-corrupted copy per image),
all 784-512-256-2 MLPs built from the same seed, alternating the models step by step so
that load from other processes falls on all of them alike. Prints one JSON object with
the median milliseconds per step and each model's ratio to the AE (the issue's goal for
the CAE: at most 3x). Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from explorer.core.config import ModelConfig
from explorer.core.data import load_mnist
from explorer.core.models import build_model
from explorer.core.objective import loss_terms


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m bench.contractive", description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--latent-dim", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    images = load_mnist().train_images
    models = {kind: build_model(ModelConfig(kind=kind, latent_dim=args.latent_dim), seed=0)
              for kind in ("ae", "cae", "scae")}
    optimizers = {k: torch.optim.Adam(m.parameters(), lr=1e-3) for k, m in models.items()}
    times: dict[str, list[float]] = {k: [] for k in models}
    generator = torch.Generator().manual_seed(0)
    for step in range(args.steps + 5):
        x = images[torch.randint(len(images), (args.batch_size,), generator=generator)]
        for kind, model in models.items():
            model.train()
            start = time.perf_counter()
            loss = loss_terms(model, x, generator=generator).loss.mean()
            optimizers[kind].zero_grad(set_to_none=True)
            loss.backward()
            optimizers[kind].step()
            if step >= 5:  # the first steps warm up allocators and kernels
                times[kind].append(time.perf_counter() - start)
    ms = {k: 1000 * statistics.median(v) for k, v in times.items()}
    result = {"batch_size": args.batch_size, "latent_dim": args.latent_dim, "threads": args.threads,
              "steps": args.steps, "median_ms_per_step": {k: round(v, 2) for k, v in ms.items()},
              "ratio_to_ae": {k: round(v / ms["ae"], 2) for k, v in ms.items()}}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
