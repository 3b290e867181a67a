"""Validate the "looks like a real digit" judge: python -m explorer.cli.validate_realism

Builds the labelled set of :func:`explorer.core.realism.validation_set` from the shipped
AE and VAE checkpoints, prints the ROC AUC of the judge's score (and of its parts),
the AUC against each kind of negative, Youden's threshold and the balanced accuracy at
the shipped :data:`explorer.core.realism.THRESHOLD`, as JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from explorer.cli.options import DefaultsHelpFormatter
from explorer.core.checkpoints import load_checkpoint
from explorer.core.classifier import load_classifier
from explorer.core.data import load_split
from explorer.core.realism import (THRESHOLD, balanced_accuracy, build_judge, roc_auc, validation_set,
                                   youden_threshold)

#: The shipped models whose reconstructions and far-out decodings enter the labelled set.
VALIDATION_MODELS = ("mnist_ae_z2", "mnist_vae_z2", "mnist_vae_z10", "mnist_ae_z10")


def shipped_models(folder: Path = Path("checkpoints")) -> dict:
    """name -> model of each :data:`VALIDATION_MODELS` file present (.safetensors, else .pt)."""
    models = {}
    for name in VALIDATION_MODELS:
        for ext in (".safetensors", ".pt"):
            path = folder / f"{name}{ext}"
            if path.exists():
                models[name] = load_checkpoint(path).model.eval()
                break
    return models


def validate(n: int = 300, seed: int = 0) -> dict:
    """The judge's figures on the labelled set (see the module docstring)."""
    torch.manual_seed(seed)
    classifier = load_classifier().model
    judge = build_judge(classifier, load_split(train=True, verify=False)[0])
    test_images, test_labels = load_split(train=False)
    with torch.inference_mode():
        vs = validation_set(test_images, test_labels, shipped_models(), n=n, seed=seed)
        realism, confidence = judge.realism(vs.images).numpy(), judge.confidence(vs.images).numpy()
    score = realism * confidence
    pos = vs.labels == 1
    per_kind = {}
    for kind in dict.fromkeys(vs.kinds):
        mask = vs.kinds == kind
        if pos[mask].all():
            per_kind[kind] = {"share_judged_real": round(float((score[mask] >= THRESHOLD).mean()), 3)}
        else:
            sel = pos | mask
            per_kind[kind] = {"auc": round(roc_auc(vs.labels[sel], score[sel]), 4),
                              "share_judged_real": round(float((score[mask] >= THRESHOLD).mean()), 3)}
    threshold, j = youden_threshold(vs.labels, score)
    return {"auc": roc_auc(vs.labels, score), "auc_realism_only": roc_auc(vs.labels, realism),
            "auc_classifier_only": roc_auc(vs.labels, confidence), "youden_threshold": threshold, "youden_j": j,
            "shipped_threshold": THRESHOLD, "balanced_accuracy_shipped": balanced_accuracy(vs.labels, score, THRESHOLD),
            "balanced_accuracy_youden": balanced_accuracy(vs.labels, score, threshold),
            "positives": int(pos.sum()), "negatives": int((~pos).sum()), "per_kind": per_kind}


def parser() -> argparse.ArgumentParser:
    """The command line's options, each with its help and default."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=DefaultsHelpFormatter)
    p.add_argument("--n", type=int, default=300,
                   help="images of each kind in the labelled set (real test digits, reconstructions, blends, broken "
                        "strokes, noise, shifted and cut digits, far-off decodings)")
    p.add_argument("--seed", type=int, default=0, help="seeds the choice of test digits and the making of the negatives")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    print(json.dumps(validate(args.n, args.seed), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
