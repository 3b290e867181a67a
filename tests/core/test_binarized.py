"""The binarized evaluation protocol against a hand computation on a tiny model."""

from __future__ import annotations

import math

import pytest
import torch

from explorer.core.binarized import binarize, evaluate_binarized
from explorer.core.config import ModelConfig
from explorer.core.models import build_model


def _tiny_vae(bias: list[float]):
    """A 2x2-pixel VAE whose encoder gives q(z|x) = N(0, 1) = p(z) and whose decoder
    ignores z and outputs the logits ``bias``: -ELBO = -log p(x) = sum_p softplus(b_p) - x_p b_p."""
    model = build_model(ModelConfig(kind="vae", latent_dim=1, hidden_sizes=(), image_shape=(1, 2, 2)), seed=0)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.decoder[0][0].bias.copy_(torch.tensor(bias))
    return model


def test_binarized_mean_and_spread_match_a_hand_computation():
    bias = [-1.0, 0.5, 2.0, 0.0]
    model = _tiny_vae(bias)
    grey = torch.tensor([[0.1, 0.9, 0.5, 0.3], [1.0, 0.0, 0.7, 0.2], [0.4, 0.4, 0.6, 0.8]]).reshape(3, 1, 2, 2)
    draws, seed = 4, 7
    scores = evaluate_binarized(model, grey, draws=draws, seed=seed, k=10)

    generator = torch.Generator().manual_seed(seed)  # the documented seeding: one generator, draws in order
    per_draw = []
    for _ in range(draws):
        binary = torch.bernoulli(grey, generator=generator).flatten(1).tolist()
        per_image = [sum(math.log1p(math.exp(b)) - x * b for x, b in zip(row, bias)) for row in binary]
        per_draw.append(sum(per_image) / len(per_image))
    mean = sum(per_draw) / draws
    std = math.sqrt(sum((v - mean) ** 2 for v in per_draw) / (draws - 1))

    out = scores.to_dict()
    assert out["binarized_test_neg_elbo_per_draw"] == pytest.approx(per_draw, abs=1e-5)
    assert out["binarized_test_neg_elbo"] == pytest.approx(mean, abs=1e-5)
    assert out["binarized_test_neg_elbo_std"] == pytest.approx(std, abs=1e-5)
    assert std > 0  # the draws differ: the spread is real
    # q(z|x) = p(z) and p(x|z) = p(x): every importance weight is p(x), so -L_k = -log p(x) exactly
    assert out["binarized_test_iw_nll"] == pytest.approx(mean, abs=1e-5)
    assert out["binarized_iw_samples"] == 10 and out["binarized_draws"] == draws


def test_binarization_is_bernoulli_of_the_grey_level():
    grey = torch.full((2000, 1, 2, 2), 0.3)
    binary = binarize(grey, torch.Generator().manual_seed(0))
    assert set(binary.unique().tolist()) <= {0.0, 1.0}
    assert float(binary.mean()) == pytest.approx(0.3, abs=0.01)


def test_binarized_protocol_refuses_a_deterministic_model():
    ae = build_model(ModelConfig(kind="ae", hidden_sizes=(8,)), seed=0)
    with pytest.raises(ValueError, match="variational"):
        evaluate_binarized(ae, torch.rand(2, 1, 28, 28))
