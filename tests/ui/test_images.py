"""PNG encoding without torchvision gives exactly torchvision's bytes; the first page's
modules do not import torchvision."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
import torch
from torchvision.utils import make_grid, save_image

from tests.helpers.paths import REPO
from explorer.core.images import png_bytes, upscale_nearest
from explorer.core.latent import decode_z, image_strip
from explorer.core.manifold import decode_manifold, manifold_z


def _save_image_bytes(image: torch.Tensor) -> bytes:
    buffer = io.BytesIO()
    save_image(image, buffer, format="png")
    return buffer.getvalue()


def test_png_bytes_are_save_image_bytes(mnist, vae_checkpoint):
    digit = mnist.test_images[0]
    decoded = decode_z(vae_checkpoint.model, [0.3, -1.2])[0]
    grid = decode_manifold(vae_checkpoint.model, manifold_z(np.linspace(-2, 2, 5, dtype=np.float32)))
    for image in (digit, upscale_nearest(decoded, 6), grid, grid.unsqueeze(0), digit.unsqueeze(0)):
        assert png_bytes(image) == _save_image_bytes(image)


def test_image_strip_and_manifold_keep_make_grids_layout(vae_checkpoint):
    model = vae_checkpoint.model
    z = manifold_z(np.linspace(-2, 2, 4, dtype=np.float32))
    images = decode_z(model, z)
    assert torch.equal(decode_manifold(model, z), make_grid(images, nrow=4, padding=2, pad_value=1.0))
    assert torch.equal(image_strip(model, z[:6], nrow=3), make_grid(decode_z(model, z[:6]), nrow=3, padding=2, pad_value=1.0))


def test_the_first_page_modules_do_not_import_torchvision():
    """Importing torchvision takes seconds (it imports torch._dynamo): the Explorer page's
    modules and image helpers leave it to the pages and the data loader that need it."""
    code = ("import sys\n"
            "import explorer.ui.state.registry, explorer.ui.state.session, explorer.ui.state.browser_store, explorer.ui.state.caches\n"
            "import explorer.ui.views.click, explorer.ui.views.decoder, explorer.ui.views.grid\n"
            "import explorer.ui.views.latent_map, explorer.ui.views.draw, explorer.ui.views.traversal\n"
            "import explorer.core.images, explorer.ui.components.browser_grid\n"
            "print('torchvision' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(REPO))
    assert out.stdout.strip() == "False"
