"""Benchmark: seconds per epoch of stacked (denoising) autoencoder pretraining and of
fine-tuning (explorer.core.pretraining).

Usage::

    python -m bench.pretraining [--hidden 500 500] [--steps 40] [--threads 1] [--noise 0.25]

Times Adam steps on real MNIST mini-batches (100 images, the CLI's default) of each layer's
tied autoencoder (masking noise, the layer's input computed by the layers below as in
pretraining) and of fine-tuning the whole stack, takes the median step and multiplies it by
the steps in one epoch: 600 for pretraining on the 60,000 training images, N / 100 for
fine-tuning on N labels. The layers and fine-tuning alternate step by step so that load
from other processes falls on all of them alike. Prints one JSON object. Timings are
reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

from explorer.core.data import load_mnist
from explorer.core.likelihoods import Bernoulli
from explorer.core.pretraining import StackConfig, build_stack
from explorer.core.train import corrupt


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m bench.pretraining", description=__doc__.split("\n")[0])
    p.add_argument("--hidden", type=int, nargs="+", default=[500, 500])
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--noise", type=float, default=0.25)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    data = load_mnist()
    config = StackConfig(hidden_sizes=tuple(args.hidden), noise=args.noise, batch_size=args.batch_size)
    net = build_stack(config)
    bernoulli, generator = Bernoulli(), torch.Generator().manual_seed(0)
    optimizers = [torch.optim.Adam([layer.weight, layer.bias, bias], lr=1e-3)
                  for layer, bias in zip(net.layers, net.decoder_biases)]
    finetune_optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    times: dict[str, list[float]] = {f"layer {k + 1}": [] for k in range(len(net.layers))} | {"fine-tuning": []}
    for step in range(args.steps + 3):  # 3 warm-up steps
        rows = torch.randint(len(data.train_images), (args.batch_size,), generator=generator)
        x = data.train_images[rows]
        for k, optimizer in enumerate(optimizers):
            with torch.no_grad():
                v = net.codes(x, k)  # pretraining precomputes these once per layer: not timed there
            start = time.perf_counter()
            loss = bernoulli.nll(net.reconstruct_logits(k, corrupt(v, "masking", args.noise, generator)), v).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if step >= 3:
                times[f"layer {k + 1}"].append(time.perf_counter() - start)
        start = time.perf_counter()
        loss = F.cross_entropy(net(x), data.train_labels[rows])
        finetune_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        finetune_optimizer.step()
        if step >= 3:
            times["fine-tuning"].append(time.perf_counter() - start)
    median_ms = {name: 1000 * statistics.median(t) for name, t in times.items()}
    pretrain_steps = len(data.train_images) // args.batch_size
    result = {
        "hidden": args.hidden, "threads": args.threads, "batch_size": args.batch_size, "steps": args.steps,
        "median_ms_per_step": {k: round(v, 2) for k, v in median_ms.items()},
        "pretrain_seconds_per_epoch": {k: round(v * pretrain_steps / 1000, 1) for k, v in median_ms.items()
                                       if k.startswith("layer")},
        "finetune_seconds_per_epoch": {str(n): round(median_ms["fine-tuning"] * (n // args.batch_size) / 1000, 3)
                                       for n in (100, 1000)},
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
