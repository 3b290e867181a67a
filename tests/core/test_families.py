"""The convolutional networks (the Keras replica and the strided pair) and the linear autoencoder
with identity link: shapes, a short run on real MNIST, checkpoint round trips, and old configs
meaning the MLP."""

import math

import pytest
import torch

from explorer.core.checkpoints import load_checkpoint, save_checkpoint
from explorer.core.config import ModelConfig, TrainConfig
from explorer.core.limits import MAX_PARAMETERS
from explorer.core.metrics import evaluate
from explorer.core.models import build_model, num_parameters
from explorer.core.train import train
from tests.helpers.paths import REPO

CONV = dict(architecture="conv", hidden_sizes=(32,))
STRIDED = dict(architecture="strided_conv", hidden_sizes=(256,))
LINEAR = dict(kind="ae", hidden_sizes=(), likelihood="gaussian_identity")


@pytest.mark.parametrize("kind", ["ae", "vae", "cvae"])
def test_conv_shapes_round_trip_28x28_and_size_is_known_before_building(kind, mnist):
    config = ModelConfig(kind=kind, latent_dim=3, **CONV)
    model = build_model(config, seed=0)
    x, y = mnist.test_images[:5], mnist.test_labels[:5]
    out = model(x, y)
    assert out.params.shape == (5, 1, 28, 28) and out.mu.shape == (5, 3)
    assert (out.logvar is None) == (kind == "ae")
    mean = model.decode_mean(torch.zeros(4, 3), y[:4])
    assert mean.shape == (4, 1, 28, 28) and 0 <= mean.min() and mean.max() <= 1  # sigmoid for Bernoulli
    assert num_parameters(config) == sum(p.numel() for p in model.parameters())
    convs = [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    assert [(m.out_channels, m.stride[0]) for m in convs] == [(32, 1), (64, 2), (64, 1), (64, 1), (32, 2), (1, 1)]


@pytest.mark.parametrize("kind", ["ae", "vae", "cvae"])
def test_strided_conv_shapes_and_size_are_known_before_building(kind, mnist):
    config = ModelConfig(kind=kind, latent_dim=3, **STRIDED)
    model = build_model(config, seed=0)
    x, y = mnist.test_images[:5], mnist.test_labels[:5]
    assert model.encoder.features(x).shape == (5, 32 * 7 * 7)  # 28 -> 14 -> 7, 32 channels
    out = model(x, y)
    assert out.params.shape == (5, 1, 28, 28) and out.mu.shape == (5, 3)
    assert (out.logvar is None) == (kind == "ae")
    mean = model.decode_mean(torch.zeros(4, 3), y[:4])
    assert mean.shape == (4, 1, 28, 28) and 0 <= mean.min() and mean.max() <= 1
    assert num_parameters(config) == sum(p.numel() for p in model.parameters())
    convs = [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    assert [(type(m).__name__, m.out_channels, m.kernel_size, m.stride) for m in convs] == [
        ("Conv2d", 16, (4, 4), (2, 2)), ("Conv2d", 32, (4, 4), (2, 2)),
        ("ConvTranspose2d", 16, (4, 4), (2, 2)), ("ConvTranspose2d", 1, (4, 4), (2, 2))]
    # the decoder mirrors the dense widths: z (+ label) -> 256 -> the 32x7x7 feature map
    dense = [m for m in model.decoder.dense.modules() if isinstance(m, torch.nn.Linear)]
    condition = 10 if kind == "cvae" else 0
    assert [(m.in_features, m.out_features) for m in dense] == [(3 + condition, 256), (256, 32 * 7 * 7)]
    assert model.encoder.dense[0].in_features == 32 * 7 * 7 + condition


def test_strided_conv_refuses_sizes_it_cannot_halve_twice():
    with pytest.raises(ValueError, match="divisible by 4"):
        num_parameters(ModelConfig(image_shape=(1, 30, 30), **STRIDED))
    with pytest.raises(ValueError, match="divisible by 4"):
        build_model(ModelConfig(image_shape=(1, 30, 30), **STRIDED))
    assert num_parameters(ModelConfig(**{**STRIDED, "hidden_sizes": (10**6,)})) > MAX_PARAMETERS


def test_conditional_conv_takes_the_label_after_flattening_and_with_z(mnist):
    model = build_model(ModelConfig(kind="cvae", **CONV), seed=0)
    encoder_in = model.encoder.dense[0].in_features
    assert encoder_in == 64 * 14 * 14 + 10 and model.decoder.dense[0].in_features == 2 + 10
    z = torch.zeros(1, 2)
    assert not torch.equal(model.decode_mean(z, torch.tensor([3])), model.decode_mean(z, torch.tensor([7])))


def test_huge_conv_config_is_refused_by_its_computed_size():
    assert num_parameters(ModelConfig(**{**CONV, "hidden_sizes": (10**6,)})) > MAX_PARAMETERS
    with pytest.raises(ValueError, match="even image"):
        num_parameters(ModelConfig(image_shape=(1, 27, 27), **CONV))


def test_config_without_architecture_means_mlp():
    old = ModelConfig().to_dict()
    del old["architecture"]
    assert ModelConfig.from_dict(old).architecture == "mlp"


def test_linear_identity_ae_has_no_activation_and_an_unbounded_mean(mnist):
    model = build_model(ModelConfig(**LINEAR), seed=0)
    layers = list(model.modules())
    assert sum(isinstance(m, torch.nn.Linear) for m in layers) == 2
    assert not any(isinstance(m, (torch.nn.ReLU, torch.nn.Sigmoid)) for m in layers)
    z = torch.tensor([[30.0, -30.0]])
    params = model.decode(z)
    assert torch.equal(model.decode_mean(z), params)  # identity link: the output is the mean
    assert params.min() < 0 or params.max() > 1
    from explorer.core.latent import decode_z

    shown = decode_z(model, z[0].numpy())
    assert shown.min() >= 0 and shown.max() <= 1  # clipped where it is drawn
    x = mnist.test_images[:4]
    nll = model.likelihood.nll(params.expand(4, -1, -1, -1), x)
    s = model.config.decoder_std
    squared = (x - params).pow(2).flatten(1).sum(1)
    torch.testing.assert_close(nll, squared / (2 * s**2) + 784 * (math.log(s) + 0.5 * math.log(2 * math.pi)))


@pytest.mark.parametrize(("overrides", "n", "lr"), [(dict(kind="vae", **CONV), 300, 3e-3),
                                                    (dict(kind="vae", **STRIDED), 300, 3e-3),
                                                    (dict(**LINEAR), 1500, 1e-2)],
                         ids=["conv-vae", "strided-conv-vae", "linear-ae"])
def test_short_run_on_real_mnist_lowers_the_loss(overrides, n, lr, mnist):
    model = build_model(ModelConfig(**overrides), seed=0)
    test_x = mnist.test_images[:100]
    before = evaluate(model, test_x)["test_reconstruction"]
    result = train(model, mnist.train_images[:n], test_x, TrainConfig(epochs=1, batch_size=50, lr=lr, seed=0))
    after = result.history[-1].metrics["test_reconstruction"]
    assert after < before * 0.8, (before, after)


@pytest.mark.parametrize("overrides", [dict(kind="ae", **CONV), dict(kind="vae", **CONV), dict(kind="cvae", **CONV),
                                       dict(kind="vae", **STRIDED), dict(kind="cvae", **STRIDED), dict(**LINEAR)],
                         ids=["conv-ae", "conv-vae", "conv-cvae", "strided-conv-vae", "strided-conv-cvae", "linear-ae"])
def test_checkpoint_round_trip(tmp_path, overrides, mnist):
    config = ModelConfig(**overrides)
    model = build_model(config, seed=1).eval()
    path = save_checkpoint(tmp_path / "m.safetensors", model, train_config=TrainConfig(epochs=1), history=[],
                           metrics={}, dataset={"name": "MNIST", "sha256": {}})
    loaded = load_checkpoint(path)
    assert loaded.verified and loaded.model_config == config
    x, y = mnist.test_images[:3], mnist.test_labels[:3]
    torch.testing.assert_close(loaded.model.encode(x, y)[0], model.encode(x, y)[0])
    torch.testing.assert_close(loaded.model.decode(torch.ones(2, 2), y[:2]), model.decode(torch.ones(2, 2), y[:2]))


def test_cli_trains_conv_and_linear_models(tmp_path):
    from explorer.cli.train import parser

    args = parser().parse_args(["--architecture", "conv", "--out", "x.safetensors"])
    assert args.architecture == "conv" and args.hidden is None  # main() then uses the reference Dense 32
    args = parser().parse_args(["--architecture", "strided_conv", "--out", "x.safetensors"])
    assert args.architecture == "strided_conv" and args.hidden is None  # main(): DEFAULT_HIDDEN_SIZES, 256
    args = parser().parse_args(["--model", "ae", "--hidden", "--likelihood", "gaussian_identity", "--out", "x"])
    assert args.hidden == [] and args.likelihood == "gaussian_identity"


def test_the_shipped_strided_conv_vae_beats_the_shipped_mlp_vae_on_the_test_set(mnist, vae_checkpoint):
    """Issue 22 item 4: a convolutional z = 2 VAE that earns its place. Its -ELBO on the
    10,000 test digits, recomputed here, repeats the stored figure and is lower than the
    shipped MLP's (138.42) recomputed the same way."""
    conv = load_checkpoint(REPO / "checkpoints" / "mnist_strided_conv_vae_z2.safetensors")
    assert conv.verified and conv.model.config.architecture == "strided_conv" and conv.model.config.latent_dim == 2
    conv_elbo = evaluate(conv.model, mnist.test_images)["test_neg_elbo"]
    mlp_elbo = evaluate(vae_checkpoint.model, mnist.test_images)["test_neg_elbo"]
    assert conv_elbo == pytest.approx(conv.metrics["test_neg_elbo"], abs=1e-3)
    assert conv_elbo < mlp_elbo - 2.0, (conv_elbo, mlp_elbo)
