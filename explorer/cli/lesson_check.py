"""Check the lesson's claims on the shipped models: python -m explorer.cli.lesson_check

Prints one JSON line per claim of :mod:`explorer.core.lesson_claims` (id, step, text,
value, condition, holds), measured on the shipped AE and VAE, and exits 1 when any
claim fails (2 when a shipped file is missing).
"""

from __future__ import annotations

import argparse
import json
import sys

import torch

from explorer.cli.validate_realism import shipped_models
from explorer.core.classifier import load_classifier
from explorer.core.data import load_split
from explorer.core.latent import encode_dataset
from explorer.core.lesson_claims import evaluate_claims, model_facts
from explorer.core.realism import build_judge

#: The lesson's pairs (left, right) as shipped: the one on screen by default, and the z = 10 pair.
SHIPPED_PAIRS = {"screen": ("mnist_ae_z2", "mnist_vae_z2"), "z10": ("mnist_ae_z10", "mnist_vae_z10")}


def shipped_results(pairs=SHIPPED_PAIRS) -> list:
    """Claim results on the shipped pairs (see :func:`explorer.core.lesson_claims.evaluate_claims`).

    Raises:
        FileNotFoundError: a shipped checkpoint is missing.
    """
    models = shipped_models()
    missing = [name for pair in pairs.values() for name in pair if name not in models]
    if missing:
        raise FileNotFoundError(f"shipped checkpoints missing: {missing}")
    judge = build_judge(load_classifier().model, load_split(train=True, verify=False)[0])
    images, labels = load_split(train=False)
    results = []
    for which, pair in pairs.items():
        facts = []
        for name in pair:
            enc = encode_dataset(models[name], images, labels)
            facts.append(model_facts(models[name], name, enc.mu, enc.logvar, judge, labels.numpy()))
        results += evaluate_claims(*facts, pair=which)
    return results


def parser() -> argparse.ArgumentParser:
    """The command line: no options (it checks the shipped models), only ``--help``."""
    return argparse.ArgumentParser(description=__doc__.splitlines()[0])


def main(argv=None) -> int:
    parser().parse_args(argv)
    try:
        with torch.inference_mode():  # not a global switch: a caller (a test) keeps its autograd
            results = shipped_results()
    except FileNotFoundError as exc:
        print(f"lesson_check: {exc}", file=sys.stderr)
        return 2
    for r in results:
        print(json.dumps(r.as_json()))
    return 0 if all(r.holds for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
