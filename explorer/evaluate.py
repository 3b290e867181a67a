"""Command line: evaluate a checkpoint on the MNIST test split.

Usage::

    python -m explorer.evaluate checkpoints/mnist_vae_z2.pt

prints one JSON object ``{"test_neg_elbo", "test_reconstruction", "test_kl"}`` in
nats per image (``test_neg_elbo`` is null for an AE, which has no ELBO).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from explorer.checkpoints import CheckpointError, load_checkpoint
from explorer.data import DataError, load_mnist
from explorer.objective import evaluate


def main(argv: list[str] | None = None) -> int:
    """Evaluate the checkpoint named on the command line; exit 2 on a bad file."""
    parser = argparse.ArgumentParser(prog="python -m explorer.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", type=Path)
    args = parser.parse_args(argv)
    try:
        checkpoint = load_checkpoint(args.checkpoint)
        data = load_mnist()
    except (CheckpointError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(evaluate(checkpoint.model, data.test_images)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
