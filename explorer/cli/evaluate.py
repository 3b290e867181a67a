"""Command line: evaluate a checkpoint on the MNIST test split.

Usage::

    python -m explorer.cli.evaluate checkpoints/mnist_vae_z2.pt

prints one JSON object with every metric of :data:`explorer.core.metrics.METRICS` in
nats per image (``test_neg_elbo`` is null for a model without a posterior, which has no
ELBO; ``test_active_units`` is a count), and for a model with a posterior the lists
``test_kl_per_dimension`` (nats/image) and ``test_mu_variance_per_dimension``
(:func:`explorer.core.metrics.per_dimension_metrics`). A conditional model is evaluated
with the true labels. A bad checkpoint, broken
data or a model whose metrics are not finite prints one line ``error: ...`` on stderr and
exits with status 2; stdout then stays empty, so it never holds invalid JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from explorer.core.checkpoints import CheckpointError, load_checkpoint
from explorer.core.data import DataError, load_split
from explorer.core.metrics import evaluate, per_dimension_metrics


def main(argv: list[str] | None = None) -> int:
    """Evaluate the checkpoint named on the command line; exit 2 on a bad file."""
    parser = argparse.ArgumentParser(prog="python -m explorer.cli.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", type=Path)
    args = parser.parse_args(argv)
    try:
        checkpoint = load_checkpoint(args.checkpoint)
        images, labels = load_split(train=False)
    except (CheckpointError, DataError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)  # one line
        return 2
    metrics = evaluate(checkpoint.model, images, labels)
    metrics.update(per_dimension_metrics(checkpoint.model, images, labels))
    bad = [name for name, value in metrics.items()
           if value is not None and not all(map(math.isfinite, value if isinstance(value, list) else [value]))]
    if bad:
        print(f"error: {args.checkpoint}: the model gives non-finite {', '.join(bad)} on the test set "
              "(corrupt or diverged weights)", file=sys.stderr)
        return 2
    print(json.dumps(metrics, allow_nan=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
