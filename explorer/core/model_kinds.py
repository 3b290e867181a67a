"""Computations behind the model-kind pages (conditional VAE, denoising AE, latent size and
beta): style grids of a conditional model, reconstruction errors of corrupted inputs,
and latent traversals.

Plain PyTorch (no Streamlit, no Plotly). Images are (B, C, H, W) pixels in [0, 1];
errors are in nats per image.
"""

from __future__ import annotations

import numpy as np
import torch

from explorer.core.latent import decode_z
from explorer.core.models import Autoencoder
from explorer.core.train import corrupt

#: Sweep of a traversal: z_d from -3 to 3, the prior N(0, 1)'s +-3 sigma.
TRAVERSAL_RANGE = (-3.0, 3.0)


@torch.inference_mode()
def style_grid(model: Autoencoder, z: np.ndarray, labels: list[int] | None = None) -> torch.Tensor:
    """Each code decoded with every label: the "same style, every digit" grid of a
    conditional model (Kingma et al. 2014, M2; their Figure 1 writes it for MNIST).

    Args:
        model: a conditional model (``is_conditional``).
        z: (k, latent_dim) codes, one row of the grid each.
        labels: the columns' labels (default 0 .. num_classes-1).

    Returns:
        (k * len(labels), C, H, W) decoder means, row-major: row i is z[i] decoded with
        each label in turn (``torchvision.utils.make_grid(..., nrow=len(labels))`` lays it out).

    Raises:
        ValueError: the model is not conditional, or z is not (k, latent_dim).
    """
    if not model.is_conditional:
        raise ValueError("a style grid needs a conditional model (its decoder takes the label y)")
    labels = list(range(model.config.num_classes)) if labels is None else list(labels)
    z = np.asarray(z, dtype=np.float32)
    if z.ndim != 2 or z.shape[1] != model.config.latent_dim:
        raise ValueError(f"expected z of shape (k, {model.config.latent_dim}), got {z.shape}")
    codes = np.repeat(z, len(labels), axis=0)
    y = torch.tensor(labels * len(z))
    return decode_z(model, codes, y=y)


@torch.inference_mode()
def reconstruct(model: Autoencoder, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """Decoder means at the encoder's mu (the code itself for an AE): (B, C, H, W) in [0, 1]."""
    mu, _ = model.encode(x, y)
    return model.decode_mean(mu, y)


@torch.inference_mode()
def denoising_error(model: Autoencoder, clean: torch.Tensor, noisy: torch.Tensor,
                    y: torch.Tensor | None = None, batch_size: int = 1000) -> torch.Tensor:
    """Reconstruction error of the noisy input against the clean image, per image, in nats:
    -log p(x_clean | z) with z = mu(x_noisy) (the code for an AE, the posterior mean for a
    VAE), scored by the model's likelihood (Bernoulli: binary cross-entropy summed over
    pixels). This is the denoising criterion of Vincent et al. (2008) at the mean code.

    Args:
        model: any model of the family.
        clean: (N, C, H, W) the images the reconstruction is compared with.
        noisy: (N, C, H, W) what the encoder sees.
        y: (N,) labels (conditional models).
        batch_size: images per forward pass.

    Returns:
        (N,) float32 nats.

    Raises:
        ValueError: clean and noisy differ in shape.
    """
    if clean.shape != noisy.shape:
        raise ValueError(f"clean and noisy images differ in shape: {tuple(clean.shape)} vs {tuple(noisy.shape)}")
    errors = []
    for start in range(0, len(clean), batch_size):
        part = slice(start, start + batch_size)
        yb = None if y is None else y[part]
        mu, _ = model.encode(noisy[part], yb)
        errors.append(model.likelihood.nll(model.decode(mu, yb), clean[part]))
    return torch.cat(errors)


def noisy_copy(images: torch.Tensor, noise: str, level: float, seed: int = 0) -> torch.Tensor:
    """``explorer.core.train.corrupt`` with a seeded generator: the same noise for the same
    (noise, level, seed). Masking sets each pixel to 0 with probability ``level``; Gaussian
    adds ``level`` * N(0, 1) and clips to [0, 1].

    Returns:
        (N, C, H, W) pixels in [0, 1].
    """
    return corrupt(images, noise, level, generator=torch.Generator().manual_seed(int(seed)))


def error_curve(model: Autoencoder, clean: torch.Tensor, noise: str, levels, seed: int = 0) -> np.ndarray:
    """Mean :func:`denoising_error` over ``clean`` at each noise level (same seed at every level).

    Args:
        model: any model of the family.
        clean: (N, C, H, W) images.
        noise: ``"masking"`` or ``"gaussian"``.
        levels: noise levels (masking probabilities or Gaussian standard deviations).
        seed: seed of the noise.

    Returns:
        (len(levels),) float64, nats per image.
    """
    return np.array([float(denoising_error(model, clean, noisy_copy(clean, noise, float(level), seed)).double().mean())
                     for level in levels])


def largest_gap_level(levels, baseline: np.ndarray, model: np.ndarray) -> tuple[int, float]:
    """The noise level where ``model`` beats ``baseline`` by the most: argmax over levels of
    baseline - model (two :func:`error_curve` results, e.g. a plain AE's and a denoising AE's).

    Args:
        levels: (L,) noise levels.
        baseline, model: (L,) mean errors at those levels, nats per image (lower is better).

    Returns:
        (index, level) of the largest gap; the first such level on a tie.

    Raises:
        ValueError: the three have different lengths or are empty.
    """
    levels, baseline, model = np.asarray(levels, dtype=float), np.asarray(baseline), np.asarray(model)
    if not len(levels) or baseline.shape != levels.shape or model.shape != levels.shape:
        raise ValueError(f"need as many errors as levels, got {baseline.shape} and {model.shape} for {levels.shape}")
    index = int(np.argmax(baseline - model))
    return index, float(levels[index])


def traversal_codes(mu: np.ndarray, dims, n: int = 9, span: tuple[float, float] = TRAVERSAL_RANGE) -> np.ndarray:
    """Codes of a latent traversal: for each dimension d in ``dims``, ``n`` codes equal to
    ``mu`` except z_d, which runs evenly over ``span`` (default -3..3, the prior's
    +-3 sigma).

    Args:
        mu: (latent_dim,) the code held fixed (a test digit's posterior mean).
        dims: the dimensions to sweep, one row each, in order.
        n: codes per row, >= 2.
        span: (low, high) of z_d.

    Returns:
        (len(dims) * n, latent_dim) float32, row-major.

    Raises:
        ValueError: n < 2, mu not a vector, or a dimension out of range.
    """
    mu = np.asarray(mu, dtype=np.float32)
    dims = [int(d) for d in dims]
    if mu.ndim != 1:
        raise ValueError(f"mu must be a vector, got shape {mu.shape}")
    if n < 2:
        raise ValueError(f"a traversal needs at least 2 steps, got n={n}")
    if any(d < 0 or d >= len(mu) for d in dims):
        raise ValueError(f"dimensions must lie in [0, {len(mu) - 1}], got {dims}")
    values = np.linspace(span[0], span[1], n, dtype=np.float32)
    codes = np.repeat(mu[None, :], len(dims) * n, axis=0)
    for row, d in enumerate(dims):
        codes[row * n : (row + 1) * n, d] = values
    return codes
