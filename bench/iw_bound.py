"""Seconds for the importance-sampled -log p(x) (explorer.core.iwae) on a slice of the
test set, extrapolated to 10,000 images x k samples.

    python -m bench.iw_bound [CHECKPOINT] [--images 200] [--k 500] [--full-k 5000]
"""

from __future__ import annotations

import argparse
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("checkpoint", nargs="?", default="checkpoints/mnist_vae_z2.safetensors")
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--k", type=int, default=500)
    parser.add_argument("--full-k", type=int, default=5000)
    args = parser.parse_args()
    torch.set_flush_denormal(True)
    from explorer.core.checkpoints import load_checkpoint
    from explorer.core.data import load_split
    from explorer.core.iwae import importance_weighted_nll

    model = load_checkpoint(args.checkpoint).model
    images, labels = load_split(train=False)
    x, y = images[: args.images], labels[: args.images]
    start = time.perf_counter()
    nll = importance_weighted_nll(model, x, y, k=args.k, seed=0)
    seconds = time.perf_counter() - start
    rows = args.images * args.k
    print(f"{args.checkpoint}: {args.images} images x k={args.k}: {seconds:.1f} s "
          f"({rows / seconds:,.0f} decoder passes/s, {torch.get_num_threads()} threads), mean {float(nll.mean()):.2f} nats; "
          f"10,000 x k={args.full_k} would take about {seconds * 10_000 * args.full_k / rows / 60:.0f} min")


if __name__ == "__main__":
    main()
