"""The Contractive page's computed parts: which test digits get an arrow, and where each
model's code of such a digit moves under a perturbation (Rifai et al. 2011)."""

import numpy as np
import torch

from explorer.core.contractive import code_moves
from explorer.ui.state.model_entry import ModelEntry


def arrow_digits(labels: torch.Tensor, per_digit: int) -> torch.Tensor:
    """Indices of ``per_digit`` test digits of each class 0-9 (a choice seeded by the class),
    class by class.

    Args:
        labels: (N,) test labels.
        per_digit: digits per class.

    Returns:
        (10 * per_digit,) int64 indices into ``labels``.
    """
    return torch.cat([torch.nonzero(labels == d)[:, 0][torch.randperm(int((labels == d).sum()),
                      generator=torch.Generator().manual_seed(d))[:per_digit]] for d in range(10)])


def code_arrows(entry: ModelEntry, images: torch.Tensor, perturbation: str,
                level: float) -> tuple[np.ndarray, np.ndarray]:
    """Codes mu of ``images`` and of their perturbed copies under ``entry``'s encoder
    (:func:`explorer.core.contractive.code_moves`, seed 0).

    Args:
        entry: the model.
        images: (B, 1, 28, 28) pixels in [0, 1].
        perturbation: ``"noise"`` (Gaussian, std ``level``) or ``"shift"`` (one pixel right).
        level: noise std.

    Returns:
        (start, end): (B, latent_dim) float32 codes before and after.
    """
    with torch.no_grad():
        start, end = code_moves(lambda x: entry.model.encode(x)[0], images, perturbation, level, seed=0)
    return start.numpy(), end.numpy()
