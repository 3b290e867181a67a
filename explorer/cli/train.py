"""Command line: train a model of the family on MNIST and save a checkpoint.

Usage::

    python -m explorer.cli.train --model vae --latent-dim 2 --epochs 30 --out checkpoints/x.safetensors

``--iw-samples K`` trains on the importance-weighted bound, ``--binarize dynamic`` on
binary draws of the images. ``--model`` takes every kind in
:data:`explorer.core.config.MODEL_KINDS`; ``--input-noise`` trains a denoising model (the
loss compares with the clean image); ``--model cae --contraction 0.1`` a contractive AE
(``scae`` its stochastic form, ``--contraction-noise``); ``--model m2 --labels 100``
semi-supervised M2 (Kingma et al. 2014) with 100 known labels, ``--m1 FILE`` M1+M2 (M2 on
the codes of the M1 VAE in FILE, Gaussian on the codes); ``--architecture conv``
the convolutional networks of the Keras replica, ``strided_conv`` the strided ones;
``--model ae --hidden --likelihood gaussian_identity`` a linear autoencoder (one linear
layer each way, identity mean, squared error).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from explorer.cli.options import DefaultsHelpFormatter, refuse_unwritable
from explorer.cli.progress import EpochBars, write
from explorer.core.config import (ARCHITECTURES, BINARIZATIONS, DEFAULT_HIDDEN_SIZES, INPUT_NOISES, LIKELIHOODS,
                                  LR_SCHEDULES, MODEL_KINDS, ModelConfig, TrainConfig)


def _print_epoch(record) -> None:
    from explorer.core.metrics import METRICS

    shown = {unit: ", ".join(f"{METRICS[k].short_label} {METRICS[k].format(v)}"
                             for k, v in record.metrics.items() if k in METRICS and METRICS[k].unit == unit)
             for unit in ("nats", "count", "percent")}
    counts = "".join(f", {shown[unit]}{' %' if unit == 'percent' else ''}" for unit in ("count", "percent")
                     if shown[unit])
    write(f"epoch {record.epoch}: train loss {record.train_loss:.2f}, {shown['nats']} nats/image"
          f"{counts} ({record.seconds:.1f} s)")


def parser() -> argparse.ArgumentParser:
    """The command line's options (defaults from the configs)."""
    m, t = ModelConfig(), TrainConfig()
    p = argparse.ArgumentParser(prog="python -m explorer.cli.train", description=__doc__.split("\n")[0],
                                formatter_class=DefaultsHelpFormatter)
    p.add_argument("--model", choices=MODEL_KINDS, default=m.kind,
                   help="model family: ae plain autoencoder, vae variational autoencoder, cvae conditional VAE, "
                        "cae contractive AE, scae stochastic contractive AE, m2 semi-supervised M2 (--labels, --m1)")
    p.add_argument("--latent-dim", type=int, default=m.latent_dim, help="size of the latent code z")
    p.add_argument("--architecture", choices=ARCHITECTURES, default=m.architecture,
                   help="mlp: fully connected; conv: the Keras replica, Conv2D 32, 64 stride 2, 64, 64, "
                        "dense --hidden, decoder Dense, ConvTranspose2D 32 stride 2, Conv2D 1; strided_conv: "
                        "Conv2D 16, 32 (4x4 stride 2), dense --hidden, decoder mirrored with ConvTranspose2D")
    p.add_argument("--hidden", type=int, nargs="*", default=None,
                   help="encoder hidden widths; mlp: the decoder mirrors them, none (--hidden alone) gives "
                        "linear maps; conv, strided_conv: the dense widths after the convolutions (strided_conv's "
                        "decoder mirrors them). Default per architecture: " + "; ".join(
                            f"{a} {' '.join(map(str, h))}" for a, h in DEFAULT_HIDDEN_SIZES.items()))
    p.add_argument("--likelihood", choices=LIKELIHOODS, default=m.likelihood,
                   help="decoder distribution p(x|z) (see explorer.core.likelihoods)")
    p.add_argument("--decoder-std", type=float, default=m.decoder_std, help="std of the Gaussian decoder")
    p.add_argument("--beta", type=float, default=m.beta,
                   help="weight of the KL term in the training loss (1: the ELBO)")
    p.add_argument("--contraction", type=float, default=m.contraction, metavar="LAMBDA",
                   help="cae/scae: lambda, the weight of the contraction penalty (cae: lambda * "
                        "||J_h(x)||_F^2; scae: lambda * E||h(x) - h(x~)||^2; Rifai et al. 2011)")
    p.add_argument("--contraction-noise", type=float, default=m.contraction_noise, metavar="SIGMA",
                   help="scae: std of the Gaussian corruption x~ = x + sigma * eps (pixel units)")
    p.add_argument("--epochs", type=int, default=t.epochs, help="passes over the training images")
    p.add_argument("--batch-size", type=int, default=t.batch_size, help="images per Adam step")
    p.add_argument("--lr", type=float, default=t.lr, help="Adam learning rate (peak rate for cosine)")
    p.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=t.lr_schedule,
                   help="constant, or cosine decay to 0 over all steps")
    p.add_argument("--seed", type=int, default=t.seed,
                   help="seeds the weights, batch order, subset and noise")
    p.add_argument("--subset", type=int, default=None,
                   help="train on this many randomly chosen training images (default: all 60,000)")
    p.add_argument("--labels", type=int, default=t.labels, metavar="N",
                   help="m2: how many training labels are known, balanced over the digits and seeded by "
                        "--seed (100: 10 per digit); the other images train unlabelled "
                        "(Kingma et al. 2014). Default: all known")
    p.add_argument("--alpha-fraction", type=float, default=t.alpha_fraction, metavar="A",
                   help="m2: alpha = A * N, the weight of the classification loss -log q(y|x) on the known "
                        "labels in J^alpha (Kingma et al. 2014, Eq. 9; N the training images; the paper's 0.1)")
    p.add_argument("--m1", type=Path, default=None, metavar="FILE",
                   help="m2: train M1+M2, M2 on the codes (encoder mean mu) of the VAE checkpoint FILE "
                        "(Kingma et al. 2014, Sec. 3.2); the codes are modelled by a Gaussian of std "
                        "--decoder-std, and the checkpoint names FILE and its SHA-256")
    p.add_argument("--input-noise", choices=INPUT_NOISES, default=t.input_noise,
                   help="corrupt the training input (denoising); the target stays clean")
    p.add_argument("--noise-level", type=float, default=t.noise_level,
                   help="masking probability or Gaussian noise std")
    p.add_argument("--iw-samples", type=int, default=t.iw_samples, metavar="K",
                   help="train on the importance-weighted bound with K samples per image (Burda et al. "
                        "2015); 1: the ELBO. Needs --beta 1")
    p.add_argument("--binarize", choices=BINARIZATIONS, default=t.binarize,
                   help="dynamic: each training image is drawn as binary pixels ~ Bernoulli(grey level) "
                        "every time it is used (the published tables' protocol); none: grey levels")
    p.add_argument("--device", default="cpu",
                   help="torch device to train on, e.g. cuda; the saved weights and the "
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
    from explorer.core.models import build_model, model_class
    from explorer.core.train import TrainingDiverged, train

    p = parser()
    args = p.parse_args(argv)
    if args.out.suffix != ".safetensors":
        p.error(f"--out must end in .safetensors (checkpoints are safetensors files), got {args.out}")
    if refuse_unwritable(p, args.out):  # one line, exit 2, before anything is loaded or trained
        return 2
    try:
        if args.hidden is None:
            args.hidden = DEFAULT_HIDDEN_SIZES[args.architecture]
        m1 = {}
        if args.m1 is not None:
            if args.model != "m2":
                raise ValueError(f"--m1 trains M1+M2: use it with --model m2, not --model {args.model}")
            from explorer.core.checkpoints import CheckpointError, load_m1, m1_fields

            try:  # a file that is no VAE is refused here, before training
                m1 = m1_fields(args.m1)
                m1_model = load_m1(m1["m1"], m1["m1_sha256"])
            except (ValueError, CheckpointError) as exc:
                raise ValueError(f"--m1: {exc}") from None
            args.likelihood = "gaussian_identity"
        model_config = ModelConfig(kind=args.model, latent_dim=args.latent_dim, hidden_sizes=tuple(args.hidden),
                                   architecture=args.architecture,
                                   likelihood=args.likelihood, decoder_std=args.decoder_std, beta=args.beta,
                                   contraction=args.contraction, contraction_noise=args.contraction_noise, **m1)
        train_config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                   lr_schedule=args.lr_schedule, seed=args.seed, subset=args.subset,
                                   input_noise=args.input_noise, noise_level=args.noise_level,
                                   iw_samples=args.iw_samples, binarize=args.binarize,
                                   labels=args.labels, alpha_fraction=args.alpha_fraction)
        kind = model_class(model_config.kind)
        if train_config.iw_samples > 1 and not (kind.is_variational and model_config.beta == 1
                                                and not kind.is_semi_supervised):
            raise ValueError("--iw-samples above 1 trains a variational model (not m2) with --beta 1")
        check_training_limits(model_config, train_config)
        data = load_mnist()
    except (ValueError, DataError) as exc:
        p.error(str(exc))
    model = build_model(model_config, seed=train_config.seed)
    if model_config.m1 is not None:
        model.attach_m1(m1_model)
    epochs = train_config.epochs
    try:
        device = torch.device(args.device)
        model.to(device)
        on_device = [t.to(device) for t in (data.train_images, data.test_images, data.train_labels, data.test_labels)]
    except RuntimeError as exc:  # no such device here
        p.error(f"cannot use device {args.device!r}: {' '.join(str(exc).split())[:200]}")
    bars = EpochBars(epochs)
    try:
        result = train(model, on_device[0], on_device[1], train_config,
                       on_batch=bars, on_epoch=_print_epoch,
                       train_labels=on_device[2], test_labels=on_device[3])
    except TrainingDiverged as exc:
        bars.close()
        write(f"{exc} Nothing was saved.")
        return 1
    except ValueError as exc:  # e.g. more known labels (--labels) than the classes can give
        p.error(str(exc))
    finally:
        bars.close()
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
