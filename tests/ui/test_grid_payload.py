"""The manifold grid's packed pixels for the page (explorer/ui/components/browser_grid.py, safetensors
bytes): they round-trip exactly and equal the pixels of the grid's PNG download, for an MLP and a
conv decoder."""

import io
import json

import numpy as np
import pytest
import safetensors.numpy
from PIL import Image

from explorer.core.checkpoints import load_checkpoint
from explorer.core.images import png_bytes
from explorer.core.manifold import decode_manifold, manifold_coordinates, manifold_z
from explorer.ui.components import browser_grid
from explorer.ui.state.registry import CHECKPOINT_DIR


def _description(n=7, spacing="linear", low=-2.0, high=1.5):
    coords = manifold_coordinates(n, spacing, low, high)
    return json.loads(browser_grid.describe(n, spacing, low, high, coords, (1, 28, 28), 2, 420,
                                            overlay={"map": ".m", "trace": "t"}, model="m.pt"))


def test_a_packed_grid_round_trips_exactly():
    description = _description()
    pixels = np.random.default_rng(0).integers(0, 256, size=(49, 784), dtype=np.uint8)
    packed = browser_grid.pack_grid(description, pixels)
    # plain safetensors (the page parses it with explorer/ui/components/safetensors.js): the library reads the pixels
    np.testing.assert_array_equal(safetensors.numpy.load(packed)["pixels"], pixels)
    back, back_pixels = browser_grid.unpack_grid(packed)
    assert back == description
    np.testing.assert_array_equal(back_pixels, pixels)


def test_pack_and_unpack_refuse_what_they_cannot_read():
    with pytest.raises(ValueError, match=r"\(49, 784\) uint8"):
        browser_grid.pack_grid(_description(), np.zeros((48, 784), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"uint8"):
        browser_grid.pack_grid(_description(), np.zeros((49, 784), dtype=np.float32))
    with pytest.raises(ValueError, match="not a packed grid"):
        browser_grid.unpack_grid(b"PNG and more")


@pytest.mark.parametrize("checkpoint", ["mnist_vae_z2.safetensors", "mnist_conv_vae_z2.safetensors"])
def test_the_cells_pixels_are_the_downloads(checkpoint):
    model = load_checkpoint(CHECKPOINT_DIR / checkpoint).model
    n = 9
    z = manifold_z(manifold_coordinates(n, "paper"))
    pixels = browser_grid.grid_pixels(model, z)
    assert pixels.shape == (n * n, 784) and pixels.dtype == np.uint8
    download = np.asarray(Image.open(io.BytesIO(png_bytes(decode_manifold(model, z, padding=2)))).convert("L"))
    for k in (0, 4, n * n - 1):  # top left, top row, bottom right
        top, left = 2 + (k // n) * 30, 2 + (k % n) * 30
        np.testing.assert_array_equal(download[top:top + 28, left:left + 28], pixels[k].reshape(28, 28))
