"""Computations on the latent space that the app shows: encodings of a data set and their
2-D projection, decoding z (one code, a strip), posterior ellipses and samples, per-image
loss terms, prior samples and interpolation paths. The manifold grid is
:mod:`explorer.core.manifold`; slider ranges are the app's (:mod:`explorer.ui.figures.slider_ranges`).

Everything here is plain PyTorch/NumPy (no Streamlit, no Plotly). Every function takes
an optional label ``y`` for conditional models (ignored by the others).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from explorer.core.images import tile
from explorer.core.likelihoods import display_pixels
from explorer.core.models import Autoencoder
from explorer.core.objective import loss_terms
from explorer.core.pca import pca


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
    model: Autoencoder, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 2000
) -> Encodings:
    """Encode every image with ``model.encode``.

    Args:
        model: any model of the family (in eval mode).
        images: (N, C, H, W), pixels in [0, 1].
        labels: (N,) digit labels, carried through (and the condition y of a
            conditional model: its encodings are of q(z|x, y)).
        batch_size: images per forward pass.

    Returns:
        :class:`Encodings` as NumPy arrays.

    Raises:
        ValueError: images do not match the model's image shape.
    """
    mus, logvars = [], []
    for start in range(0, len(images), batch_size):
        mu, logvar = model.encode(images[start : start + batch_size], labels[start : start + batch_size])
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
    mean, components = pc_basis(mu)
    return ((mu - mean) @ components.T).astype(np.float32), ("PC1 of mu", "PC2 of mu")


def pc_basis(mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean and the first two principal components of ``mu``: the basis of the
    projected map of :func:`project_2d` (:func:`explorer.core.pca.pca`, the one PCA:
    SVD of the centred rows in float64, each component's largest entry positive).

    Args:
        mu: (N, latent_dim) latent means, latent_dim >= 2, N >= 2.

    Returns:
        (mean (latent_dim,), components (2, latent_dim) orthonormal rows PC1, PC2), float64.
    """
    fit = pca(torch.from_numpy(np.asarray(mu)), 2)
    return fit.mean.numpy(), fit.components.T.numpy()


def back_project(mu: np.ndarray, xy) -> np.ndarray:
    """The code z at a point (x, y) of the projected map of :func:`project_2d`:
    z = mean(mu) + x * PC1 + y * PC2 (the other principal directions held at the mean).

    Args:
        mu: (N, latent_dim) the latent means the map was drawn from.
        xy: (x, y) map coordinates.

    Returns:
        (latent_dim,) float32 code.
    """
    if mu.shape[1] == 2:
        return np.asarray(xy, dtype=np.float32)
    mean, components = pc_basis(mu)
    return (mean + np.asarray(xy, dtype=np.float64) @ components).astype(np.float32)


# --- Decoding and posterior geometry ----------------------------------------------------


def check_2d_latent(model: Autoencoder) -> None:
    """Raise ValueError unless ``model`` has a 2-D latent space."""
    if model.config.latent_dim != 2:
        raise ValueError(f"needs a 2-D latent space, the model has latent_dim={model.config.latent_dim}")


@torch.inference_mode()
def decode_z(
    model: Autoencoder, z: torch.Tensor | np.ndarray | tuple[float, ...], sample: bool = False,
    generator: torch.Generator | None = None, y: int | torch.Tensor | None = None,
) -> torch.Tensor:
    """Decode latent codes to images.

    Args:
        model: any model of the family.
        z: (latent_dim,) one code or (B, latent_dim) codes.
        sample: False gives the decoder mean E[x|z] (clipped to [0, 1] for display: the
            ``gaussian_identity`` mean is unbounded); True one draw x ~ p(x|z) from the
            model's likelihood (Bernoulli: 0 or 1 per pixel; Gaussian: mean + std * eps,
            clipped to [0, 1] for display).
        generator: source of the draw, for reproducible samples.
        y: label(s) of a conditional model: one int for every code, or (B,).

    Returns:
        (B, C, H, W) float32 pixels in [0, 1] (B = 1 for a single code).

    Raises:
        ValueError: z does not have ``latent_dim`` columns; a conditional model without y.
    """
    z = torch.as_tensor(np.asarray(z, dtype=np.float32))
    if z.dim() == 1:
        z = z.unsqueeze(0)
    if sample:
        return model.decode_sample(z, y, generator).clamp_(0.0, 1.0)
    return display_pixels(model.decode_mean(z, y))  # an identity-link Gaussian mean may leave [0, 1]

