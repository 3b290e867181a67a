"""The lesson's claims, measured on the shipped AE and VAE (``lesson_check``), and the
samplers a model without a prior is sampled with."""

import json

import numpy as np
import pytest

from explorer.cli import lesson_check
from explorer.core.lesson_claims import CLAIMS
from explorer.core.sampling import code_box, sample_codes


def test_every_lesson_claim_holds_on_the_shipped_models(capsys):
    assert lesson_check.main([]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["id"] for line in lines] == [c.id for c in CLAIMS]
    for line in lines:
        assert set(line) == {"id", "step", "text", "value", "condition", "holds"} and line["holds"] is True
        assert "{" not in line["text"] and "n/a" not in line["text"]  # every number filled in
    by_id = {line["id"]: line["value"] for line in lines}
    assert by_id["codes_spread"]["a"] > 3 * by_id["codes_spread"]["b"]
    assert by_id["prior_piles_up"]["a"] > by_id["prior_piles_up"]["b"]


def test_fitted_gaussian_and_box_follow_the_codes():
    rng = np.random.default_rng(0)
    mu = rng.multivariate_normal([10.0, -5.0], [[9.0, 3.0], [3.0, 4.0]], size=5000).astype(np.float32)
    fitted = sample_codes("fitted", mu, 20_000, seed=1)
    np.testing.assert_allclose(fitted.mean(0), mu.mean(0), atol=0.1)
    np.testing.assert_allclose(np.cov(fitted.T), np.cov(mu.T), rtol=0.05)
    low, high = code_box(mu)
    box = sample_codes("box", mu, 5000, seed=1)
    assert (box >= low - 1e-5).all() and (box <= high + 1e-5).all() and box[:, 0].std() > 3
    prior = sample_codes("prior", mu, 20_000, seed=1)
    np.testing.assert_allclose(prior.mean(0), 0, atol=0.03)
    np.testing.assert_allclose(prior.std(0), 1, atol=0.03)
    np.testing.assert_array_equal(sample_codes("fitted", mu, 5, seed=3), sample_codes("fitted", mu, 5, seed=3))
    with pytest.raises(ValueError):
        sample_codes("kde", mu, 5)
