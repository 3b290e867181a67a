"""Your own digit: turn a drawing or a photo into an MNIST-style 28x28 image.

MNIST's digits were made this way (LeCun, Cortes & Burges, "The MNIST database"):
each digit's bounding box was size-normalised to fit a 20x20 box keeping its aspect
ratio (anti-aliased, hence the grey levels), then placed in a 28x28 field so that its
centre of mass lies at the field's centre. :func:`to_mnist` does the same; the centre
is pixel (14, 14) in row/column index coordinates, reached by a whole-pixel shift
(so within 0.5 px), unless that would push ink off the field (then the digit is
shifted only as far as it fits).

Input conventions (:func:`ink`):

- RGBA with some transparent pixels (``streamlit-drawable-canvas``'s ``image_data``:
  strokes on a transparent layer): the ink is the **alpha** channel, whatever the
  stroke colour.
- Fully opaque RGBA, RGB or grey: the ink is the **luminance**; if the border is
  brighter than mid-grey (dark ink on light paper), it is inverted.

Either way the background level (the border's median) is subtracted and the ink is
rescaled so its brightest pixel is 1.
"""

from __future__ import annotations

import io

import numpy as np
import torch
import torch.nn.functional as F

#: MNIST's field and the box its digits were scaled into.
FIELD = 28
BOX = 20
CENTRE = (14.0, 14.0)
#: Ink below this (after background removal, in [0, 1]) is left out of the bounding box.
INK_THRESHOLD = 0.1
#: A picture whose ink varies less than this is empty.
MIN_CONTRAST = 0.05
EMPTY_MESSAGE = "The drawing is empty: draw a digit (or upload a picture of one) first."


class EmptyImageError(ValueError):
    """The picture holds no ink (an empty canvas or a blank photo)."""


def read_image(data: bytes) -> np.ndarray:
    """Decode PNG/JPEG/... bytes (an upload) with Pillow.

    Returns:
        (H, W, 4) uint8 RGBA array.

    Raises:
        ValueError: the bytes are not an image Pillow can read.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            return np.asarray(img.convert("RGBA"))
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"This file is not a picture that can be read (PNG or JPEG please): {exc}") from exc


def ink(image) -> np.ndarray:
    """The ink of a picture as a float (H, W) array in [0, 1], background 0.

    Args:
        image: (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA array (uint8 0-255 or
            float 0-1), or a ``PIL.Image``. See the module docstring for which channel
            is used and when the picture is inverted.

    Raises:
        EmptyImageError: nothing is drawn (no contrast).
        ValueError: an array of another shape.
    """
    a = np.asarray(image)
    a = a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32)
    if a.ndim == 3 and a.shape[2] == 4 and (a[..., 3] < 1.0).any():
        values = a[..., 3]                   # strokes on a transparent layer
    else:
        if a.ndim == 3 and a.shape[2] in (3, 4):
            values = a[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601 luma
        elif a.ndim == 2:
            values = a
        else:
            raise ValueError(f"need a grey (H, W), RGB (H, W, 3) or RGBA (H, W, 4) picture, got shape {a.shape}")
        border = np.concatenate([values[0], values[-1], values[:, 0], values[:, -1]])
        if border.mean() > 0.5:              # dark ink on light paper
            values = 1.0 - values
    border = np.concatenate([values[0], values[-1], values[:, 0], values[:, -1]])
    background = float(np.median(border))
    span = float(values.max()) - background
    if not np.isfinite(span) or span < MIN_CONTRAST:
        raise EmptyImageError(EMPTY_MESSAGE)
    return np.clip((values - background) / span, 0.0, 1.0)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) centre of mass of a non-negative (H, W) array, in pixel index units."""
    image = np.asarray(image, dtype=np.float64)
    total = image.sum()
    if total <= 0:
        raise EmptyImageError(EMPTY_MESSAGE)
    rows, cols = np.arange(image.shape[0]), np.arange(image.shape[1])
    return float(image.sum(1) @ rows / total), float(image.sum(0) @ cols / total)


def to_mnist(image) -> torch.Tensor:
    """A picture of a digit as MNIST would have it.

    Bounding box of the ink (pixels >= :data:`INK_THRESHOLD`), scaled so its longer
    side is 20 px keeping the aspect ratio (bilinear with anti-aliasing,
    ``F.interpolate(antialias=True)``), pasted into 28x28 so its centre of mass is at
    (14, 14) to within 0.5 px.

    Args:
        image: as :func:`ink` takes (canvas RGBA, upload array, PIL image).

    Returns:
        (1, 28, 28) float32 tensor, pixels in [0, 1].

    Raises:
        EmptyImageError (a ValueError): nothing is drawn.
    """
    values = ink(image)
    rows, cols = np.nonzero(values >= INK_THRESHOLD)
    if len(rows) == 0:
        raise EmptyImageError(EMPTY_MESSAGE)
    crop = torch.from_numpy(np.ascontiguousarray(values[rows.min():rows.max() + 1, cols.min():cols.max() + 1]))
    h, w = crop.shape
    scale = BOX / max(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    patch = F.interpolate(crop[None, None], size=size, mode="bilinear", antialias=True, align_corners=False)
    patch = patch[0, 0].clamp(0.0, 1.0)
    com_r, com_c = centre_of_mass(patch.numpy())
    top = int(np.clip(round(CENTRE[0] - com_r), 0, FIELD - size[0]))
    left = int(np.clip(round(CENTRE[1] - com_c), 0, FIELD - size[1]))
    out = torch.zeros(1, FIELD, FIELD)
    out[0, top:top + size[0], left:left + size[1]] = patch
    return out


@torch.inference_mode()
def nearest_training_images(image: torch.Tensor, train_images: torch.Tensor, k: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """The k training images closest to ``image`` in pixel space (Euclidean distance).

    Args:
        image: (1, 28, 28) or (28, 28) pixels in [0, 1].
        train_images: (N, 1, 28, 28) pixels in [0, 1].
        k: how many (at most N).

    Returns:
        (indices (k,) int64 into ``train_images``, distances (k,) float32 in pixel units), nearest first.
    """
    flat = train_images.reshape(len(train_images), -1)
    distances = torch.cdist(image.reshape(1, -1).to(flat.dtype), flat)[0]
    best = torch.topk(distances, min(k, len(flat)), largest=False)
    return best.indices, best.values
