"""Command line: train a model of the family on MNIST and save a checkpoint.

Usage::

    python -m explorer.cli.train --model vae --latent-dim 2 --epochs 30 --out checkpoints/x.safetensors

``--model`` takes every kind in :data:`explorer.core.config.MODEL_KINDS`; ``--input-noise``
trains a denoising model (the loss compares with the clean image); ``--model cae
--contraction 0.1`` a contractive AE (``scae`` its stochastic form, ``--contraction-noise``);
``--model m2 --labels 100`` semi-supervised M2 (Kingma et al. 2014) with 100 known labels;
``--architecture conv``
the convolutional networks; ``--model ae --hidden --likelihood gaussian_identity`` a
linear autoencoder (one linear layer each way, identity mean, squared error).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from explorer.core.config import ARCHITECTURES, INPUT_NOISES, LIKELIHOODS, LR_SCHEDULES, MODEL_KINDS, ModelConfig, TrainConfig


def _progress_bar(progress, epochs: int, width: int = 30) -> None:
    step = max(1, progress.num_batches // width)
    if not sys.stderr.isatty() or (progress.batch % step and progress.batch != progress.num_batches):
        return  # redraw about `width` times an epoch, and only on a terminal
    bar = "#" * int(width * progress.batch / progress.num_batches)
    sys.stderr.write(f"\repoch {progress.epoch}/{epochs} [{bar:<{width}}] {progress.batch}/{progress.num_batches}"
                     f" loss {progress.loss:8.2f}")
    sys.stderr.flush()


def _print_epoch(record) -> None:
    from explorer.core.metrics import METRICS

    shown = {unit: ", ".join(f"{METRICS[k].short_label} {METRICS[k].format(v)}"
                             for k, v in record.metrics.items() if k in METRICS and METRICS[k].unit == unit)
             for unit in ("nats", "count", "percent")}
    counts = "".join(f", {shown[unit]}{' %' if unit == 'percent' else ''}" for unit in ("count", "percent")
                     if shown[unit])
    sys.stderr.write(f"\repoch {record.epoch}: train loss {record.train_loss:.2f}, {shown['nats']} nats/image"
                     f"{counts} ({record.seconds:.1f} s)\n")


#: ``--hidden`` for ``--architecture conv`` when not given (the reference network's Dense 32).
CONV_DEFAULT_HIDDEN = (32,)


def parser() -> argparse.ArgumentParser:
    """The command line's options (defaults from the configs)."""
    m, t = ModelConfig(), TrainConfig()
    p = argparse.ArgumentParser(prog="python -m explorer.cli.train", description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=MODEL_KINDS, default=m.kind)
    p.add_argument("--latent-dim", type=int, default=m.latent_dim)
    p.add_argument("--architecture", choices=ARCHITECTURES, default=m.architecture,
                   help="mlp: fully connected; conv: Conv2D 32, 64 stride 2, 64, 64, dense --hidden, "
                        "decoder Dense, ConvTranspose2D 32 stride 2, Conv2D 1")
    p.add_argument("--hidden", type=int, nargs="*", default=None,
                   help=f"encoder hidden widths; mlp: the decoder mirrors them, none (--hidden alone) gives "
                        f"linear maps, default {' '.join(map(str, m.hidden_sizes))}; conv: the dense widths "
                        f"after the convolutions, default {' '.join(map(str, CONV_DEFAULT_HIDDEN))}")
    p.add_argument("--likelihood", choices=LIKELIHOODS, default=m.likelihood)
    p.add_argument("--decoder-std", type=float, default=m.decoder_std, help="std of the Gaussian decoder")
    p.add_argument("--beta", type=float, default=m.beta)
    p.add_argument("--contraction", type=float, default=m.contraction, metavar="LAMBDA",
                   help="cae/scae: lambda, the weight of the contraction penalty (cae: lambda * "
                        "||J_h(x)||_F^2; scae: lambda * E||h(x) - h(x~)||^2; Rifai et al. 2011)")
    p.add_argument("--contraction-noise", type=float, default=m.contraction_noise, metavar="SIGMA",
                   help="scae: std of the Gaussian corruption x~ = x + sigma * eps (pixel units)")
    p.add_argument("--epochs", type=int, default=t.epochs)
    p.add_argument("--batch-size", type=int, default=t.batch_size)
    p.add_argument("--lr", type=float, default=t.lr)
    p.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=t.lr_schedule)
    p.add_argument("--seed", type=int, default=t.seed)
    p.add_argument("--subset", type=int, default=None, help="train on this many images")
    p.add_argument("--labels", type=int, default=t.labels, metavar="N",
                   help="m2: how many training labels are known, balanced over the digits and seeded by "
                        "--seed (100: 10 per digit); the other images train unlabelled "
                        "(Kingma et al. 2014). Default: all known")
    p.add_argument("--input-noise", choices=INPUT_NOISES, default=t.input_noise,
                   help="corrupt the training input (denoising); the target stays clean")
    p.add_argument("--noise-level", type=float, default=t.noise_level,
                   help="masking probability or Gaussian noise std")
    p.add_argument("--device", default="cpu",
                   help="torch device to train on, e.g. cuda (default cpu); the saved weights and the "
                        "final test metrics are computed on the CPU either way")
    p.add_argument("--out", type=Path, required=True,
                   help="checkpoint path to write (a .safetensors file, checkpoint format 2)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Train a model on MNIST and save a checkpoint; exit 1 if training diverged (nothing
    saved), 2 for settings refused before anything is allocated (too large, invalid)."""
    torch.set_flush_denormal(True)  # before any torch op starts worker threads (see core.train)
    from explorer.core.checkpoints import save_checkpoint
    from explorer.core.data import DataError, load_mnist
    from explorer.core.limits import absurd_results, check_training_limits, reconstruction_bound
    from explorer.core.metrics import evaluate
    from explorer.core.models import build_model
    from explorer.core.train import TrainingDiverged, train

    p = parser()
    args = p.parse_args(argv)
    if args.out.suffix != ".safetensors":
        p.error(f"--out must end in .safetensors (checkpoints are safetensors files), got {args.out}")
    try:
        if args.hidden is None:
            args.hidden = CONV_DEFAULT_HIDDEN if args.architecture == "conv" else ModelConfig().hidden_sizes
        model_config = ModelConfig(kind=args.model, latent_dim=args.latent_dim, hidden_sizes=tuple(args.hidden),
                                   architecture=args.architecture,
                                   likelihood=args.likelihood, decoder_std=args.decoder_std, beta=args.beta,
                                   contraction=args.contraction, contraction_noise=args.contraction_noise)
        train_config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                   lr_schedule=args.lr_schedule, seed=args.seed, subset=args.subset,
                                   labels=args.labels,
                                   input_noise=args.input_noise, noise_level=args.noise_level)
        check_training_limits(model_config, train_config)
        data = load_mnist()
    except (ValueError, DataError) as exc:
        p.error(str(exc))
    model = build_model(model_config, seed=train_config.seed)
    epochs = train_config.epochs
    try:
        device = torch.device(args.device)
        model.to(device)
        on_device = [t.to(device) for t in (data.train_images, data.test_images, data.train_labels, data.test_labels)]
    except RuntimeError as exc:  # no such device here
        p.error(f"cannot use device {args.device!r}: {' '.join(str(exc).split())[:200]}")
    try:
        result = train(model, on_device[0], on_device[1], train_config,
                       on_batch=lambda b: _progress_bar(b, epochs), on_epoch=_print_epoch,
                       train_labels=on_device[2], test_labels=on_device[3])
    except TrainingDiverged as exc:
        sys.stderr.write(f"\n{exc} Nothing was saved.\n")
        return 1
    except ValueError as exc:  # e.g. more known labels (--labels) than the classes can give
        p.error(str(exc))
    model.to("cpu")
    metrics = evaluate(model, data.test_images, data.test_labels, seed=train_config.seed)
    problem = absurd_results(model, metrics, reconstruction_bound(model_config))
    if problem is not None:  # a run that ends absurd is not saved
        sys.stderr.write(f"\nTraining diverged: at the end {problem} (learning rate {train_config.lr:g}). "
                         f"Try a smaller learning rate. Nothing was saved.\n")
        return 1
    save_checkpoint(args.out, model, train_config=train_config,
                    history=[r.to_dict() for r in result.history], metrics=metrics,
                    dataset=data.dataset_info())
    print(json.dumps(metrics))
    sys.stderr.write(f"saved {args.out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
