"""The manifold grid (Kingma & Welling 2013, Figure 4): the coordinates along each latent
axis, the z of every cell, and the decoded grid tiled into one image.
"""

from __future__ import annotations

import numpy as np
import torch

from explorer.core.images import tile
from explorer.core.latent import check_2d_latent, decode_z
from explorer.core.models import Autoencoder

#: Grid spacings of the manifold: ``"paper"`` (inverse Gaussian CDF of evenly spaced
#: points on the unit square, Kingma & Welling 2013, Figure 4) or ``"linear"``.
SPACINGS = ("paper", "linear")
#: The paper's margin on the unit square: points run from 0.05 to 0.95.
PAPER_MARGIN = 0.05
#: Smallest and largest manifold grid side (cells per row).
GRID_MIN, GRID_MAX = 5, 40


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
    check_2d_latent(model)
    n = int(round(len(z) ** 0.5))
    if n * n != len(z):
        raise ValueError(f"expected n*n codes, got {len(z)}")

    return tile(decode_z(model, z, y=y), nrow=n, padding=padding)
