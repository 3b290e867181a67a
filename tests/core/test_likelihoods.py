"""The decoder distributions against torch.distributions: -log p, mean and samples."""

import math

import pytest
import torch
from torch.distributions import Bernoulli as TorchBernoulli
from torch.distributions import Normal

from explorer.core.config import ModelConfig
from explorer.core.likelihoods import Bernoulli, Gaussian, likelihood_for
from explorer.core.models import build_model


def _params(seed=0, shape=(3, 1, 28, 28)):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * 2


def test_bernoulli_nll_of_grey_values_is_the_continuous_cross_entropy():
    params = _params()
    x = torch.rand(params.shape, generator=torch.Generator().manual_seed(5))
    expected = -TorchBernoulli(logits=params, validate_args=False).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(Bernoulli().nll(params, x), expected)


def test_bernoulli_mean_and_samples_match_torch():
    params = _params(1, (1, 1, 28, 28))
    lik = Bernoulli()
    torch.testing.assert_close(lik.mean(params), TorchBernoulli(logits=params).mean)
    draws = torch.stack([lik.sample(params, torch.Generator().manual_seed(s)) for s in range(2000)])
    assert set(draws.unique().tolist()) <= {0.0, 1.0}
    p = lik.mean(params)
    # per-pixel frequency within 4 standard errors of p
    se = (p * (1 - p) / len(draws)).sqrt().clamp_min(1e-3)
    assert ((draws.mean(0) - p).abs() <= 4 * se + 1e-3).float().mean() > 0.995


@pytest.mark.parametrize("std", [0.1, 0.5])
def test_gaussian_nll_mean_and_samples_match_normal(std):
    params = _params(2)
    x = torch.rand(params.shape, generator=torch.Generator().manual_seed(6))
    lik = Gaussian(std)
    mean = torch.sigmoid(params)
    torch.testing.assert_close(lik.nll(params, x), -Normal(mean, std).log_prob(x).flatten(1).sum(1))
    torch.testing.assert_close(lik.mean(params), Normal(mean, std).mean)
    draws = torch.stack([lik.sample(params[:1], torch.Generator().manual_seed(s)) for s in range(2000)])
    residual = draws - mean[:1]
    assert residual.mean().abs() < 0.01 * std * 10
    assert residual.std().item() == pytest.approx(std, rel=0.02)
    assert not set(draws.unique().tolist()) <= {0.0, 1.0}  # Gaussian noise, not Bernoulli draws


def test_gaussian_refuses_a_non_positive_std():
    with pytest.raises(ValueError, match="std"):
        Gaussian(0.0)
    with pytest.raises(ValueError, match="std"):
        Gaussian(math.inf)


def test_every_model_uses_the_likelihood_its_config_names():
    assert isinstance(build_model(ModelConfig()).likelihood, Bernoulli)
    model = build_model(ModelConfig(kind="ae", likelihood="gaussian", decoder_std=0.3))
    assert isinstance(model.likelihood, Gaussian) and model.likelihood.std == 0.3
    assert type(likelihood_for(ModelConfig(likelihood="gaussian"))) is Gaussian
