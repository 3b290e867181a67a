"""Command line: pretrain a classifier as stacked (denoising) autoencoders, then fine-tune it with a few labels.

Greedy layer-wise pretraining (Bengio et al. 2007; Vincent et al. 2008, 2010).

Usage::

    python -m explorer.cli.pretrain --hidden 1000 1000 --noise 0.25 --pretrain-epochs 10 \\
        --finetune-epochs 100 --labels 100 1000 --seed 0 --filters filters.png --out stack.safetensors

``--noise 0`` is the stacked autoencoder (SAE), ``--noise 0.25`` a stacked denoising
autoencoder (SDAE) with a quarter of each layer's inputs masked to 0, ``--pretrain-epochs 0``
the same network without pretraining. Pretraining reads all 60,000 training images without
their labels (or ``--subset`` of them); fine-tuning reads ``--labels`` of them, balanced over
the digits and seeded. Prints one JSON line per label count with the test error (share of
the 10,000 test images misclassified) on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from explorer.cli.options import DefaultsHelpFormatter, refuse_unwritable
from explorer.cli.progress import EpochBars, write


def parser() -> argparse.ArgumentParser:
    """The command line's options (defaults from :class:`explorer.core.pretraining.StackConfig`)."""
    from explorer.core.pretraining import StackConfig

    c = StackConfig()
    p = argparse.ArgumentParser(prog="python -m explorer.cli.pretrain", description=__doc__.split("\n")[0],
                                formatter_class=DefaultsHelpFormatter)
    p.add_argument("--hidden", type=int, nargs="+", default=list(c.hidden_sizes), metavar="H",
                   help="widths of the sigmoid hidden layers, bottom up (784-H1-H2-10)")
    p.add_argument("--noise", type=float, default=c.noise, metavar="NU",
                   help="masking fraction in [0, 1): each input of a layer's autoencoder is set to 0 with this "
                        "probability in pretraining; 0 is the plain stacked autoencoder (SAE), 0.25 or 0.5 a "
                        "stacked denoising autoencoder (SDAE)")
    p.add_argument("--pretrain-epochs", type=int, default=c.pretrain_epochs,
                   help="passes over the unlabelled images for each layer; 0: no pretraining")
    p.add_argument("--finetune-epochs", type=int, default=c.finetune_epochs,
                   help="passes over the labelled images when fine-tuning the whole stack")
    p.add_argument("--labels", type=int, nargs="+", default=[100, 1000], metavar="N",
                   help="known labels for fine-tuning, balanced over the digits and seeded by --seed; several "
                        "counts fine-tune copies of one pretrained stack")
    p.add_argument("--batch-size", type=int, default=c.batch_size, help="images per Adam step")
    p.add_argument("--pretrain-lr", type=float, default=c.pretrain_lr, help="Adam learning rate, pretraining")
    p.add_argument("--finetune-lr", type=float, default=c.finetune_lr, help="Adam learning rate, fine-tuning")
    p.add_argument("--subset", type=int, default=None,
                   help="pretrain on this many randomly chosen training images (default: all 60,000)")
    p.add_argument("--seed", type=int, default=c.seed,
                   help="seeds the weights, batch order, noise, subset and the choice of labels")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: torch's choice)")
    p.add_argument("--filters", type=Path, default=None,
                   help="write the first layer's first 100 filters as a PNG grid here")
    p.add_argument("--init", type=Path, default=None,
                   help="start from a stack saved by --out and only fine-tune it (its widths, noise and "
                        "pretraining epochs replace --hidden, --noise and --pretrain-epochs)")
    p.add_argument("--out", type=Path, default=None,
                   help="write the pretrained stack (before fine-tuning) and the results as a .safetensors file")
    return p


