"""Images for display and download: crisp enlargement and PNG encoding (torchvision)."""

from __future__ import annotations

import io

import torch


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


def png_bytes(image: torch.Tensor) -> bytes:
    """Encode one image as PNG with torchvision's ``save_image``.

    Args:
        image: (C, H, W) or (1, C, H, W) with C = 1 or 3, pixels in [0, 1].

    Returns:
        The PNG file's bytes (8-bit).
    """
    from torchvision.utils import save_image  # importing torchvision takes seconds: only when an image is made

    buffer = io.BytesIO()
    save_image(image, buffer, format="png")
    return buffer.getvalue()
