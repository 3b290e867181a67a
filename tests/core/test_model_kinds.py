"""The model-kind pages' computations on the shipped checkpoints and real MNIST: style grids
of the conditional VAE, denoising errors, latent traversals."""

import numpy as np
import pytest
import torch

from explorer.core.checkpoints import load_checkpoint
from explorer.core.model_kinds import (
    denoising_error,
    error_curve,
    largest_gap_level,
    noisy_copy,
    reconstruct,
    style_grid,
    traversal_codes,
)
from explorer.core.latent import decode_z

from tests.helpers.paths import REPO

CVAE = REPO / "checkpoints" / "mnist_cvae_z2.safetensors"
DAE = REPO / "checkpoints" / "mnist_dae_z2.safetensors"


@pytest.fixture(scope="module")
def cvae():
    return load_checkpoint(CVAE).model


@pytest.fixture(scope="module")
def dae():
    return load_checkpoint(DAE).model


def test_a_style_grid_decodes_each_z_with_every_label(cvae, mnist):
    z = np.array([[0.5, -1.0], [-2.0, 0.3]], dtype=np.float32)
    tiles = style_grid(cvae, z)
    assert tiles.shape == (20, 1, 28, 28)
    for i in range(2):
        for y in (0, 7, 9):
            torch.testing.assert_close(tiles[10 * i + y], decode_z(cvae, z[i], y=y)[0])
    # the column, not the row, decides the digit: the shipped classifier reads each tile as its label
    from explorer.core.classifier import load_classifier

    classifier = load_classifier(REPO / "checkpoints" / "mnist_classifier.safetensors").model.eval()
    with torch.no_grad():
        predicted = classifier(tiles).argmax(1)
    assert (predicted == torch.arange(10).repeat(2)).float().mean() >= 0.9


def test_a_style_grid_needs_a_conditional_model_and_codes_of_its_size(cvae, vae_checkpoint):
    with pytest.raises(ValueError, match="conditional"):
        style_grid(vae_checkpoint.model, np.zeros((1, 2)))
    with pytest.raises(ValueError, match="shape"):
        style_grid(cvae, np.zeros((1, 3)))


def test_traversal_codes_sweep_one_dimension_and_hold_the_rest():
    mu = np.array([0.1, -0.2, 0.3], dtype=np.float32)
    codes = traversal_codes(mu, [2, 0], n=5)
    assert codes.shape == (10, 3)
    np.testing.assert_allclose(codes[:5, 2], [-3, -1.5, 0, 1.5, 3])
    np.testing.assert_allclose(codes[:5, :2], np.tile(mu[:2], (5, 1)))
    np.testing.assert_allclose(codes[5:, 0], [-3, -1.5, 0, 1.5, 3])
    np.testing.assert_allclose(codes[5:, 1:], np.tile(mu[1:], (5, 1)))
    for bad in (dict(dims=[3]), dict(dims=[0], n=1)):
        with pytest.raises(ValueError):
            traversal_codes(mu, **{"n": 5, **bad})


def test_masking_noise_is_seeded_and_zeroes_about_p_of_the_pixels(mnist):
    x = mnist.test_images[:200]
    a, b = noisy_copy(x, "masking", 0.5, seed=3), noisy_copy(x, "masking", 0.5, seed=3)
    assert torch.equal(a, b) and not torch.equal(a, noisy_copy(x, "masking", 0.5, seed=4))
    ink = x > 0
    assert float((a[ink] == 0).float().mean()) == pytest.approx(0.5, abs=0.01)
    assert torch.equal(a[~ink], x[~ink])  # masking only ever turns pixels off


def test_the_denoising_error_is_the_clean_image_under_the_decoder_at_the_noisy_code(dae, mnist):
    clean = mnist.test_images[:300]
    noisy = noisy_copy(clean, "masking", 0.5, seed=0)
    errors = denoising_error(dae, clean, noisy)
    with torch.no_grad():
        expected = dae.likelihood.nll(dae.decode(dae.encode(noisy)[0]), clean)
    torch.testing.assert_close(errors, expected)
    assert reconstruct(dae, noisy).shape == clean.shape
    with pytest.raises(ValueError, match="differ"):
        denoising_error(dae, clean, noisy[:10])


def test_the_denoising_ae_beats_the_plain_ae_on_masked_digits(dae, ae_checkpoint, mnist):
    clean = mnist.test_images[:1000]
    levels = (0.0, 0.5)
    dae_curve = error_curve(dae, clean, "masking", levels)
    ae_curve = error_curve(ae_checkpoint.model, clean, "masking", levels)
    # level 0 is the clean reconstruction error
    assert dae_curve[0] == pytest.approx(float(denoising_error(dae, clean, clean).double().mean()))
    # at the training noise the denoising AE is clearly better, and the plain AE got worse
    assert dae_curve[1] < ae_curve[1] - 5
    assert ae_curve[1] > ae_curve[0] + 5


def test_largest_gap_level_is_where_the_baseline_loses_most():
    levels = (0.0, 0.1, 0.2, 0.3)
    plain, denoising = np.array([130.0, 140.0, 180.0, 300.0]), np.array([135.0, 132.0, 140.0, 290.0])
    assert largest_gap_level(levels, plain, denoising) == (2, 0.2)
    assert largest_gap_level(levels, denoising, plain) == (0, 0.0)  # the other way round: plain wins most at 0
    with pytest.raises(ValueError):
        largest_gap_level(levels, plain[:3], denoising)
