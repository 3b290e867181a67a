"""The -ELBO terms against references: torch.distributions and a hand computation."""

import math

import pytest
import torch
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence as torch_kl

from explorer.core.models import ModelConfig, build_model
from explorer.core.likelihoods import likelihood_for
from explorer.core.metrics import evaluate
from explorer.core.objective import kl_divergence, loss_terms


def test_closed_form_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(64, 5, generator=g) * 2
    logvar = torch.randn(64, 5, generator=g) * 1.5
    q = Independent(Normal(mu, torch.exp(0.5 * logvar)), 1)
    p = Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    torch.testing.assert_close(kl_divergence(mu, logvar), torch_kl(q, p), rtol=1e-5, atol=1e-5)


def test_kl_is_zero_exactly_at_the_prior():
    assert kl_divergence(torch.zeros(3, 2), torch.zeros(3, 2)).abs().max() == 0


def test_bernoulli_reconstruction_matches_log_prob_on_binary_pixels():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(4, 1, 28, 28, generator=g) * 3
    x = (torch.rand(4, 1, 28, 28, generator=g) > 0.5).float()
    expected = -Bernoulli(logits=logits).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(likelihood_for(ModelConfig()).nll(logits, x), expected)


def test_gaussian_reconstruction_matches_normal_log_prob():
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(4, 1, 28, 28, generator=g)
    x = torch.rand(4, 1, 28, 28, generator=g)
    config = ModelConfig(likelihood="gaussian", decoder_std=0.2)
    expected = -Normal(torch.sigmoid(logits), 0.2).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(likelihood_for(config).nll(logits, x), expected)


def test_neg_elbo_of_a_hand_made_case():
    """A 1-pixel, 1-D-latent VAE whose weights are set by hand.

    Encoder: mu = 0.5, logvar = 0 for any x (weights 0, biases 0.5 and 0).
    Decoder: logit = 2 * z (no hidden layer effect: weights chosen below).
    With eps fixed by the generator, z = 0.5 + eps; for x = 1,
    reconstruction = log(1 + exp(-2 z)), KL = 0.5 * (0.5^2) = 0.125.
    """
    config = ModelConfig(latent_dim=1, hidden_sizes=(1,), image_shape=(1, 1, 1))
    model = build_model(config)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        enc_out = model.encoder[1][-1]  # last Linear of the encoder: (mu, logvar)
        enc_out.bias.copy_(torch.tensor([0.5, 0.0]))
        dec_in, dec_out = model.decoder[0][0], model.decoder[0][-1]
        dec_in.weight.fill_(1.0)  # hidden = relu(z)
        dec_out.weight.fill_(2.0)  # logit = 2 * relu(z)
    x = torch.ones(1, 1, 1, 1)
    eps = torch.randn(1, 1, generator=torch.Generator().manual_seed(3)).item()
    z = 0.5 + eps
    terms = loss_terms(model, x, generator=torch.Generator().manual_seed(3))
    logit = 2 * max(z, 0.0)
    assert terms.reconstruction.item() == pytest.approx(math.log1p(math.exp(-logit)), rel=1e-6)
    assert terms.kl.item() == pytest.approx(0.125, rel=1e-6)
    assert terms.loss.item() == pytest.approx(math.log1p(math.exp(-logit)) + 0.125, rel=1e-6)


def test_beta_weights_only_the_kl_in_the_loss():
    x = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(4))
    model = build_model(ModelConfig(beta=4.0), seed=0)
    terms = loss_terms(model, x, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(terms.loss, terms.reconstruction + 4.0 * terms.kl)


def test_ae_has_no_kl_and_no_elbo(mnist):
    model = build_model(ModelConfig(kind="ae"), seed=0)
    metrics = evaluate(model, mnist.test_images[:500])
    assert metrics["test_kl"] == 0.0 and metrics["test_neg_elbo"] is None
    assert metrics["test_reconstruction"] > 0


def test_evaluate_repeats_and_adds_up(mnist):
    model = build_model(ModelConfig(), seed=0)
    a = evaluate(model, mnist.test_images[:500])
    b = evaluate(model, mnist.test_images[:500])
    assert a == b
    assert a["test_neg_elbo"] == pytest.approx(a["test_reconstruction"] + a["test_kl"])
