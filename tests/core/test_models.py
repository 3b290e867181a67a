"""Model shapes, determinism of the AE, and the VAE's reparameterization."""

import pytest
import torch

from explorer.core.models import AE, VAE, ModelConfig, build_model


@pytest.mark.parametrize("kind", ["vae", "ae"])
@pytest.mark.parametrize("latent_dim", [2, 5])
def test_shapes(kind, latent_dim, mnist):
    model = build_model(ModelConfig(kind=kind, latent_dim=latent_dim), seed=0)
    x = mnist.test_images[:16]
    out = model(x)
    assert out.params.shape == (16, 1, 28, 28)
    assert out.mu.shape == out.z.shape == (16, latent_dim)
    assert (out.logvar is None) == (kind == "ae")
    mean = model.decode_mean(torch.zeros(3, latent_dim))
    assert mean.shape == (3, 1, 28, 28) and mean.min() >= 0 and mean.max() <= 1


def test_build_model_picks_the_class_and_seed_repeats():
    assert isinstance(build_model(ModelConfig(kind="ae")), AE)
    assert isinstance(build_model(ModelConfig(kind="vae")), VAE)
    a, b = build_model(ModelConfig(), seed=7), build_model(ModelConfig(), seed=7)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_ae_is_deterministic(mnist):
    model = build_model(ModelConfig(kind="ae"), seed=0)
    x = mnist.test_images[:8]
    first, second = model(x), model(x)
    assert torch.equal(first.params, second.params)
    assert torch.equal(first.z, first.mu)


def test_vae_samples_by_reparameterization(mnist):
    model = build_model(ModelConfig(), seed=0)
    x = mnist.test_images[:8]
    out = model(x, generator=torch.Generator().manual_seed(5))
    eps = torch.randn(out.mu.shape, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(out.z, out.mu + torch.exp(0.5 * out.logvar) * eps)
    # two draws differ, and gradients reach mu and logvar through z
    assert not torch.equal(model(x).z, model(x).z)
    mu = torch.zeros(4, 2, requires_grad=True)
    logvar = torch.zeros(4, 2, requires_grad=True)
    VAE.reparameterize(mu, logvar).sum().backward()
    assert mu.grad is not None and logvar.grad is not None and logvar.grad.abs().sum() > 0


def test_wrong_shapes_are_refused():
    model = build_model(ModelConfig())
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        model.encode(torch.zeros(2, 784))
    with pytest.raises(ValueError, match=r"\(B, 2\)"):
        model.decode(torch.zeros(2, 3))


@pytest.mark.parametrize(
    "bad",
    [{"kind": "gan"}, {"latent_dim": 0}, {"hidden_sizes": (512, 0)}, {"likelihood": "poisson"},
     {"beta": -1.0}, {"beta": float("nan")}, {"decoder_std": 0.0}],
)
def test_invalid_configs_are_refused(bad):
    with pytest.raises(ValueError):
        ModelConfig(**bad)


def test_config_round_trips_through_a_plain_dict():
    config = ModelConfig(kind="ae", latent_dim=3, hidden_sizes=(64, 32), beta=2.0)
    assert ModelConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown"):
        ModelConfig.from_dict({**config.to_dict(), "dropout": 0.5})


def test_project_2d_keeps_2d_and_finds_principal_axes():
    import numpy as np

    from explorer.core.latent import project_2d

    mu2 = np.random.default_rng(0).normal(size=(100, 2)).astype(np.float32)
    xy, names = project_2d(mu2)
    assert names == ("z1", "z2") and np.array_equal(xy, mu2)
    # 5-D data that varies along one known direction: PC1 recovers it (up to sign)
    rng = np.random.default_rng(1)
    direction = np.array([1, 2, 0, 0, 2]) / 3.0
    mu5 = rng.normal(size=(500, 1)) * 10 * direction + rng.normal(size=(500, 5)) * 0.1
    xy, names = project_2d(mu5)
    assert names == ("PC1 of mu", "PC2 of mu") and xy.shape == (500, 2)
    assert abs(np.corrcoef(xy[:, 0], mu5 @ direction)[0, 1]) > 0.99
    assert xy[:, 0].var() > 100 * xy[:, 1].var()
