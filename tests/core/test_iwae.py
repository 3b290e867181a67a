"""The importance-weighted bound (Burda et al. 2015, Eq. 8): exact on a linear-Gaussian
model, below the ELBO on the shipped VAE, seeded, and refused where it has no meaning."""

import math
from pathlib import Path

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


def _reference_nll(model, images, labels, k, seed=0, batch_size=100, max_rows=5_000):
    """The estimate computed the plain way, as before issue 22's speed-ups: the same draws
    (chunks of max_rows // batch_size codes of every image), every code decoded through
    the whole network, the images copied once per code, the likelihood's own nll."""
    generator = torch.Generator().manual_seed(seed)
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            x, y = images[start : start + batch_size], labels[start : start + batch_size]
            mu, logvar = model.encode(x, y)
            b, dim = mu.shape
            chunk = max(1, min(k, max_rows // b))
            log_w = []
            for done in range(0, k, chunk):
                s = min(chunk, k - done)
                eps = torch.randn((s, b, dim), generator=generator)
                z = mu + torch.exp(0.5 * logvar) * eps
                params = model.decode(z.reshape(s * b, dim), y.repeat(s))
                log_px_z = -model.likelihood.nll(params, x.repeat(s, 1, 1, 1)).reshape(s, b)
                log_pz = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
                log_qz = torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).log_prob(z).sum(-1)
                log_w.append((log_px_z + log_pz - log_qz).double())
            out.append(math.log(k) - torch.logsumexp(torch.cat(log_w), dim=0))
    return torch.cat(out)


@pytest.mark.parametrize("path", ["mnist_vae_z2.safetensors", "mnist_cvae_z2.safetensors", "mnist_conv_vae_z2.safetensors"])
def test_fast_estimate_equals_the_plain_computation(path, mnist):
    """The evaluation decodes each image's codes through the live units only and sums the
    softplus with one log per 112 pixels: the same numbers as the plain computation."""
    from explorer.core.checkpoints import load_checkpoint

    model = load_checkpoint(Path(__file__).resolve().parents[2] / "checkpoints" / path).model.eval()
    x, y = mnist.test_images[:6], mnist.test_labels[:6]
    # several images per block; one image over 2 blocks (a conv decoder takes the plain path: its blocks only)
    runs = ((7, 4),) if "conv" in path else ((1, 100), (7, 4), (1200, 4))
    for k, batch_size in runs:
        fast = importance_weighted_nll(model, x, y, k=k, seed=3, batch_size=batch_size)
        plain = _reference_nll(model, x, y, k=k, seed=3, batch_size=batch_size)
        torch.testing.assert_close(fast, plain, rtol=2e-6, atol=1e-4)


def test_live_unit_decoder_equals_the_whole_decoder(vae_checkpoint, mnist):
    decoder = vae_checkpoint.model.decoder
    mu, _ = vae_checkpoint.model.encode(mnist.test_images[:1])
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for z in (mu + 0.04 * torch.randn(500, 2, generator=gen),  # one image's samples: most units dead
                  3 * torch.randn(500, 2, generator=gen),  # spread over the prior: nearly all live
                  torch.full((3, 2), 40.0)):  # far out: a few units carry everything
            torch.testing.assert_close(decoder.forward_live(z), decoder(z), rtol=1e-5, atol=1e-4)
    cvae = build_model(ModelConfig(kind="cvae", hidden_sizes=(64, 32, 16)), seed=1)
    z, c = torch.randn(50, 2, generator=gen), torch.nn.functional.one_hot(torch.arange(50) % 10, 10).float()
    with torch.no_grad():
        torch.testing.assert_close(cvae.decoder.forward_live(z, c), cvae.decoder(z, c))


@pytest.mark.parametrize("pixels", [1, 112, 784, 1000])
def test_softplus_sum_equals_the_sum_of_softplus(pixels):
    from explorer.core.likelihoods import softplus_sum

    gen = torch.Generator().manual_seed(pixels)
    logits = torch.randn(20, 3, pixels, generator=gen) * torch.tensor([1.0, 10.0, 80.0]).view(1, 3, 1)
    logits[0, 0, 0] = 0.0
    expected = torch.nn.functional.softplus(logits.double()).sum(-1)
    torch.testing.assert_close(softplus_sum(logits).double(), expected, rtol=1e-6, atol=1e-4)
