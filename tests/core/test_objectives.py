"""The two objectives from the literature: the continuous Bernoulli likelihood against
torch.distributions, and the importance-weighted bound (k = 1 is the ELBO)."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import ContinuousBernoulli as TorchCB

from explorer.core.config import ModelConfig, TrainConfig
from explorer.core.likelihoods import ContinuousBernoulli, likelihood_for
from explorer.core.models import build_model
from explorer.core.objective import iw_loss_terms, loss_terms
from explorer.core.train import train


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_continuous_bernoulli_log_density_matches_torch():
    # logits across the range, including the unstable region around 0 (lambda near 1/2)
    logits = torch.cat([torch.randn(3 * 784, generator=_gen(0)) * 4,
                        torch.linspace(-0.2, 0.2, 784), torch.tensor([0.0, 1e-6, -1e-4, 30.0, -30.0] * 4 + [0.0] * 764)])
    params = logits.reshape(-1, 1, 28, 28).double()
    x = torch.rand(params.shape, generator=_gen(1), dtype=torch.float64)
    x[0, 0, 0, :5] = torch.tensor([0.0, 1.0, 0.5, 1e-6, 1 - 1e-6], dtype=torch.float64)
    expected = -TorchCB(logits=params, validate_args=False).log_prob(x).flatten(1).sum(1)
    got = ContinuousBernoulli().nll(params, x)
    torch.testing.assert_close(got, expected, rtol=0, atol=2e-3)  # torch's own Taylor cut is coarser
    # per pixel, away from lambda = 1/2 (where both use a series) and from torch's clamping at 0 and 1
    per_pixel = ContinuousBernoulli().nll(params.reshape(-1, 1, 1, 1), x.reshape(-1, 1, 1, 1))
    ref = -TorchCB(logits=params.reshape(-1, 1, 1, 1), validate_args=False).log_prob(x.reshape(-1, 1, 1, 1)).flatten()
    away = (params.flatten().abs() > 0.01) & (params.flatten().abs() < 20)  # torch clamps its probs near 0, 1
    torch.testing.assert_close(per_pixel[away], ref[away], rtol=1e-6, atol=1e-6)


def test_continuous_bernoulli_is_a_density_with_finite_gradients_at_one_half():
    logits = torch.tensor([-8.0, -1.0, -0.05, 0.0, 0.07, 2.0, 9.0], requires_grad=True)
    grid = torch.linspace(0, 1, 20001)
    nll = ContinuousBernoulli().nll(logits.reshape(-1, 1, 1, 1, 1).expand(-1, len(grid), 1, 1, 1).reshape(-1, 1, 1, 1),
                                    grid.repeat(len(logits)).reshape(-1, 1, 1, 1)).reshape(len(logits), -1)
    integral = torch.trapezoid(torch.exp(-nll), grid, dim=1)
    torch.testing.assert_close(integral, torch.ones(len(logits)), rtol=0, atol=1e-4)
    nll.sum().backward()
    assert torch.isfinite(logits.grad).all()
    assert float(ContinuousBernoulli().nll(torch.zeros(1, 1, 28, 28), torch.rand(1, 1, 28, 28))) == pytest.approx(0, abs=1e-4)


def test_continuous_bernoulli_mean_and_samples():
    params = torch.randn(1, 1, 28, 28, generator=_gen(2)) * 3
    lik = ContinuousBernoulli()
    torch.testing.assert_close(lik.mean(params), TorchCB(logits=params).mean)
    draws = torch.stack([lik.sample(params, _gen(s)) for s in range(400)])
    assert float(draws.min()) >= 0 and float(draws.max()) <= 1
    assert float((draws.mean(0) - lik.mean(params)).abs().mean()) < 0.02  # sample mean ~ the CB mean


@pytest.mark.parametrize("name", ["bernoulli", "gaussian", "gaussian_identity", "continuous_bernoulli"])
def test_nll_over_samples_equals_nll_of_the_copied_images(name):
    lik = likelihood_for(ModelConfig(likelihood=name))
    params = torch.randn(5, 3, 1, 28, 28, generator=_gen(3)) * 2
    x = torch.rand(3, 1, 28, 28, generator=_gen(4))
    copied = lik.nll(params.reshape(15, 1, 28, 28), x.repeat(5, 1, 1, 1)).reshape(5, 3)
    torch.testing.assert_close(lik.nll_samples(params, x), copied, rtol=1e-5, atol=1e-3)


def test_iw_bound_at_k1_is_the_elbo(vae_checkpoint, mnist):
    model = vae_checkpoint.model.eval()
    x = mnist.test_images[:200]
    with torch.no_grad():
        one = iw_loss_terms(model, x, k=1, generator=_gen(9))
        elbo = loss_terms(model, x, generator=_gen(9))
        # the same draw of z: the same reconstruction term, and -L_1 = rec + log q(z|x) - log p(z)
        torch.testing.assert_close(one.reconstruction, elbo.reconstruction)
        torch.testing.assert_close(one.kl, elbo.kl)
        # E[log q - log p] over z ~ q is the closed-form KL: average 400 draws per image
        gap = torch.stack([(lambda t: t.loss - t.reconstruction)(iw_loss_terms(model, x, k=1, generator=_gen(s)))
                           for s in range(400)])
        se = gap.std(0) / 20
        assert (((gap.mean(0) - elbo.kl).abs() <= 4 * se + 1e-3).float().mean()) >= 0.99
        assert float(gap.mean()) == pytest.approx(float(elbo.kl.mean()), abs=4 * float(gap.mean(1).std()) + 0.02)
        # more samples give a tighter bound (Burda et al. 2015, Theorem 1)
        five = torch.stack([iw_loss_terms(model, x, k=5, generator=_gen(s)).loss for s in range(20)]).mean()
        ones = torch.stack([iw_loss_terms(model, x, k=1, generator=_gen(s)).loss for s in range(20)]).mean()
        assert float(five) < float(ones) - 0.5


def test_training_on_the_iw_bound_and_on_binary_draws_lowers_the_loss(mnist):
    model = build_model(ModelConfig(hidden_sizes=(64,)), seed=0)
    x, test = mnist.train_images[:512], mnist.test_images[:200]
    result = train(model, x, test, TrainConfig(epochs=2, batch_size=64, lr=1e-3, iw_samples=4, binarize="dynamic"))
    assert result.history[-1].train_loss < result.history[0].train_loss
    ae = build_model(ModelConfig(kind="ae", hidden_sizes=(8,)), seed=0)
    with pytest.raises(ValueError, match="importance-weighted"):
        train(ae, x, test, TrainConfig(epochs=1, iw_samples=2))
    with pytest.raises(ValueError, match="iw_samples"):
        TrainConfig(iw_samples=0)
