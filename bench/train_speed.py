"""Benchmark: seconds per training epoch against a DataLoader loop and the matmul bound.

Usage::

    python -m bench.train_speed [--epochs 2] [--batch-size 128]

Measures, on the same model and machine, in one run:

1. the project's trainer (:func:`explorer.core.train.train`: in-memory tensor, one
   permutation per epoch), seconds per epoch of optimisation (test evaluation excluded);
2. a plain ``torchvision`` ``DataLoader`` + ``ToTensor`` loop over the same model,
   loss and optimiser, seconds per epoch;
3. the matmul bound: FLOPs of the model's linear layers per epoch (forward, and
   backward for weights and inputs) divided by the sustained sgemm rate measured at
   exactly those shapes.

Prints one JSON object. Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch

from explorer.core.config import ModelConfig, TrainConfig
from explorer.core.data import DEFAULT_ROOT, load_mnist
from explorer.core.models import build_model
from explorer.core.objective import loss_terms
from explorer.core.train import train


def _linear_shapes(model: torch.nn.Module) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, torch.nn.Linear)]


def matmul_bound(model: torch.nn.Module, batch_size: int, num_images: int, repeats: int = 200) -> dict:
    """Seconds per epoch if the linear layers' matmuls ran at the measured sgemm rate.

    Per layer of shape (in, out) and batch B: forward B*in*out multiply-adds, backward
    the same for the weight gradient and, except for the first layer (whose input is
    data), for the input gradient. Each is timed as the sgemm it is.

    Returns:
        ``{"flops_per_epoch", "sustained_gflops", "bound_seconds_per_epoch"}``.
    """
    steps = math.ceil(num_images / batch_size)
    total_flops = total_seconds = 0.0
    for i, (n_in, n_out) in enumerate(_linear_shapes(model)):
        products = [((batch_size, n_in), (n_in, n_out)),  # forward
                    ((n_in, batch_size), (batch_size, n_out))]  # weight gradient
        if i > 0:  # input gradient; the first layer's input is data and needs none
            products.append(((batch_size, n_out), (n_out, n_in)))
        for a_shape, b_shape in products:
            a, b = torch.randn(a_shape), torch.randn(b_shape)
            for _ in range(10):
                a @ b
            start = time.perf_counter()
            for _ in range(repeats):
                a @ b
            seconds = (time.perf_counter() - start) / repeats
            flops = 2 * a_shape[0] * a_shape[1] * b_shape[1]
            total_flops += flops * steps
            total_seconds += seconds * steps
    return {"flops_per_epoch": total_flops, "sustained_gflops": total_flops / total_seconds / 1e9,
            "bound_seconds_per_epoch": total_seconds}


def dataloader_epoch(model: torch.nn.Module, batch_size: int, seed: int) -> float:
    """Seconds for one epoch of the textbook loop: torchvision MNIST + ToTensor + DataLoader."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    dataset = datasets.MNIST(str(DEFAULT_ROOT), train=True, download=False, transform=transforms.ToTensor())
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    model.train()
    start = time.perf_counter()
    for x, _ in loader:
        loss = loss_terms(model, x).loss.mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Run the three measurements and print them as JSON."""
    torch.set_flush_denormal(True)  # first, before torch starts its worker threads
    parser = argparse.ArgumentParser(prog="python -m bench.train_speed", description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=2, help="epochs timed for each loop")
    parser.add_argument("--batch-size", type=int, default=TrainConfig().batch_size)
    args = parser.parse_args(argv)
    data = load_mnist()
    config = ModelConfig()

    trainer_epochs = []
    model = build_model(config, seed=0)
    first = [0.0]

    def on_batch(progress):
        # Optimisation time only (no test evaluation): from the end of step 1 to the
        # end of the last step, scaled by n / (n - 1) for the step before the clock.
        if progress.batch == 1:
            first[0] = time.perf_counter()
        if progress.batch == progress.num_batches:
            n = progress.num_batches
            trainer_epochs.append((time.perf_counter() - first[0]) * n / (n - 1))

    train(model, data.train_images, data.test_images[:10],
          TrainConfig(epochs=args.epochs, batch_size=args.batch_size), on_batch=on_batch)

    loader_epochs = [dataloader_epoch(build_model(config, seed=0), args.batch_size, seed)
                     for seed in range(args.epochs)]
    bound = matmul_bound(model, args.batch_size, len(data.train_images))
    trainer = min(trainer_epochs)
    loader = min(loader_epochs)
    print(json.dumps({
        "model": f"784-{'-'.join(map(str, config.hidden_sizes))}-{config.latent_dim} VAE",
        "batch_size": args.batch_size,
        "threads": torch.get_num_threads(),
        "trainer_seconds_per_epoch": round(trainer, 3),
        "dataloader_seconds_per_epoch": round(loader, 3),
        "speedup_vs_dataloader": round(loader / trainer, 2),
        "matmul_gflop_per_epoch": round(bound["flops_per_epoch"] / 1e9, 1),
        "sustained_sgemm_gflops": round(bound["sustained_gflops"], 1),
        "matmul_bound_seconds_per_epoch": round(bound["bound_seconds_per_epoch"], 3),
        "fraction_of_matmul_bound": round(bound["bound_seconds_per_epoch"] / trainer, 3),
    }, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
