"""A conditional toy model (two classes, digits 0 and 1) through training, checkpoint
save/load and evaluation on a small real MNIST subset; the label y through every
entry point; a linear network; the denoising input corruption."""

import pytest
import torch

from explorer.core.checkpoints import load_checkpoint, save_checkpoint
from explorer.core.config import ModelConfig, TrainConfig
from explorer.core.latent import decode_z, encode_dataset, image_terms
from explorer.core.manifold import decode_manifold, manifold_coordinates, manifold_z
from explorer.core.metrics import evaluate
from explorer.core.models import build_model
from explorer.core.objective import loss_terms
from explorer.core.train import corrupt, train


def _zeros_and_ones(images, labels, n):
    rows = torch.nonzero(labels <= 1).squeeze(1)[:n]
    return images[rows], labels[rows]


def test_a_two_class_conditional_vae_trains_saves_loads_and_evaluates(mnist, tmp_path):
    train_x, train_y = _zeros_and_ones(mnist.train_images, mnist.train_labels, 3000)
    test_x, test_y = _zeros_and_ones(mnist.test_images, mnist.test_labels, 1000)
    config = ModelConfig(kind="cvae", latent_dim=2, hidden_sizes=(128,), num_classes=2)
    model = build_model(config, seed=0)
    assert model.is_variational and model.is_conditional
    before = evaluate(model, test_x, test_y)["test_neg_elbo"]
    result = train(model, train_x, test_x, TrainConfig(epochs=3, batch_size=64, lr=2e-3, seed=0),
                   train_labels=train_y, test_labels=test_y)
    after = evaluate(model, test_x, test_y)
    assert after["test_neg_elbo"] < before - 200 and after["test_neg_elbo"] < 150
    assert result.history[-1].metrics == pytest.approx(after)

    path = save_checkpoint(tmp_path / "cvae.pt", model, train_config=TrainConfig(epochs=3),
                           history=[r.to_dict() for r in result.history], metrics=after, dataset={"name": "toy"})
    loaded = load_checkpoint(path)
    assert loaded.model_config == config and loaded.model.is_conditional
    assert evaluate(loaded.model, test_x, test_y) == pytest.approx(after)
    assert loaded.history[-1]["test_neg_elbo"] == pytest.approx(after["test_neg_elbo"])

    # the label, not z, decides the digit: at the same z, y=0 looks like the 0s, y=1 like the 1s
    mean0, mean1 = (train_x[train_y == k].mean(0) for k in (0, 1))
    z = torch.zeros(1, 2)
    for y, own, other in ((0, mean0, mean1), (1, mean1, mean0)):
        image = decode_z(loaded.model, z, y=y)[0]
        assert (image - own).pow(2).sum() < 0.5 * (image - other).pow(2).sum()
    # y flows through the latent helpers
    enc = encode_dataset(loaded.model, test_x[:50], test_y[:50])
    mu_wrong, _ = loaded.model.encode(test_x[:50], 1 - test_y[:50])
    assert not torch.allclose(torch.from_numpy(enc.mu), mu_wrong)
    grid = decode_manifold(loaded.model, manifold_z(manifold_coordinates(5)), y=1)
    assert grid.shape[-1] == 5 * 30 + 2
    assert image_terms(loaded.model, test_x[0], y=int(test_y[0])).neg_elbo > 0


def test_a_conditional_model_refuses_missing_or_out_of_range_labels(mnist):
    model = build_model(ModelConfig(kind="cvae", hidden_sizes=(16,), num_classes=2))
    x = mnist.test_images[:4]
    with pytest.raises(ValueError, match="labels y"):
        model.encode(x)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.encode(x, torch.tensor([0, 1, 2, 0]))
    with pytest.raises(ValueError, match="labels"):
        evaluate(model, x)
    with pytest.raises(ValueError, match="labels"):
        train(model, x, x, TrainConfig(epochs=1))


def test_unconditional_models_accept_and_ignore_labels(mnist, vae_checkpoint):
    x, y = mnist.test_images[:8], mnist.test_labels[:8]
    model = vae_checkpoint.model
    assert not model.is_conditional
    torch.testing.assert_close(model.encode(x, y)[0], model.encode(x)[0])


def test_an_empty_hidden_list_is_a_linear_network_that_trains(mnist):
    model = build_model(ModelConfig(kind="ae", hidden_sizes=(), likelihood="gaussian"), seed=0)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [tuple(m.weight.shape) for m in linears] == [(2, 784), (784, 2)]
    assert not [m for m in model.modules() if isinstance(m, torch.nn.ReLU)]
    x = mnist.train_images[:2000]
    before = loss_terms(model, x).loss.mean().item()
    train(model, x, mnist.test_images[:500], TrainConfig(epochs=2, lr=1e-2))
    assert loss_terms(model, x).loss.mean().item() < before


def test_masking_noise_zeroes_the_asked_share_of_pixels_and_training_keeps_the_clean_target(mnist):
    x = torch.ones(200, 1, 28, 28)
    noisy = corrupt(x, "masking", 0.5, torch.Generator().manual_seed(0))
    assert (noisy == 0).float().mean().item() == pytest.approx(0.5, abs=0.01)
    gauss = corrupt(mnist.test_images[:100], "gaussian", 0.3, torch.Generator().manual_seed(0))
    assert gauss.min() >= 0 and gauss.max() <= 1 and not torch.equal(gauss, mnist.test_images[:100])
    assert corrupt(x, "none", 0.5) is x
    # a denoising AE trained on masked inputs reconstructs masked test digits better than
    # the same AE trained on clean inputs, against the clean images
    test = mnist.test_images[:1000]
    masked = corrupt(test, "masking", 0.5, torch.Generator().manual_seed(1))
    errors = {}
    for noise in ("none", "masking"):
        model = build_model(ModelConfig(kind="ae", hidden_sizes=(128,)), seed=0)
        train(model, mnist.train_images[:4000], test[:100], TrainConfig(epochs=3, lr=2e-3, input_noise=noise))
        with torch.inference_mode():
            errors[noise] = loss_terms(model, masked, target=test).reconstruction.mean().item()
    assert errors["masking"] < errors["none"]