def posterior_ellipse(mu: np.ndarray, sigma: np.ndarray, k: float, n_points: int = 73) -> np.ndarray:
    """The k-sigma contour of a diagonal Gaussian in 2-D, as a closed polygon.

    q(z|x) = N(mu, diag sigma^2) is axis-aligned, so its k-sigma contour is the ellipse
    with centre mu and half-axes k * sigma_1, k * sigma_2. The prior's k-sigma circle is
    ``posterior_ellipse(0, 1, k)``.

    Args:
        mu: (2,) centre.
        sigma: (2,) standard deviations (or a scalar).
        k: how many standard deviations.
        n_points: polygon vertices; the last repeats the first.

    Returns:
        (n_points, 2) float64.
    """
    t = np.linspace(0.0, 2 * np.pi, n_points)
    unit = np.stack([np.cos(t), np.sin(t)], axis=1)
    return np.asarray(mu, dtype=np.float64) + k * np.asarray(sigma, dtype=np.float64) * unit

@dataclass(frozen=True)
class ImageTerms:
    """Loss terms of one image, in nats.

    Attributes:
        reconstruction: -log p(x|z); for a VAE at one z drawn from q(z|x) with seeded noise,
            for an AE at its code.
        kl: KL(q(z|x) || p(z)) in closed form; None for an AE.
        neg_elbo: reconstruction + KL, the single-sample -ELBO (Kingma & Welling 2013,
            Eq. 10); None for an AE.
    """

    reconstruction: float
    kl: float | None
    neg_elbo: float | None


@torch.inference_mode()
def image_terms(model: Autoencoder, image: torch.Tensor, seed: int = 0, y: int | None = None) -> ImageTerms:
    """Per-image reconstruction, KL and -ELBO in nats (the estimate ``evaluate`` uses per image).

    Args:
        model: any model of the family.
        image: (C, H, W) or (1, C, H, W), pixels in [0, 1].
        seed: seed of the reparameterization noise.
        y: the image's label (conditional models: the terms are conditional on it).

    Returns:
        :class:`ImageTerms` (KL and -ELBO None for a model without a posterior).
    """
    x = image.unsqueeze(0) if image.dim() == 3 else image
    y = None if y is None else torch.tensor([int(y)])
    terms = loss_terms(model, x, y, generator=torch.Generator().manual_seed(seed))
    rec = float(terms.reconstruction[0])
    if not model.is_variational:
        return ImageTerms(rec, None, None)
    kl = float(terms.kl[0])
    return ImageTerms(rec, kl, rec + kl)


def terms_noise(latent_dim: int, seed: int = 0) -> np.ndarray:
    """The eps in z = mu + sigma * eps that :func:`image_terms` draws with ``seed``, so the
    z its reconstruction term was computed at can be shown.

    Returns:
        (latent_dim,) float32.
    """
    return torch.randn((1, latent_dim), generator=torch.Generator().manual_seed(int(seed)))[0].numpy()


def encodings_table(encodings: Encodings):
    """The encodings as a pandas DataFrame: index, label, mu_j and (VAE) sigma_j columns.

    Returns:
        DataFrame with N rows.
    """
    import pandas as pd

    data = {"index": np.arange(len(encodings.labels)), "label": encodings.labels}
    for j in range(encodings.mu.shape[1]):
        data[f"mu_{j + 1}"] = encodings.mu[:, j]
    if encodings.sigma is not None:
        for j in range(encodings.sigma.shape[1]):
            data[f"sigma_{j + 1}"] = encodings.sigma[:, j]
    return pd.DataFrame(data)


