"""Images for display and download: crisp enlargement, tiling and PNG encoding.

Tiling and PNG encoding give exactly what torchvision's ``make_grid`` and ``save_image``
give (tests/test_images.py compares them), without importing torchvision: that import
pulls in ``torch._dynamo`` and took 2.5 s of a fresh server's 11 s to its first map.
The PNG is written by Pillow, as ``save_image`` does.
"""

from __future__ import annotations

import io

import torch
import torch.nn.functional as F
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


def tile(images: torch.Tensor, nrow: int, padding: int = 2, pad_value: float = 0.0) -> torch.Tensor:
    """Images of one size tiled row by row into one image, as ``torchvision.utils.make_grid``
    lays them out (one-channel images become three-channel; a single image is returned
    without padding).

    Args:
        images: (B, C, H, W) with C = 1 or 3, pixels in [0, 1].
        nrow: images per row (the last row may be short).
        padding: pixels between images and around the edge.
        pad_value: value of the padding pixels.

    Returns:
        (3, rows * (H + padding) + padding, min(nrow, B) * (W + padding) + padding)
        with rows = ceil(B / nrow); image k at row k // nrow, column k % nrow.

    Raises:
        ValueError: not a (B, C, H, W) batch of 1- or 3-channel images, or nrow < 1.
    """
    if images.dim() != 4 or images.shape[1] not in (1, 3) or nrow < 1:
        raise ValueError(f"expected (B, 1 or 3, H, W) images and nrow >= 1, got {tuple(images.shape)}, nrow={nrow}")
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    count, channels, height, width = images.shape
    if count == 1:
        return images[0].clone()
    cols = min(nrow, count)
    rows = -(-count // cols)
    cells = images.new_full((rows * cols, channels, height + padding, width + padding), pad_value)
    cells[:count, :, padding:, padding:] = images
    grid = cells.view(rows, cols, channels, height + padding, width + padding).permute(2, 0, 3, 1, 4)
    grid = grid.reshape(channels, rows * (height + padding), cols * (width + padding))
    return F.pad(grid, (0, padding, 0, padding), value=pad_value)


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
