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
for a model without a posterior, for ``--iw-samples 0`` and for M1+M2 (its bounds are of the M1
codes, not the pixels; so are its -ELBO and reconstruction). A conditional model is
evaluated with the true labels (its -log p(x) estimate is of -log p(x|y)). A bad checkpoint, broken
data or a model whose metrics are not finite prints one line ``error: ...`` on stderr and
exits with status 2; stdout then stays empty, so it never holds invalid JSON.

``--protocol binarized`` adds the figures of the published tables (Burda et al. 2015;
Davidson et al. 2018): the test set dynamically binarized (pixel ~ Bernoulli(grey level))
``--draws`` times from a generator seeded by ``--binarize-seed``, each draw scored,
reported as ``binarized_test_neg_elbo`` / ``binarized_test_iw_nll`` (means over the draws),
their ``_std`` (spread over the draws) and ``_per_draw`` lists
(:mod:`explorer.core.binarized`). Progress bars go to stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch

from explorer.cli.options import DefaultsHelpFormatter
from explorer.cli.progress import bar
from explorer.core.binarized import evaluate_binarized
from explorer.core.checkpoints import CheckpointError, load_checkpoint
from explorer.core.data import DataError, load_split
from explorer.core.iwae import importance_weighted_nll
from explorer.core.metrics import evaluate, per_dimension_metrics


#: The evaluation protocols: grey-level test images only, or also dynamically binarized ones.
PROTOCOLS = ("grey", "binarized")


def parser() -> argparse.ArgumentParser:
    """The command line's options."""
    p = argparse.ArgumentParser(prog="python -m explorer.cli.evaluate", description=__doc__.split("\n")[0],
                                formatter_class=DefaultsHelpFormatter)
    p.add_argument("checkpoint", type=Path, help="checkpoint file (.safetensors, or a shipped .pt)")
    p.add_argument("--iw-samples", type=int, default=1000, metavar="K",
                   help="importance samples per image for -log p(x) (variational models; 0: skip)")
    p.add_argument("--protocol", choices=PROTOCOLS, default="grey",
                   help="grey: score the grey-level test images; binarized: also score dynamically "
                        "binarized ones (pixel ~ Bernoulli(grey)), the protocol of published tables")
    p.add_argument("--draws", type=int, default=5,
                   help="binarizations of the test set to average over (--protocol binarized)")
    p.add_argument("--binarize-seed", type=int, default=0, help="seed of the binarization draws")
    p.add_argument("--binarized-iw-samples", type=int, default=None, metavar="K",
                   help="importance samples per image on each binarized draw (default: --iw-samples)")
    p.add_argument("--device", default="cpu",
                   help="torch device for the importance-sampled estimates, e.g. cuda")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for torch (default: one per core this process may use); on a "
                        "machine busy with other work 1 costs the least CPU time (docs/evaluation-speed.md)")
    return p


def _iw_bar(images: int, k: int, desc: str):
    """A bar over the (image, sample) pairs of one importance-sampled estimate."""
    return bar(images * k, desc, "sample")


def _refused(metrics: dict, checkpoint: Path) -> bool:
    """Print the one-line error and say True when a metric is not finite (broken weights)."""
    bad = [name for name, value in metrics.items()
           if value is not None and not all(map(math.isfinite, value if isinstance(value, list) else [value]))]
    if bad:
        print(f"error: {checkpoint}: the model gives non-finite {', '.join(bad)} on the test set "
              "(corrupt or diverged weights)", file=sys.stderr)
    return bool(bad)


def main(argv: list[str] | None = None) -> int:
    """Evaluate the checkpoint named on the command line; exit 2 on a bad file."""
    p = parser()
    args = p.parse_args(argv)
    if args.iw_samples < 0:
        p.error(f"--iw-samples must be >= 0, got {args.iw_samples}")
    binarized_k = args.iw_samples if args.binarized_iw_samples is None else args.binarized_iw_samples
    if args.draws < 1 or binarized_k < 0:
        p.error(f"--draws must be >= 1 and --binarized-iw-samples >= 0, got {args.draws}, {binarized_k}")
    if args.threads is not None:
        if args.threads < 1:
            p.error(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    try:
        checkpoint = load_checkpoint(args.checkpoint, recompute=False)  # evaluated below
        images, labels = load_split(train=False)
    except (CheckpointError, DataError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)  # one line
        return 2
    model = checkpoint.model
    metrics = evaluate(model, images, labels)
    metrics.update(per_dimension_metrics(model, images, labels))
    if _refused(metrics, args.checkpoint):  # before minutes of sampling from broken weights
        return 2
    pixel_model = model.is_variational and getattr(model, "m1", None) is None  # M1+M2 models M1's codes
    try:
        device = torch.device(args.device)
        if pixel_model and args.iw_samples > 0:
            progress = _iw_bar(len(images), args.iw_samples, f"-log p(x), k={args.iw_samples}")
            try:
                nll = importance_weighted_nll(model.to(device), images.to(device), labels.to(device),
                                              k=args.iw_samples, seed=0, on_progress=progress.update)
            finally:
                progress.close()
            metrics["test_iw_nll"] = float(nll.mean())
            metrics["iw_samples"] = args.iw_samples
        if pixel_model and args.protocol == "binarized":
            progress = None

            def next_draw(d: int) -> None:  # one bar over the draws, or one per draw's IW estimate
                nonlocal progress
                if binarized_k == 0:
                    progress = progress or bar(args.draws, "binarized draws", "draw")
                    progress.update(0 if d == 0 else 1)
                    return
                if progress is not None:
                    progress.close()
                progress = _iw_bar(len(images), binarized_k, f"binarized draw {d + 1}/{args.draws}")

            try:
                scores = evaluate_binarized(model.to(device), images.to(device), labels.to(device),
                                            draws=args.draws, seed=args.binarize_seed, k=binarized_k,
                                            on_draw=next_draw, on_progress=lambda n: progress.update(n))
            finally:
                if progress is not None:
                    if binarized_k == 0:
                        progress.update(progress.total - progress.n)
                    progress.close()
            metrics.update(scores.to_dict())
    except RuntimeError as exc:  # a device that does not exist here
        print(f"error: cannot run on device {args.device!r}: {' '.join(str(exc).split())[:200]}",
              file=sys.stderr)
        return 2
    finally:
        model.to("cpu")
    if _refused(metrics, args.checkpoint):
        return 2
    print(json.dumps(metrics, allow_nan=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
