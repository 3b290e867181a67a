"""Computations on the latent space that the app shows: encodings of a data set.

Everything here is plain PyTorch/NumPy (no Streamlit), so it is testable without a
browser.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Encodings:
    """Posterior parameters of a data set under one model.

    Attributes:
        mu: (N, latent_dim) float32, encoder means (the codes of an AE).
        logvar: (N, latent_dim) float32, log sigma^2; None for an AE.
        labels: (N,) int64 digit labels.
    """

    mu: np.ndarray
    logvar: np.ndarray | None
    labels: np.ndarray

    @property
    def sigma(self) -> np.ndarray | None:
        """Posterior standard deviations exp(logvar / 2), (N, latent_dim); None for an AE."""
        return None if self.logvar is None else np.exp(0.5 * self.logvar)


@torch.inference_mode()
def encode_dataset(
    model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 2000
) -> Encodings:
    """Encode every image with ``model.encode``.

    Args:
        model: a VAE or AE (in eval mode).
        images: (N, C, H, W), pixels in [0, 1].
        labels: (N,) digit labels, carried through.
        batch_size: images per forward pass.

    Returns:
        :class:`Encodings` as NumPy arrays.

    Raises:
        ValueError: images do not match the model's image shape.
    """
    mus, logvars = [], []
    for start in range(0, len(images), batch_size):
        mu, logvar = model.encode(images[start : start + batch_size])
        mus.append(mu)
        if logvar is not None:
            logvars.append(logvar)
    return Encodings(
        mu=torch.cat(mus).numpy(),
        logvar=torch.cat(logvars).numpy() if logvars else None,
        labels=labels.numpy(),
    )


def project_2d(mu: np.ndarray) -> tuple[np.ndarray, tuple[str, str]]:
    """Two coordinates per row for plotting a latent space of any dimension.

    A 2-D latent space is returned as it is. A larger one is projected onto its first
    two principal components (centred; computed from ``mu`` itself); a 1-D one is
    paired with zeros.

    Args:
        mu: (N, latent_dim) latent means.

    Returns:
        (xy, axis_names): xy is (N, 2) float32; axis_names label the axes, e.g.
        ``("z1", "z2")`` or ``("PC1 of mu", "PC2 of mu")``.

    Raises:
        ValueError: ``mu`` is not 2-D.
    """
    if mu.ndim != 2:
        raise ValueError(f"expected mu of shape (N, latent_dim), got {mu.shape}")
    if mu.shape[1] == 2:
        return mu.astype(np.float32, copy=False), ("z1", "z2")
    if mu.shape[1] == 1:
        return np.concatenate([mu, np.zeros_like(mu)], axis=1).astype(np.float32), ("z1", "(none)")
    centred = mu - mu.mean(axis=0, keepdims=True)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return (centred @ vt[:2].T).astype(np.float32), ("PC1 of mu", "PC2 of mu")
