"""Stacked (denoising) autoencoder files: a trained stack saved as safetensors with its config
and results (:func:`save_stack`), read back and checked as a file from anyone
(:func:`load_stack`), and the JSON-lines results of :mod:`explorer.cli.pretrain` that ship
beside the stacks in checkpoints/pretraining/ (:func:`read_results`). Any file that is not
usable raises :class:`StackFileError`. The stack itself: :mod:`explorer.core.pretraining`.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from explorer.core.pretraining import StackConfig, StackedClassifier

__all__ = ["FORMAT", "StackFileError", "save_stack", "load_stack", "read_results"]

#: Format tag of a saved stack (safetensors metadata).
FORMAT = "latent-space-explorer/stacked-autoencoder"


class StackFileError(ValueError):
    """A file is not a usable saved stack (unreadable, foreign, wrong shapes, non-finite)."""


def save_stack(path, net: StackedClassifier, config: StackConfig, results: dict) -> None:
    """Write the stack's weights and JSON metadata (format tag, config, results) to a
    safetensors file atomically (:func:`explorer.core.files.atomic_write`: temporary file +
    rename), readable by everyone (0o644)."""
    from safetensors.torch import save

    from explorer.core.files import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    meta = {"format": FORMAT, "config": config.to_dict(), **results}
    atomic_write(path, save(tensors, metadata={"explorer": json.dumps(meta)}), mode=0o644)


def load_stack(path) -> tuple[StackedClassifier, StackConfig, dict]:
    """Load a stack written by :func:`save_stack`: (net in eval mode, config, results).

    Raises:
        StackFileError: missing, unreadable or foreign file, invalid config, weights that do
            not match the config or are not finite.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    path = Path(path)
    if not path.is_file():
        raise StackFileError(f"stack file not found: {path.name}")
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get("explorer")
        tensors = load_file(str(path))
        meta = json.loads(raw) if raw else None
    except (SafetensorError, OSError, ValueError) as exc:
        raise StackFileError(f"{path.name} is not a readable safetensors file: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise StackFileError(f"{path.name} is not a stacked autoencoder of this app (format tag missing)")
    try:
        config = StackConfig(**meta["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise StackFileError(f"{path.name}: invalid config ({exc})") from exc
    net = StackedClassifier(config.hidden_sizes)
    expected = net.state_dict()
    if set(expected) != set(tensors):
        raise StackFileError(f"{path.name}: weights do not match its config")
    for name, value in expected.items():
        if tensors[name].shape != value.shape or not torch.isfinite(tensors[name]).all():
            raise StackFileError(f"{path.name}: weight {name} has the wrong shape or non-finite values")
    net.load_state_dict({k: v.float() for k, v in tensors.items()})
    results = {k: v for k, v in meta.items() if k not in ("format", "config")}
    return net.eval(), config, results


# --- the shipped stacks (checkpoints/pretraining/) -----------------------------------------


def read_results(path) -> list[dict]:
    """The JSON lines :mod:`explorer.cli.pretrain` printed (one run per line: ``labels``,
    ``noise``, ``pretrain_epochs``, ``test_error``, ...), as a list of dicts.

    Raises:
        StackFileError: the file is missing or a line is not a run (no numeric test_error,
            labels, noise and pretrain_epochs).
    """
    path = Path(path)
    try:
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        runs = [json.loads(line) for line in lines]
    except (OSError, ValueError) as exc:
        raise StackFileError(f"{path.name} is not a readable list of runs: {exc}") from exc
    for run in runs:
        if not isinstance(run, dict) or not all(isinstance(run.get(k), (int, float)) and not isinstance(run.get(k), bool)
                                                for k in ("test_error", "labels", "noise", "pretrain_epochs")):
            raise StackFileError(f"{path.name}: a line is not a run of explorer.cli.pretrain: {str(run)[:80]}")
    return runs
