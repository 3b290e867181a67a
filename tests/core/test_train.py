"""The trainer on real MNIST: it learns, reports, stops, and survives divergence."""

import pytest
import torch

from explorer.core.models import ModelConfig, build_model
from explorer.core.metrics import evaluate
from explorer.core.train import TrainConfig, TrainingDiverged, train


@pytest.fixture(scope="module")
def small(mnist):
    """3,000 real training images and 1,000 real test images."""
    return mnist.train_images[:3000], mnist.test_images[:1000]


def test_short_run_lowers_test_neg_elbo_and_reports_progress(small):
    train_x, test_x = small
    model = build_model(ModelConfig(hidden_sizes=(256, 128)), seed=0)
    before = evaluate(model, test_x)["test_neg_elbo"]
    batches, epochs = [], []
    result = train(model, train_x, test_x, TrainConfig(epochs=3, batch_size=100, seed=0),
                   on_batch=batches.append, on_epoch=epochs.append)
    assert not result.stopped and len(result.history) == 3 and epochs == result.history
    assert len(batches) == 3 * 30 and batches[-1].batch == batches[-1].num_batches == 30
    after = result.history[-1].metrics["test_neg_elbo"]
    assert after < before - 100  # an untrained decoder sits near 543 nats; 3 epochs reach < 250
    assert after == pytest.approx(evaluate(model, test_x)["test_neg_elbo"])
    assert [r.epoch for r in result.history] == [1, 2, 3]
    assert result.history[0].seconds < result.history[-1].seconds


def test_same_seed_same_weights(small):
    train_x, test_x = small
    runs = []
    for _ in range(2):
        model = build_model(ModelConfig(hidden_sizes=(64,)), seed=1)
        train(model, train_x[:500], test_x[:100], TrainConfig(epochs=1, batch_size=50, seed=1))
        runs.append(model.state_dict())
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])


def test_cancel_hook_stops_cleanly(small):
    train_x, test_x = small
    model = build_model(ModelConfig(hidden_sizes=(64,)), seed=0)
    batches = []
    result = train(model, train_x, test_x, TrainConfig(epochs=5, batch_size=100),
                   on_batch=batches.append, should_stop=lambda: len(batches) >= 40)
    assert result.stopped
    assert len(batches) == 40 and len(result.history) == 1  # stopped inside epoch 2
    assert not model.training
    assert evaluate(model, test_x)["test_neg_elbo"] < 400  # usable as it is


def test_divergence_stops_with_a_clear_error_and_keeps_good_weights(small):
    train_x, test_x = small
    model = build_model(ModelConfig(hidden_sizes=(64,)), seed=0)
    bad = train_x.clone()
    bad[1500:] = float("nan")  # the second half of epoch 1 (in order) breaks the loss
    config = TrainConfig(epochs=1, batch_size=3000, seed=0)
    # one epoch over clean data, then the poisoned data
    train(model, train_x, test_x, config)
    good = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(TrainingDiverged, match="diverged.*loss became nan.*epoch 1") as info:
        train(model, bad, test_x, config)
    assert info.value.history == []
    assert all(torch.equal(good[k], v) for k, v in model.state_dict().items())


def test_huge_learning_rate_diverges(small):
    train_x, test_x = small
    model = build_model(ModelConfig(hidden_sizes=(64,)), seed=0)
    with pytest.raises(TrainingDiverged, match="Try a smaller learning rate") as info:
        train(model, train_x, test_x, TrainConfig(epochs=3, lr=1e4, batch_size=100))
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize("bad", [{"epochs": 0}, {"batch_size": 0}, {"lr": 0.0}, {"lr": float("inf")},
                                 {"lr_schedule": "step"}, {"subset": 0}])
def test_invalid_settings_are_refused(bad):
    with pytest.raises(ValueError):
        TrainConfig(**bad)
