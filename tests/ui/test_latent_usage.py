"""KL per latent dimension and active units (Burda et al. 2015, Section 5.2) on a model
with known collapsed dimensions, the shipped 2-D VAE, a conditional model and the CLI."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from explorer.core.config import ModelConfig
from explorer.core.metrics import METRICS, evaluate, latent_usage, per_dimension_metrics
from explorer.core.models import build_model

from tests.helpers.paths import REPO, VAE_CHECKPOINT


def _collapse(model, dims):
    """Zero the encoder's output rows of mu_d and logvar_d: those dims give mu=0, logvar=0
    (q(z_d|x) = the prior) for every image."""
    last = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Linear)][-1]
    k = model.config.latent_dim
    with torch.no_grad():
        for d in dims:
            for row in (d, k + d):  # encoder output = (mu, logvar), chunked in two
                last.weight[row] = 0.0
                last.bias[row] = 0.0


def test_collapsed_dimensions_have_zero_kl_and_are_inactive(mnist):
    model = build_model(ModelConfig(kind="vae", latent_dim=5, hidden_sizes=(64,)), seed=0).eval()
    last = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        last.weight[:2] *= 20.0  # mu_1, mu_2 spread out over the images: clearly active
    _collapse(model, [2, 3, 4])
    x = mnist.test_images[:1000]

    usage = latent_usage(model, x)
    assert usage.active.tolist() == [True, True, False, False, False]
    assert usage.active_units == 2
    assert usage.kl_per_dimension[2:].tolist() == [0.0, 0.0, 0.0]
    assert usage.mu_variance[2:].tolist() == [0.0, 0.0, 0.0]
    assert (usage.kl_per_dimension[:2] > 0.1).all()

    # against the formula written out independently in NumPy
    with torch.no_grad():
        mu, logvar = (t.double().numpy() for t in model.encode(x))
    kl = -0.5 * (1 + logvar - mu**2 - np.exp(logvar))
    np.testing.assert_allclose(usage.kl_per_dimension.numpy(), kl.mean(axis=0), rtol=1e-9)
    np.testing.assert_allclose(usage.mu_variance.numpy(), mu.var(axis=0), rtol=1e-9)

    metrics = evaluate(model, x)
    assert metrics["test_active_units"] == 2.0
    # the closed-form KL per dimension adds up to the test KL (no noise in either)
    assert float(usage.kl_per_dimension.sum()) == pytest.approx(metrics["test_kl"], rel=1e-5)


def test_the_shipped_2d_vae_uses_both_dimensions(vae_checkpoint, mnist):
    x, y = mnist.test_images[:2000], mnist.test_labels[:2000]
    usage = latent_usage(vae_checkpoint.model, x, y)
    assert usage.active_units == 2
    assert (usage.mu_variance > 0.5).all()  # spread over the prior's scale
    assert (usage.kl_per_dimension > 1.0).all()
    assert float(usage.kl_per_dimension.sum()) == pytest.approx(evaluate(vae_checkpoint.model, x, y)["test_kl"], rel=1e-5)


def test_models_without_a_posterior_or_without_labels_are_refused(mnist):
    x, y = mnist.test_images[:50], mnist.test_labels[:50]
    ae = build_model(ModelConfig(kind="ae", hidden_sizes=(16,)), seed=0)
    with pytest.raises(ValueError, match="posterior"):
        latent_usage(ae, x)
    assert evaluate(ae, x)["test_active_units"] is None
    assert per_dimension_metrics(ae, x) == {}
    cvae = build_model(ModelConfig(kind="cvae", hidden_sizes=(16,)), seed=0)
    with pytest.raises(ValueError, match="labels"):
        latent_usage(cvae, x)
    # conditional on the true label: the labels change the encoding, hence the numbers
    assert not torch.equal(latent_usage(cvae, x, y).kl_per_dimension, latent_usage(cvae, x, (y + 1) % 10).kl_per_dimension)


def test_active_units_is_a_count_kept_off_the_nats_axes():
    m = METRICS["test_active_units"]
    assert m.unit == "count" and m.format(2.0) == "2" and m.format(None) == "n/a"
    assert METRICS["test_kl"].format(5.4321) == "5.43"
    from explorer.ui.figures.charts import training_curves

    history = [{"epoch": 1, "train_loss": 150.0, "test_neg_elbo": 149.0, "test_reconstruction": 143.0,
                "test_kl": 6.0, "test_active_units": 2.0}]
    assert "active" not in " ".join(trace.name for trace in training_curves(history).data)


def test_evaluate_cli_prints_kl_per_dimension_and_active_units():
    # no importance-sampled bound (1,000 decodes per test image by default: minutes on 2 cores)
    out = subprocess.run([sys.executable, "-m", "explorer.cli.evaluate", str(VAE_CHECKPOINT), "--iw-samples", "0"],
                         cwd=REPO, capture_output=True, text=True, check=True)
    metrics = json.loads(out.stdout)
    assert "test_iw_nll" not in metrics
    assert metrics["test_active_units"] == 2
    assert len(metrics["test_kl_per_dimension"]) == 2 and len(metrics["test_mu_variance_per_dimension"]) == 2
    assert sum(metrics["test_kl_per_dimension"]) == pytest.approx(metrics["test_kl"], rel=1e-5)
