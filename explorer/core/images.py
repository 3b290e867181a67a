"""Images for display and download: crisp enlargement and PNG encoding.

PNGs are written by Pillow, as torchvision's ``save_image`` does (the same bytes;
tests/ui/test_images.py compares them), without importing torchvision: that import pulls in
``torch._dynamo`` and took 2.5 s of a fresh server's 11 s to its first map. Image grids
are torchvision's ``make_grid`` behind one function, :func:`tile` (:func:`tiled_png` for a
PNG), imported only when a grid is made (not on the first page, whose manifold grid is
drawn from raw pixels: :mod:`explorer.ui.components.browser_grid`).
"""

from __future__ import annotations

import io

import torch
from PIL import Image


def upscale_nearest(images: torch.Tensor, factor: int) -> torch.Tensor:
    """Enlarge images by repeating pixels (no blur), so a 28x28 digit stays crisp.

    Args:
        images: (..., H, W) pixels in [0, 1].
        factor: integer scale >= 1.

    Returns:
        (..., H * factor, W * factor), same values.

    Raises:
        ValueError: factor < 1.
    """
    if factor < 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    return images.repeat_interleave(factor, dim=-2).repeat_interleave(factor, dim=-1)


def tile(images: torch.Tensor, nrow: int, padding: int = 2) -> torch.Tensor:
    """Images tiled row by row into one image with white gaps (torchvision's ``make_grid``).

    Args:
        images: (K, C, H, W) pixels in [0, 1].
        nrow: images per row.
        padding: pixels of white between and around the images.

    Returns:
        (3, rows * (H + padding) + padding, nrow * (W + padding) + padding) for C = 1
        (make_grid repeats one channel three times), pixels in [0, 1].
    """
    from torchvision.utils import make_grid  # a seconds-long import: only when a grid is made

    return make_grid(images, nrow=nrow, padding=padding, pad_value=1.0)


def tiled_png(images: torch.Tensor, nrow: int, scale: int = 1) -> bytes:
    """:func:`tile` enlarged ``scale`` times (:func:`upscale_nearest`) as PNG bytes
    (:func:`png_bytes`). Args as :func:`tile`; ``scale`` an integer >= 1."""
    tiled = tile(images, nrow)
    return png_bytes(tiled if scale == 1 else upscale_nearest(tiled, scale))


def png_bytes(image: torch.Tensor) -> bytes:
    """Encode one image as an 8-bit RGB PNG (the bytes torchvision's ``save_image`` writes).

    Args:
        image: (C, H, W) or (1, C, H, W) with C = 1 or 3, pixels in [0, 1].

    Returns:
        The PNG file's bytes (8-bit RGB; one channel is repeated three times).
    """
    if image.dim() == 4:
        image = image[0]
    if image.shape[0] == 1:
        image = image.expand(3, -1, -1)
    # save_image's rounding: x * 255 + 0.5, clamped, truncated to uint8
    array = image.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to("cpu", torch.uint8).numpy()
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="png")
    return buffer.getvalue()
