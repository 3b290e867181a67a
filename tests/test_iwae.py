"""The importance-weighted bound (Burda et al. 2015, Eq. 8): exact on a linear-Gaussian
model, below the ELBO on the shipped VAE, seeded, and refused where it has no meaning."""

import math

import pytest
import torch

from explorer.core.iwae import importance_weighted_nll
from explorer.core.metrics import evaluate
from explorer.core.models import ModelConfig, build_model

D_SIDE, LATENT, STD = 2, 2, 0.5  # images of 2x2 pixels: x in R^4


def linear_gaussian_vae(posterior_scale: float = 1.5):
    """A VAE of the family whose decoder is linear-Gaussian, p(x|z) = N(Wz + b, s^2 I),
    p(z) = N(0, I), so log p(x) = log N(x; b, W W^T + s^2 I) exactly. Its encoder gives
    the true posterior's mean and its variances times ``posterior_scale`` with no
    covariances (the true posterior is correlated: the weights are not constant)."""
    config = ModelConfig(kind="vae", latent_dim=LATENT, hidden_sizes=(), likelihood="gaussian_identity",
                         decoder_std=STD, image_shape=(1, D_SIDE, D_SIDE))
    model = build_model(config, seed=0).double()
    w = torch.tensor([[1.0, 0.8], [0.5, 1.2], [-0.7, 0.4], [0.9, 0.9]], dtype=torch.float64)
    b = torch.tensor([0.2, 0.5, 0.1, 0.7], dtype=torch.float64)
    post_cov = torch.linalg.inv(torch.eye(LATENT, dtype=torch.float64) + w.T @ w / STD**2)
    gain = post_cov @ w.T / STD**2  # posterior mean = gain (x - b)
    encoder, decoder = model.encoder[1][0], model.decoder[0][0]
    with torch.no_grad():
        decoder.weight.copy_(w)
        decoder.bias.copy_(b)
        encoder.weight.zero_()
        encoder.weight[:LATENT] = gain
        encoder.bias[:LATENT] = -gain @ b
        encoder.bias[LATENT:] = torch.log(posterior_scale * post_cov.diagonal())
    exact = torch.distributions.MultivariateNormal(b, w @ w.T + STD**2 * torch.eye(4, dtype=torch.float64))
    return model, exact


def test_linear_gaussian_estimate_matches_the_exact_log_likelihood():
    model, exact = linear_gaussian_vae()
    x = torch.rand(6, 1, D_SIDE, D_SIDE, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    truth = -exact.log_prob(x.flatten(1))
    estimate = importance_weighted_nll(model, x, k=5000, seed=0)
    assert estimate.shape == (6,) and estimate.dtype == torch.float64
    assert torch.allclose(estimate, truth, atol=0.05), (estimate, truth)
    one_sample = importance_weighted_nll(model, x, k=1, seed=0)  # the ELBO's estimate is far looser
    assert (one_sample - truth).mean() > 0.2


def test_estimate_is_below_the_elbo_on_the_shipped_vae(vae_checkpoint, mnist):
    model = vae_checkpoint.model
    x, y = mnist.test_images[:300], mnist.test_labels[:300]
    neg_elbo = evaluate(model, x, y, seed=0)["test_neg_elbo"]
    estimate = importance_weighted_nll(model, x, y, k=200, seed=0)
    assert estimate.shape == (300,) and torch.isfinite(estimate).all()
    assert float(estimate.mean()) < neg_elbo - 1.0  # about 2.5 nats tighter at this k
    assert float(estimate.mean()) > 0.9 * neg_elbo  # still an upper bound near the ELBO, not nonsense
    repeat = importance_weighted_nll(model, x[:100], y[:100], k=200, seed=0)  # the first batch of 100
    assert torch.equal(repeat, estimate[:100])  # seeded: same draws, same numbers


def test_deterministic_model_and_bad_k_are_refused(mnist):
    ae = build_model(ModelConfig(kind="ae"), seed=0)
    with pytest.raises(ValueError, match="posterior"):
        importance_weighted_nll(ae, mnist.test_images[:2])
    vae = build_model(ModelConfig(), seed=0)
    with pytest.raises(ValueError, match="k must be"):
        importance_weighted_nll(vae, mnist.test_images[:2], k=0)
    cvae = build_model(ModelConfig(kind="cvae"), seed=0)
    with pytest.raises(ValueError, match="labels"):
        importance_weighted_nll(cvae, mnist.test_images[:2])
    assert math.isfinite(float(importance_weighted_nll(cvae, mnist.test_images[:2], mnist.test_labels[:2], k=3).sum()))
