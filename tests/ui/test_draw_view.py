"""The your-digit code panel on an AppTest page: a real test digit, given as if drawn,
is encoded by each shipped model (mu as the model computes it), with its nearest
training images."""

import torch

from explorer.core.preprocess import nearest_training_images
from tests.helpers.apptest import _imgs


def _page():
    import streamlit as st

    from explorer.core.data import load_split
    from explorer.ui.state import registry, session
    from explorer.ui.views import ShownModel
    from explorer.ui.views.draw import your_digit_code_panel

    session.init_session_state()
    image = load_split(train=False)[0][0]
    for prefix, name in (("a_", "mnist_vae_z2.safetensors"), ("b_", "mnist_ae_z2.safetensors")):
        entry = registry.resolve_model(f"{registry.FILE_PREFIX}{registry.CHECKPOINT_DIR / name}")
        your_digit_code_panel(ShownModel.create(entry, prefix), image)


def test_code_panel_shows_each_models_mu_and_the_nearest_training_digits(mnist, vae_checkpoint, ae_checkpoint):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_page, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    image = mnist.test_images[0]
    indices, _ = nearest_training_images(image, mnist.train_images, k=3)
    for prefix, ckpt in (("a_", vae_checkpoint), ("b_", ae_checkpoint)):
        with torch.inference_mode():
            mu, logvar = ckpt.model.encode(image.unsqueeze(0))
        text = " ".join(m.value for m in at.get_by_key(f"{prefix}draw_result").markdown)
        assert f"mu = ({mu[0, 0]:.3f}, {mu[0, 1]:.3f})" in text
        assert ("sigma = (" in text) == (logvar is not None)
        captions = [img.caption for img in _imgs(at.get_by_key(f"{prefix}draw_result"))]
        assert captions[0] == "reconstruction (decoder mean at mu)"
        assert [c.split(",")[0] for c in captions[1:]] == [f"training digit {int(mnist.train_labels[i])}"
                                                          for i in indices]
    assert int(mnist.train_labels[indices[0]]) == int(mnist.test_labels[0])  # a 7's nearest neighbour is a 7
