"""MNIST-style preprocessing of a drawing or an upload (LeCun et al.'s recipe):
ink bounding box scaled into 20x20, centre of mass at (14, 14), values in [0, 1]."""

import io

import numpy as np
import pytest
import torch

from explorer.core.preprocess import (
    EmptyImageError, centre_of_mass, nearest_training_images, read_image, to_mnist,
)


def _com(image: np.ndarray) -> tuple[float, float]:
    """Centre of mass in plain numpy, independent of the module's helper."""
    total = image.sum()
    r, c = np.indices(image.shape)
    return float((r * image).sum() / total), float((c * image).sum() / total)


def _bbox(image: np.ndarray, threshold: float = 0.0) -> tuple[int, int]:
    rows, cols = np.nonzero(image > threshold)
    return rows.max() - rows.min() + 1, cols.max() - cols.min() + 1


def _canvas(stroke: str = "white") -> np.ndarray:
    """A 280x280 RGBA canvas layer: transparent, with a small off-centre stroke (a '1' plus a blob)."""
    rgba = np.zeros((280, 280, 4), np.uint8)
    value = 255 if stroke == "white" else 0
    rgba[30:110, 200:215, :3] = value  # a vertical bar in the top-right corner
    rgba[30:110, 200:215, 3] = 255
    rgba[95:110, 180:200, :3] = value  # a foot to the left
    rgba[95:110, 180:200, 3] = 255
    return rgba


@pytest.mark.parametrize("stroke", ["white", "black"])
def test_an_off_centre_stroke_is_centred_and_scaled_into_20x20(stroke):
    out = to_mnist(_canvas(stroke))
    assert out.shape == (1, 28, 28) and out.dtype == torch.float32
    image = out[0].numpy()
    assert image.min() >= 0.0 and image.max() <= 1.0 and image.max() > 0.9
    com = _com(image)
    assert abs(com[0] - 14) <= 0.5 and abs(com[1] - 14) <= 0.5, com
    assert centre_of_mass(image) == pytest.approx(com)
    h, w = _bbox(image)
    assert max(h, w) <= 20 and max(h, w) >= 19   # longer side ~20 (anti-aliasing may add a faint row)
    assert 5 <= min(h, w) <= 9                   # aspect kept: 80x35 strokes -> 20 x ~9


def test_a_test_digit_goes_through_nearly_unchanged(mnist):
    """A real MNIST digit, enlarged 10x and put off-centre on a big canvas, comes back
    close to the original (which was made by the same recipe)."""
    digit = mnist.test_images[0, 0]
    big = torch.nn.functional.interpolate(digit[None, None], scale_factor=10, mode="bilinear")[0, 0].numpy()
    canvas = np.zeros((400, 500), np.float32)
    canvas[20:300, 150:430] = big
    out = to_mnist(canvas)[0].numpy()
    com = _com(out)
    assert abs(com[0] - 14) <= 0.5 and abs(com[1] - 14) <= 0.5
    assert np.abs(out - digit.numpy()).mean() < 0.08


def test_dark_ink_on_light_paper_is_inverted():
    from PIL import Image

    paper = np.full((300, 200, 3), 235, np.uint8)      # off-white paper
    paper[60:240, 90:115] = 20                          # a dark vertical stroke
    buf = io.BytesIO()
    Image.fromarray(paper).save(buf, format="PNG")
    out = to_mnist(read_image(buf.getvalue()))[0].numpy()
    assert out[0, 0] == 0.0 and out[-1, -1] == 0.0      # background black
    assert out[14, 14] > 0.9                            # ink white, in the middle
    assert out.sum() < 0.5 * 28 * 28                    # not the inverted paper
    h, w = _bbox(out, 0.1)
    assert h == 20 and w < 6


def test_jpeg_upload_reads():
    from PIL import Image

    paper = np.full((100, 100, 3), 255, np.uint8)
    paper[20:80, 45:55] = 0
    buf = io.BytesIO()
    Image.fromarray(paper).save(buf, format="JPEG")
    out = to_mnist(read_image(buf.getvalue()))[0].numpy()
    assert out[14, 14] > 0.8 and out[0, 0] == 0.0


@pytest.mark.parametrize("blank", [np.zeros((280, 280, 4), np.uint8), np.full((50, 50, 3), 255, np.uint8),
                                   np.full((28, 28), 0.5, np.float32)])
def test_an_empty_picture_is_refused_with_a_message(blank):
    with pytest.raises(EmptyImageError, match="empty: draw a digit"):
        to_mnist(blank)
    assert issubclass(EmptyImageError, ValueError)


def test_a_non_image_upload_is_refused():
    with pytest.raises(ValueError, match="not a picture"):
        read_image(b"certainly not a png")


def test_nearest_training_images_finds_the_image_itself(mnist):
    images = mnist.test_images[:500]
    indices, distances = nearest_training_images(images[123], images, k=3)
    assert indices[0] == 123 and distances[0] == pytest.approx(0.0, abs=1e-4)
    assert (distances[1:] >= distances[:-1]).all() and len(indices) == 3
    expected = ((images.reshape(500, -1) - images[123].reshape(1, -1)) ** 2).sum(1).sqrt().argsort()[:3]
    assert indices.tolist() == expected.tolist()
