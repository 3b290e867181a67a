"""An AE and a VAE trained side by side on real MNIST: the same initial weights, the
same batches, both losses fall, reports carry both models' codes, Stop ends at once."""

import numpy as np
import pytest
import torch

from explorer.core.config import ModelConfig, TrainConfig
from explorer.core.metrics import evaluate
from explorer.core.models import build_model
from explorer.core.twins import build_twins, copy_shared_weights, shared_weights_equal, train_twins

CONFIG = ModelConfig(hidden_sizes=(128, 64))


def test_the_twins_start_with_identical_shared_weights_and_their_own_logvar_head():
    ae, vae = build_twins(CONFIG, seed=3)
    assert not ae.is_variational and vae.is_variational
    assert shared_weights_equal(ae, vae)
    x = torch.rand(5, 1, 28, 28)
    mu_ae, _ = ae.encode(x)
    mu_vae, logvar = vae.encode(x)
    # the AE's code layer is the VAE's mu head (equal up to the float rounding of a wider matmul)
    torch.testing.assert_close(mu_ae, mu_vae, rtol=1e-5, atol=1e-6)
    z = torch.randn(4, 2)
    assert torch.equal(ae.decode(z), vae.decode(z))  # the whole decoder is shared
    # the logvar head is the VAE's own initialisation, not a copy of the mu head
    code_layer = vae.encoder[1][-1].weight
    assert not torch.equal(code_layer[:2], code_layer[2:])
    # another seed gives other weights (the copy is not of a constant)
    assert not shared_weights_equal(build_twins(CONFIG, seed=4)[0], vae)


def test_copying_refuses_models_with_other_networks():
    ae = build_model(ModelConfig(kind="ae", hidden_sizes=(64,)), seed=0)
    vae = build_model(ModelConfig(kind="vae", hidden_sizes=(32,)), seed=0)
    with pytest.raises(ValueError, match="do not share their networks"):
        copy_shared_weights(ae, vae)


def test_both_losses_fall_on_the_same_batches_with_reports_of_both_maps(mnist):
    ae, vae = build_twins(CONFIG, seed=0)
    test_x = mnist.test_images[:500]
    before = [evaluate(m, test_x)["test_reconstruction"] for m in (ae, vae)]
    reports = []
    config = TrainConfig(epochs=2, batch_size=100, lr=2e-3, seed=0, subset=3000)
    result = train_twins((ae, vae), mnist.train_images, config, report_images=test_x[:200], report_every=20,
                         on_report=reports.append)
    assert not result.stopped and result.steps == 60
    # a report before the first step, every 20 steps, and at the end
    assert [r.step for r in reports] == [0, 20, 40, 60] and reports[0].losses is None
    assert all(len(r.codes) == 2 and r.codes[0].shape == (200, 2) for r in reports)
    np.testing.assert_allclose(reports[0].codes[0], reports[0].codes[1], atol=1e-5)  # same weights: same first map
    assert np.abs(reports[-1].codes[0] - reports[-1].codes[1]).mean() > 0.1  # then the objectives part them
    for i in range(2):
        first, last = result.losses[0][1 + i], result.losses[-1][1 + i]
        assert last < first - 50, (i, result.losses)  # nats per image, training loss
        epochs = result.histories[i]
        assert [r["epoch"] for r in epochs] == [1, 2] and epochs[1]["train_loss"] < epochs[0]["train_loss"]
    after = [evaluate(m, test_x)["test_reconstruction"] for m in (ae, vae)]
    assert after[0] < before[0] - 100 and after[1] < before[1] - 100  # and on unseen test digits


def test_stop_ends_training_at_once_and_keeps_the_weights(mnist):
    ae, vae = build_twins(CONFIG, seed=0)
    steps = []
    result = train_twins((ae, vae), mnist.train_images[:2000], TrainConfig(epochs=5, batch_size=100, seed=0),
                         report_every=1, on_report=lambda r: steps.append(r.step),
                         should_stop=lambda: len(steps) > 5)
    assert result.stopped and result.steps == 5 and result.histories == [[], []]
    assert not ae.training and not vae.training