def main(argv: list[str] | None = None) -> int:
    """Pretrain, fine-tune for each label count, print the test errors; exit 2 for settings
    refused before anything is trained, 1 if training diverged."""
    torch.set_flush_denormal(True)  # before any torch op starts worker threads (see core.train)
    from explorer.core.data import DataError, load_mnist
    from explorer.core.files import atomic_write
    from explorer.core.images import png_bytes
    from explorer.core.labels import select_labels
    from explorer.core.pretraining import StackConfig, build_stack, classification_error, copy_stack, finetune, pretrain
    from explorer.core.stack_files import load_stack, save_stack
    from explorer.core.stack_filters import filter_grid, filter_sharpness, first_layer_filters
    from explorer.core.train import TrainingDiverged

    p = parser()
    args = p.parse_args(argv)
    for option, path, suffix in (("--out", args.out, ".safetensors"), ("--filters", args.filters, ".png")):
        if path is None:
            continue
        if path.suffix != suffix:
            p.error(f"{option} must end in {suffix}, got {path}")
        if refuse_unwritable(p, path):  # one line, exit 2, before anything is loaded or trained
            return 2
    try:
        init = None
        if args.init is not None:  # a saved stack, only fine-tuned here
            init, saved, saved_results = load_stack(args.init)
            args.hidden, args.noise, args.pretrain_epochs = list(saved.hidden_sizes), saved.noise, saved.pretrain_epochs
        config = StackConfig(hidden_sizes=tuple(args.hidden), noise=args.noise, pretrain_epochs=args.pretrain_epochs,
                             finetune_epochs=args.finetune_epochs, batch_size=args.batch_size,
                             pretrain_lr=args.pretrain_lr, finetune_lr=args.finetune_lr, seed=args.seed)
        if config.finetune_epochs < 1:
            raise ValueError("--finetune-epochs must be at least 1 (the read-out is only trained there)")
        if args.subset is not None and not 1 <= args.subset <= 60000:
            raise ValueError(f"--subset must be between 1 and the 60,000 training images, got {args.subset}")
        if args.threads is not None and args.threads < 1:
            raise ValueError(f"--threads must be at least 1, got {args.threads}")
        if len(set(args.labels)) != len(args.labels):
            raise ValueError(f"--labels lists a count twice: {' '.join(map(str, args.labels))}")
        data = load_mnist()
        for count in args.labels:  # refused now, not after pretraining
            select_labels(data.train_labels, count, args.seed, 10)
    except (ValueError, DataError) as exc:  # a bad --init file is a StackFileError, a ValueError
        p.error(str(exc))
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    if init is not None:
        net, layers = init, saved_results.get("layers", [])
    else:
        generator = torch.Generator().manual_seed(args.seed)
        unlabelled = data.train_images
        if args.subset is not None and args.subset < len(unlabelled):
            unlabelled = unlabelled[torch.randperm(len(unlabelled), generator=generator)[:args.subset]]
        net = build_stack(config)
        bars = EpochBars(config.pretrain_epochs, "pretraining epoch")
        try:
            records = pretrain(net, unlabelled, config, held_out=data.test_images[:2000], on_batch=bars,
                               on_layer=lambda k: write(f"layer {k}/{len(config.hidden_sizes)}"))
        except TrainingDiverged as exc:
            write(str(exc))
            return 1
        finally:
            bars.close()
        layers = [r.__dict__ for r in records]
        for r in records if config.pretrain_epochs else ():
            write(f"layer {r.layer}: reconstruction error {r.reconstruction_before:.1f} -> "
                  f"{r.reconstruction_after:.1f} nats per example on 2,000 test images ({r.seconds:.1f} s)")
    filters = first_layer_filters(net, 100)
    sharpness = filter_sharpness(first_layer_filters(net))
    results = {"sharpness": sharpness, "layers": layers, "runs": []}
    for count in args.labels:
        known = select_labels(data.train_labels, count, args.seed, 10)
        tuned = copy_stack(net)
        bars = EpochBars(config.finetune_epochs, f"fine-tuning ({count} labels) epoch")
        try:
            epoch_seconds = finetune(tuned, data.train_images[known], data.train_labels[known], config, on_batch=bars)
        except TrainingDiverged as exc:
            write(str(exc))
            return 1
        finally:
            bars.close()
        run = {"labels": count, "noise": config.noise, "hidden": list(config.hidden_sizes),
               "pretrain_epochs": config.pretrain_epochs, "finetune_epochs": config.finetune_epochs,
               "seed": config.seed, "test_error": classification_error(tuned, data.test_images, data.test_labels),
               "sharpness": round(sharpness, 4),
               "pretrain_seconds_per_epoch": [round(sum(r["epoch_seconds"]) / max(len(r["epoch_seconds"]), 1), 2)
                                              for r in layers],
               "finetune_seconds": round(sum(epoch_seconds), 2)}
        results["runs"].append(run)
        print(json.dumps(run), flush=True)
    if args.filters is not None:
        atomic_write(args.filters, png_bytes(filter_grid(filters)), mode=0o644)
        write(f"saved {args.filters} (first-layer filters, mean excess kurtosis {sharpness:.2f})")
    if args.out is not None:
        save_stack(args.out, net, config, results)
        write(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
