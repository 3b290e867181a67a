"""Contractive autoencoders (Rifai et al. 2011): the exact Jacobian penalty against finite
differences, the stochastic penalty against its closed form on a linear encoder, and the
CAE / SCAE through the one trainer and the command line on real MNIST."""

import math

import pytest
import torch

from explorer.core.checkpoints import load_checkpoint
from explorer.core.contractive import jacobian_frobenius_sq, stochastic_contraction
from explorer.core.models import CAE, SCAE, ModelConfig, build_model
from explorer.core.objective import loss_terms
from explorer.core.train import TrainConfig, train


def _finite_difference_jacobian(encode, x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """(D, P) Jacobian of one image's code by central differences, P = pixels."""
    pixels = x.numel()
    steps = torch.eye(pixels, dtype=x.dtype).view(pixels, *x.shape) * eps
    with torch.no_grad():
        return ((encode(x + steps) - encode(x - steps)) / (2 * eps)).T


@pytest.mark.parametrize("hidden", [(32, 16), ()])
def test_jacobian_penalty_equals_finite_differences(mnist, hidden):
    model = build_model(ModelConfig(kind="cae", hidden_sizes=hidden, latent_dim=3), seed=0).double()
    encode = lambda v: model.encode(v)[0]  # noqa: E731
    x = mnist.test_images[:3].double()
    exact = jacobian_frobenius_sq(encode, x)
    for i in range(3):
        j = _finite_difference_jacobian(encode, x[i])
        assert j.shape == (3, 784)
        assert exact[i].item() == pytest.approx(j.pow(2).sum().item(), rel=1e-6)
    if not hidden:  # an affine encoder's Jacobian is its weight matrix, for every image
        w = model.encoder[1][0].weight
        assert torch.allclose(exact, w.pow(2).sum().expand(3), rtol=1e-10)


def test_stochastic_penalty_matches_its_closed_form_on_a_linear_encoder(mnist):
    # h(x) = W x + b: h(x) - h(x + sigma eps) = -sigma W eps, E ||.||^2 = sigma^2 ||W||_F^2.
    model = build_model(ModelConfig(kind="scae", hidden_sizes=(), latent_dim=2), seed=0).double()
    encode = lambda v: model.encode(v)[0]  # noqa: E731
    sigma, samples = 0.3, 4000
    x = mnist.test_images[:4].double()
    with torch.no_grad():
        estimate = stochastic_contraction(encode, x, sigma, samples=samples, generator=torch.Generator().manual_seed(0))
    expected = sigma**2 * model.encoder[1][0].weight.pow(2).sum().item()
    # ||sigma W eps||^2 is a weighted sum of 2 chi-square(1) variables: sd <= sqrt(2) * mean
    tolerance = 4 * math.sqrt(2) * expected / math.sqrt(samples)
    for value in estimate.tolist():
        assert abs(value - expected) < tolerance


def test_stochastic_penalty_over_sigma_squared_tends_to_the_jacobian_penalty(mnist):
    model = build_model(ModelConfig(kind="scae", hidden_sizes=(64,), latent_dim=2), seed=0).double()
    encode = lambda v: model.encode(v)[0]  # noqa: E731
    x = mnist.test_images[:2].double()
    exact = jacobian_frobenius_sq(encode, x)
    with torch.no_grad():
        ratio = stochastic_contraction(encode, x, 1e-4, samples=4000, generator=torch.Generator().manual_seed(1)) / 1e-8
    assert torch.allclose(ratio, exact, rtol=0.1)


def test_penalty_is_in_the_training_loss_only_and_has_gradients(mnist):
    x = mnist.test_images[:16]
    for kind in ("cae", "scae"):
        model = build_model(ModelConfig(kind=kind, hidden_sizes=(32,), contraction=0.5), seed=0)
        model.train()
        terms = loss_terms(model, x, generator=torch.Generator().manual_seed(0))
        gap = terms.loss - terms.reconstruction
        assert (gap > 0).all()
        if kind == "cae":
            expected = 0.5 * jacobian_frobenius_sq(lambda v: model.encode(v)[0], x)
            assert torch.allclose(gap, expected, atol=2e-4)  # gap of two float32 sums near 540
        gap.sum().backward()
        assert model.encoder[1][0].weight.grad.abs().sum() > 0
        model.eval()
        terms = loss_terms(model, x)
        assert torch.equal(terms.loss, terms.reconstruction)


def test_trainer_lowers_the_penalised_jacobian_against_the_plain_ae(mnist):
    """Same seed, same batches; only the penalty differs. (The ratio of ||J||_F to the
    codes' spread falls less: part of the penalty is paid by shrinking the code, which an
    untied decoder undoes; the Contractive AE page shows both.)"""
    train_x, test_x = mnist.train_images[:1000], mnist.test_images[:200]
    squared = {}
    # for small sigma the SCAE's penalty is about lambda * sigma^2 * ||J||_F^2 (here 300 * 0.09 = 27)
    for kind, lam in (("ae", 0.0), ("cae", 100.0), ("scae", 300.0)):
        model = build_model(ModelConfig(kind=kind, hidden_sizes=(64,), contraction=lam, contraction_noise=0.3), seed=0)
        result = train(model, train_x, test_x, TrainConfig(epochs=1, batch_size=50, lr=2e-3, seed=0))
        assert result.history[-1].metrics["test_reconstruction"] < 450  # it still learns (543 untrained)
        squared[kind] = jacobian_frobenius_sq(lambda v: model.encode(v)[0], test_x[:100]).mean().item()
    assert squared["cae"] < 0.5 * squared["ae"]
    assert squared["scae"] < 0.5 * squared["ae"]


def test_config_refuses_bad_lambda_and_old_files_take_defaults():
    with pytest.raises(ValueError, match="contraction"):
        ModelConfig(kind="cae", contraction=-1)
    with pytest.raises(ValueError, match="contraction_noise"):
        ModelConfig(kind="scae", contraction_noise=0)
    with pytest.raises(ValueError, match="contraction"):
        ModelConfig.from_dict({"kind": "cae", "contraction": "1"})
    old = ModelConfig(kind="ae").to_dict()
    del old["contraction"], old["contraction_noise"]
    assert ModelConfig.from_dict(old) == ModelConfig(kind="ae")


def test_cli_trains_a_cae_and_the_checkpoint_keeps_lambda(tmp_path, capsys):
    from explorer.cli.train import main, parser

    args = parser().parse_args(["--model", "scae", "--contraction", "0.3", "--contraction-noise", "0.2", "--out", "x"])
    assert (args.model, args.contraction, args.contraction_noise) == ("scae", 0.3, 0.2)
    out = tmp_path / "cae.safetensors"
    assert main(["--model", "cae", "--contraction", "0.25", "--hidden", "32", "--subset", "500", "--epochs", "1",
                 "--out", str(out)]) == 0
    checkpoint = load_checkpoint(out)
    assert isinstance(checkpoint.model, CAE) and checkpoint.model.config.contraction == 0.25
    assert not isinstance(checkpoint.model, SCAE)
    with pytest.raises(SystemExit):
        main(["--model", "cae", "--contraction", "-1", "--out", str(tmp_path / "y.safetensors")])
    assert "contraction" in capsys.readouterr().err


def test_shift_moves_every_column_right_by_one_pixel(mnist):
    from explorer.core.contractive import shift_images

    x = mnist.test_images[:2]
    moved = shift_images(x)
    assert torch.equal(moved[..., 1:], x[..., :-1]) and (moved[..., 0] == 0).all()


def test_contraction_summary_measures_moves_and_ignores_a_rescaled_code(mnist):
    from explorer.core.contractive import contraction_summary, perturb

    model = build_model(ModelConfig(kind="ae", hidden_sizes=(32,)), seed=0)
    x = mnist.test_images[:300]
    encode = lambda v: model.encode(v)[0]  # noqa: E731
    base = contraction_summary(encode, x, noise_level=0.1, seed=0, batch_size=100)
    with torch.no_grad():
        h = encode(x)
        shifted = (encode(perturb(x, "shift")) - h).norm(dim=1).mean().item()
    assert base["shift"] == pytest.approx(shifted, rel=1e-5)
    assert base["spread"] == pytest.approx(h.double().var(0, unbiased=False).sum().sqrt().item(), rel=1e-5)
    assert base["jacobian"] == pytest.approx(jacobian_frobenius_sq(encode, x).sqrt().mean().item(), rel=1e-5)
    scaled = contraction_summary(lambda v: 10 * encode(v), x, noise_level=0.1, seed=0, batch_size=100)
    assert scaled["jacobian"] == pytest.approx(10 * base["jacobian"], rel=1e-4)
    for name in ("jacobian_relative", "noise_relative", "shift_relative"):
        assert scaled[name] == pytest.approx(base[name], rel=1e-4)
    with pytest.raises(ValueError, match="perturbation"):
        perturb(x, "rotate")


def test_memory_estimate_counts_the_penalty():
    """The SCAE encodes one more copy, the CAE's exact Jacobian keeps a backward graph per
    code dimension: the refusal estimate (limits) orders them so."""
    from explorer.core.limits import max_batch_size, training_memory_bytes

    ae, cae, scae = (ModelConfig(kind=k, latent_dim=16, hidden_sizes=(64,)) for k in ("ae", "cae", "scae"))
    assert training_memory_bytes(ae, 128) < training_memory_bytes(scae, 128) < training_memory_bytes(cae, 128)
    assert max_batch_size(cae) < max_batch_size(scae) < max_batch_size(ae)
