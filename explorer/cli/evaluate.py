"""Command line: evaluate a checkpoint on the MNIST test split.

Usage::

    python -m explorer.cli.evaluate checkpoints/mnist_vae_z2.safetensors

prints one JSON object with every metric of :data:`explorer.core.metrics.METRICS` in
nats per image (``test_neg_elbo`` is null for a model without a posterior, which has no
ELBO; ``test_active_units`` is a count), for a model with a posterior the lists
``test_kl_per_dimension`` (nats/image) and ``test_mu_variance_per_dimension``
(:func:`explorer.core.metrics.per_dimension_metrics`), and ``test_iw_nll``: the
importance-sampled estimate of -log p(x) with ``--iw-samples`` K samples per image
(Burda et al. 2015, Eq. 8; default 1000, seed 0; ``iw_samples`` gives K). It is left out
for a model without a posterior and for ``--iw-samples 0``. A conditional model is
evaluated with the true labels (its -log p(x) estimate is of -log p(x|y)). A bad checkpoint, broken
data or a model whose metrics are not finite prints one line ``error: ...`` on stderr and
exits with status 2; stdout then stays empty, so it never holds invalid JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch

from explorer.core.checkpoints import CheckpointError, load_checkpoint
from explorer.core.data import DataError, load_split
from explorer.core.iwae import importance_weighted_nll
from explorer.core.metrics import evaluate, per_dimension_metrics


def main(argv: list[str] | None = None) -> int:
    """Evaluate the checkpoint named on the command line; exit 2 on a bad file."""
    parser = argparse.ArgumentParser(prog="python -m explorer.cli.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--iw-samples", type=int, default=1000, metavar="K",
                        help="importance samples per image for -log p(x) (variational models; 0: skip)")
    parser.add_argument("--device", default="cpu",
                        help="torch device for the importance-sampled estimate, e.g. cuda (default cpu)")
    args = parser.parse_args(argv)
    if args.iw_samples < 0:
        parser.error(f"--iw-samples must be >= 0, got {args.iw_samples}")
    try:
        checkpoint = load_checkpoint(args.checkpoint, recompute=False)  # evaluated below
        images, labels = load_split(train=False)
    except (CheckpointError, DataError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)  # one line
        return 2
    model = checkpoint.model
    metrics = evaluate(model, images, labels)
    metrics.update(per_dimension_metrics(model, images, labels))
    if model.is_variational and args.iw_samples > 0:
        try:
            device = torch.device(args.device)
            nll = importance_weighted_nll(model.to(device), images.to(device), labels.to(device),
                                          k=args.iw_samples, seed=0)
        except RuntimeError as exc:  # a device that does not exist here
            print(f"error: cannot run on device {args.device!r}: {' '.join(str(exc).split())[:200]}",
                  file=sys.stderr)
            return 2
        finally:
            model.to("cpu")
        metrics["test_iw_nll"] = float(nll.mean())
        metrics["iw_samples"] = args.iw_samples
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