# --- Lesson tools: prior samples, interpolation, the reparameterization cloud -----------


def prior_samples(k: int, latent_dim: int = 2, seed: int = 0) -> np.ndarray:
    """``k`` codes drawn from the prior p(z) = N(0, I) (Kingma & Welling 2013, Section 3).

    Args:
        k: how many codes, >= 1.
        latent_dim: dimension of z.
        seed: seed of the draw (same seed, same codes).

    Returns:
        (k, latent_dim) float32.

    Raises:
        ValueError: k < 1.
    """
    if k < 1:
        raise ValueError(f"need at least one sample, got k={k}")
    generator = torch.Generator().manual_seed(int(seed))
    return torch.randn((k, latent_dim), generator=generator).numpy()


def interpolate(z_start, z_end, n: int) -> np.ndarray:
    """``n`` evenly spaced codes on the straight line from ``z_start`` to ``z_end``, both included.

    Linear interpolation z_t = (1 - t) z_start + t z_end for t = 0, 1/(n-1), ..., 1.

    Args:
        z_start, z_end: (latent_dim,) the two ends.
        n: points on the path, >= 2.

    Returns:
        (n, latent_dim) float32; row 0 is ``z_start``, row n-1 is ``z_end``.

    Raises:
        ValueError: n < 2, or the ends differ in shape or are not vectors.
    """
    start = np.asarray(z_start, dtype=np.float64)
    end = np.asarray(z_end, dtype=np.float64)
    if start.ndim != 1 or start.shape != end.shape:
        raise ValueError(f"ends must be vectors of one shape, got {start.shape} and {end.shape}")
    if n < 2:
        raise ValueError(f"a path needs at least 2 points, got n={n}")
    t = np.linspace(0.0, 1.0, n)[:, None]
    return ((1.0 - t) * start + t * end).astype(np.float32)


@torch.inference_mode()
def posterior_samples(model: Autoencoder, mu, logvar, k: int, seed: int = 0) -> np.ndarray:
    """``k`` codes z = mu + sigma * eps, eps ~ N(0, I), from one image's posterior q(z|x),
    through the model's own ``reparameterize`` (Kingma & Welling 2013, Eq. 10).

    Args:
        model: a variational model (has ``reparameterize``).
        mu, logvar: (latent_dim,) the image's posterior parameters (logvar = log sigma^2).
        k: how many draws, >= 1.
        seed: seed of eps (same seed, same cloud).

    Returns:
        (k, latent_dim) float32.

    Raises:
        ValueError: the model has no posterior (an AE gives one code per image), or k < 1.
    """
    if not model.is_variational:
        raise ValueError("this model has no posterior q(z|x): its encoder gives one code per image")
    if k < 1:
        raise ValueError(f"need at least one sample, got k={k}")
    mu_t = torch.as_tensor(np.asarray(mu, dtype=np.float32)).expand(k, -1)
    logvar_t = torch.as_tensor(np.asarray(logvar, dtype=np.float32)).expand(k, -1)
    return model.reparameterize(mu_t, logvar_t, torch.Generator().manual_seed(int(seed))).numpy()


@torch.inference_mode()
def image_strip(model: Autoencoder, z: np.ndarray, nrow: int | None = None, padding: int = 2,
                y: int | None = None) -> torch.Tensor:
    """Decoder means of codes ``z`` tiled into one image (torchvision's make_grid):
    a path as a strip (``nrow`` = len(z)) or samples as a grid.

    Args:
        model: any model of the family.
        z: (B, latent_dim) codes.
        nrow: images per row (default: all in one row).
        padding: pixels between images.
        y: the label every code is decoded with (conditional models).

    Returns:
        (3, H, W) float32 pixels in [0, 1].
    """

    return tile(decode_z(model, z, y=y), nrow=nrow or len(z), padding=padding)
