"""Computations on the latent space that the app shows: encodings of a data set,
decoding z (one code, a grid, a path), the manifold grid, posterior ellipses, slider
ranges and per-image loss terms.

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


# --- Decoding, the manifold grid and posterior geometry ---------------------------------

#: Grid spacings of the manifold: ``"paper"`` (inverse Gaussian CDF of evenly spaced
#: points on the unit square, Kingma & Welling 2013, Figure 4) or ``"linear"``.
SPACINGS = ("paper", "linear")
#: The paper's margin on the unit square: points run from 0.05 to 0.95.
PAPER_MARGIN = 0.05
#: Smallest and largest manifold grid side (cells per row).
GRID_MIN, GRID_MAX = 5, 40
#: Half-width of the VAE's slider range: the prior N(0, I) puts 99.99% of a
#: coordinate inside [-4, 4].
VAE_SLIDER_HALF_RANGE = 4.0
#: Slider step of a VAE's latent axes.
VAE_SLIDER_STEP = 0.05
#: About this many slider steps across an AE's latent axis.
SLIDER_STEPS = 160


def _check_2d_latent(model: Autoencoder) -> None:
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


def manifold_coordinates(n: int, spacing: str = "paper", low: float = -3.0, high: float = 3.0,
                         margin: float = PAPER_MARGIN) -> np.ndarray:
    """Coordinates along one latent axis of the manifold grid, ascending.

    ``"paper"``: n points linearly spaced on [margin, 1 - margin] mapped through the
    inverse Gaussian CDF (Kingma & Welling 2013, Figure 4: "linearly spaced coordinates
    on the unit square were transformed through the inverse CDF of the Gaussian"), so
    equal prior mass lies between neighbours. ``"linear"``: n points on [low, high].

    Args:
        n: points per axis, GRID_MIN..GRID_MAX.
        spacing: one of :data:`SPACINGS`.
        low, high: range of ``"linear"`` (ignored by ``"paper"``).
        margin: unit-square margin of ``"paper"``, in (0, 0.5).

    Returns:
        (n,) float64.

    Raises:
        ValueError: n, spacing, range or margin out of bounds.
    """
    if not GRID_MIN <= n <= GRID_MAX:
        raise ValueError(f"grid side n must be in [{GRID_MIN}, {GRID_MAX}], got {n}")
    if spacing == "paper":
        if not 0 < margin < 0.5:
            raise ValueError(f"margin must be in (0, 0.5), got {margin}")
        unit = torch.linspace(margin, 1 - margin, n, dtype=torch.float64)
        return torch.special.ndtri(unit).numpy()
    if spacing == "linear":
        if not low < high:
            raise ValueError(f"linear range needs low < high, got [{low}, {high}]")
        return np.linspace(low, high, n)
    raise ValueError(f"spacing must be one of {SPACINGS}, got {spacing!r}")


def manifold_z(coords: np.ndarray) -> np.ndarray:
    """The z of every grid cell, row-major with the top row first.

    Cell (row r, column c) has z1 = coords[c] and z2 = coords[n - 1 - r], so the grid
    image has the latent map's orientation (z1 to the right, z2 up).

    Args:
        coords: (n,) ascending coordinates from :func:`manifold_coordinates`.

    Returns:
        (n * n, 2) float32.
    """
    z1, z2 = np.meshgrid(coords, coords[::-1])
    return np.stack([z1.ravel(), z2.ravel()], axis=1).astype(np.float32)


@torch.inference_mode()
def decode_manifold(model: Autoencoder, z: np.ndarray, padding: int = 2,
                    y: int | None = None) -> torch.Tensor:
    """Decoder means of a square grid of codes, tiled into one image (torchvision's make_grid).

    Args:
        model: any model of the family with a 2-D latent space.
        z: (n * n, 2) codes from :func:`manifold_z`, row-major, top row first.
        padding: pixels between cells.
        y: the label every cell is decoded with (conditional models).

    Returns:
        (3, n * (28 + padding) + padding, same) float32 pixels in [0, 1]; cell (r, c)
        starts at pixel (padding + r * (28 + padding), padding + c * (28 + padding)).

    Raises:
        ValueError: the model's latent space is not 2-D or z is not a square grid.
    """
    _check_2d_latent(model)
    n = int(round(len(z) ** 0.5))
    if n * n != len(z):
        raise ValueError(f"expected n*n codes, got {len(z)}")

    return tile(decode_z(model, z, y=y), nrow=n, padding=padding)


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


def _nice_step(span: float, steps: int) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is >= span / steps."""
    raw = span / steps
    power = 10.0 ** np.floor(np.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * power >= raw * (1 - 1e-9):
            return float(m * power)
    return float(10 * power)


@dataclass(frozen=True)
class LatentRange:
    """Range and step of one latent axis for the sliders and the map.

    Attributes:
        low, high: the range (multiples of 10 * step, so rounded out).
        step: slider step; clicked positions snap to it.
    """

    low: float
    high: float
    step: float

    def snap(self, value: float) -> float:
        """``value`` clamped to the range and rounded to the step grid."""
        value = min(max(float(value), self.low), self.high)
        return round(round((value - self.low) / self.step) * self.step + self.low, 10)


def latent_ranges(mu: np.ndarray, stochastic: bool) -> tuple[LatentRange, LatentRange]:
    """Slider ranges of a 2-D latent space.

    A VAE (``stochastic``) gets [-4, 4] by 0.05 (the prior's range), widened to take in
    every mu (rounded out to 0.5). An AE has no prior: its range is the extent of its
    codes, rounded out, with a "nice" step giving about :data:`SLIDER_STEPS` steps.

    Args:
        mu: (N, 2) encoder means.
        stochastic: True for a VAE.

    Returns:
        One :class:`LatentRange` per axis.
    """
    ranges = []
    for j in range(2):
        lo, hi = float(mu[:, j].min()), float(mu[:, j].max())
        if stochastic:
            lo, hi = min(lo, -VAE_SLIDER_HALF_RANGE), max(hi, VAE_SLIDER_HALF_RANGE)
        if not hi > lo:
            lo, hi = lo - 1, hi + 1
        step = VAE_SLIDER_STEP if stochastic else _nice_step(hi - lo, SLIDER_STEPS)
        unit = 10 * step
        ranges.append(LatentRange(float(np.floor(lo / unit) * unit), float(np.ceil(hi / unit) * unit), step))
    return ranges[0], ranges[1]


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
