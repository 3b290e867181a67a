"""Command line: train the small MNIST classifier that scores digit-likeness (the "holes").

Usage::

    python -m explorer.cli.train_classifier --out checkpoints/mnist_classifier.safetensors --epochs 3 --seed 0

Prints the test accuracy and training seconds as JSON; the file holds both in its metadata.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from explorer.cli.options import DefaultsHelpFormatter, refuse_unwritable
from explorer.cli.progress import EpochBars, write
from explorer.core.classifier import CLASSIFIER_ARCHITECTURES, ClassifierConfig


def parser() -> argparse.ArgumentParser:
    """The command line's options (defaults from :class:`ClassifierConfig`)."""
    c = ClassifierConfig()
    p = argparse.ArgumentParser(prog="python -m explorer.cli.train_classifier", description=__doc__.split("\n")[0],
                                formatter_class=DefaultsHelpFormatter)
    p.add_argument("--architecture", choices=CLASSIFIER_ARCHITECTURES, default=c.architecture,
                   help="mlp: fully connected; cnn: two convolutions then a dense layer")
    p.add_argument("--hidden", type=int, nargs="+", default=list(c.hidden_sizes), help="MLP hidden widths")
    p.add_argument("--channels", type=int, nargs=2, default=list(c.channels), help="CNN convolution widths")
    p.add_argument("--dropout", type=float, default=c.dropout, help="dropout probability while training")
    p.add_argument("--epochs", type=int, default=3, help="passes over the 60,000 training images")
    p.add_argument("--batch-size", type=int, default=128, help="images per Adam step")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate, decayed by cosine to 0")
    p.add_argument("--seed", type=int, default=0, help="seeds the weights and the batch order")
    p.add_argument("--out", type=Path, required=True, help="safetensors file to write")
    return p


def main(argv: list[str] | None = None) -> int:
    """Train the classifier on the MNIST training split, test it, save it."""
    torch.set_flush_denormal(True)
    from explorer.core.classifier import TrainedClassifier, accuracy, save_classifier, timed_training
    from explorer.core.data import DataError, load_mnist
    from explorer.core.train import BatchProgress

    p = parser()
    args = p.parse_args(argv)
    if refuse_unwritable(p, args.out):  # one line, exit 2, before anything is loaded or trained
        return 2
    try:
        config = ClassifierConfig(architecture=args.architecture, hidden_sizes=tuple(args.hidden),
                                  channels=tuple(args.channels), dropout=args.dropout)
        if args.epochs < 1:
            raise ValueError("--epochs must be at least 1")
        data = load_mnist()
    except (ValueError, DataError) as exc:
        p.error(str(exc))

    def report(epoch, loss):
        write(f"epoch {epoch}/{args.epochs}: training cross-entropy {loss:.4f} nats")

    bars = EpochBars(args.epochs)
    try:
        model, seconds = timed_training(
            data.train_images, data.train_labels, config, epochs=args.epochs, batch_size=args.batch_size,
            lr=args.lr, seed=args.seed, on_epoch=report,
            on_batch=lambda epoch, batch, num_batches, loss: bars(BatchProgress(epoch, batch, num_batches, loss)))
    finally:
        bars.close()
    acc = accuracy(model, data.test_images, data.test_labels)
    extra = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed}
    save_classifier(args.out, TrainedClassifier(model, acc, seconds, extra))
    print(json.dumps({"test_accuracy": acc, "train_seconds": round(seconds, 1)}))
    sys.stderr.write(f"saved {args.out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
