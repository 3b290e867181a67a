"""Semi-supervised M2 (Kingma et al. 2014): the bounds of Eq. 6-7 against a direct sum
over y with torch.distributions, the J^alpha terms of Eq. 9, label selection, a short real
MNIST run whose classifier beats chance, checkpoints and the command lines."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from torch.distributions import Bernoulli, Categorical, Normal, kl_divergence

from explorer.core.checkpoints import load_checkpoint
from explorer.core.config import ModelConfig, TrainConfig
from explorer.core.labels import select_labels
from explorer.core.models import M2, build_model, num_parameters
from explorer.core.objective import (classification_weight, labelled_bound, loss_terms, semi_supervised_terms,
                                     unlabelled_bound)

REPO_CHECKPOINTS = Path(__file__).resolve().parents[2] / "checkpoints"
K = 3  # a tiny model: 3 classes of 4x4 images


@pytest.fixture
def tiny():
    config = ModelConfig(kind="m2", latent_dim=2, hidden_sizes=(8,), image_shape=(1, 4, 4), num_classes=K)
    model = build_model(config, seed=0)
    x = torch.rand(5, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    return model, x


def reference_labelled_bound(model, x, y, eps):
    """L(x, y) = -(log p(x|y,z) + log p(y) + log p(z) - log q(z|x,y)) with the KL in closed
    form, from torch.distributions, for the given standard-normal draws eps."""
    mu, logvar = model.encode(x, y)
    q = Normal(mu, (0.5 * logvar).exp())
    z = mu + q.scale * eps
    log_px = Bernoulli(logits=model.decode(z, y), validate_args=False).log_prob(x).flatten(1).sum(1)
    kl = kl_divergence(q, Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(1)
    log_py = Categorical(logits=torch.zeros(K)).log_prob(y)
    return -(log_px + log_py - kl)


def test_unlabelled_bound_is_the_direct_sum_over_labels(tiny):
    model, x = tiny
    b = len(x)
    # unlabelled_bound draws its noise label-major: K blocks of (B, latent_dim).
    eps = torch.randn(K * b, 2, generator=torch.Generator().manual_seed(7)).view(K, b, 2)
    got = unlabelled_bound(model, x, generator=torch.Generator().manual_seed(7))
    q = Categorical(logits=model.classify(x))
    expected = sum(q.probs[:, y] * reference_labelled_bound(model, x, torch.full((b,), y), eps[y])
                   for y in range(K)) - q.entropy()
    torch.testing.assert_close(got.bound, expected)
    # The labelled bound (Eq. 6) agrees with the same reference on its own.
    y = torch.tensor([0, 1, 2, 1, 0])
    torch.testing.assert_close(labelled_bound(model, x, y, generator=torch.Generator().manual_seed(3)).bound,
                               reference_labelled_bound(model, x, y, torch.randn(b, 2, generator=torch.Generator()
                                                                                  .manual_seed(3))))


def test_j_alpha_terms_never_read_unknown_labels(tiny):
    model, x = tiny
    y = torch.tensor([0, 1, 2, 1, 0])
    known = torch.tensor([True, False, True, False, False])
    terms = semi_supervised_terms(model, x, y, known, weight=6.0, generator=torch.Generator().manual_seed(0))
    other = semi_supervised_terms(model, x, torch.tensor([0, 2, 2, 0, 1]), known, weight=6.0,
                                  generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(terms.loss, other.loss)  # only the known labels are read
    # Labelled rows: L(x, y) + weight * (-log q(y|x)); unlabelled rows: U(x) (Eq. 9).
    g = torch.Generator().manual_seed(0)
    lab = labelled_bound(model, x[known], y[known], generator=g).bound
    unl = unlabelled_bound(model, x[~known], generator=g).bound
    ce = -torch.log_softmax(model.classify(x[known]), 1).gather(1, y[known, None]).squeeze(1)
    torch.testing.assert_close(terms.loss[known], lab + 6.0 * ce)
    torch.testing.assert_close(terms.loss[~known], unl)
    # through loss_terms, the same; no known labels without y is refused.
    torch.testing.assert_close(loss_terms(model, x, y, known=known, classification_weight=6.0,
                                          generator=torch.Generator().manual_seed(0)).loss, terms.loss)
    with pytest.raises(ValueError, match="labels y"):
        semi_supervised_terms(model, x, None, known)
    assert classification_weight(60_000, 100) == pytest.approx(60.0)  # alpha = 0.1 * N, over N_l


def test_label_selection_is_balanced_and_seeded(mnist):
    labels = mnist.train_labels
    known = select_labels(labels, 100, seed=0, num_classes=10)
    assert known.dtype == torch.bool and known.shape == labels.shape and int(known.sum()) == 100
    assert torch.bincount(labels[known], minlength=10).tolist() == [10] * 10
    assert torch.equal(known, select_labels(labels, 100, seed=0, num_classes=10))
    assert not torch.equal(known, select_labels(labels, 100, seed=1, num_classes=10))
    counts = torch.bincount(labels[select_labels(labels, 105, seed=0, num_classes=10)], minlength=10)
    assert sorted(counts.tolist()) == [10] * 5 + [11] * 5
    assert bool(select_labels(labels, None, seed=0, num_classes=10).all())
    for bad in (0, len(labels) + 1):
        with pytest.raises(ValueError, match="between 1 and"):
            select_labels(labels, bad, seed=0, num_classes=10)
    with pytest.raises(ValueError, match="of class"):  # balanced 60,000 needs 6,000 of each digit
        select_labels(labels, len(labels), seed=0, num_classes=10)


def test_m2_config_and_size():
    config = ModelConfig(kind="m2", hidden_sizes=(16,), latent_dim=4)
    model = build_model(config, seed=0)
    assert isinstance(model, M2) and model.is_conditional and model.is_variational
    assert num_parameters(config) == sum(p.numel() for p in model.parameters())
    assert TrainConfig(labels=100).labels == 100 and TrainConfig().labels is None
    assert TrainConfig.from_dict({"labels": 600}).labels == 600
    with pytest.raises(ValueError, match="labels"):
        TrainConfig(labels=0)
    with pytest.raises(ValueError, match="labels"):
        TrainConfig.from_dict({"labels": 1.5})
    # M1+M2's reference to its M1 file: only for m2, always with a SHA-256, a Gaussian on the codes
    ok = {"kind": "m2", "m1": "a.safetensors", "m1_sha256": "0" * 64, "m1_latent_dim": 20,
          "likelihood": "gaussian_identity"}
    for bad, said in (({"kind": "vae"}, "needs kind 'm2'"), ({"m1_sha256": None}, "go together"),
                      ({"m1_sha256": "xyz"}, "go together"), ({"m1_latent_dim": 0}, "go together"),
                      ({"likelihood": "bernoulli"}, "Gaussian"), ({"m1": 3}, "m1")):
        with pytest.raises(ValueError, match=said):
            ModelConfig.from_dict({**ok, **bad})
    assert "m1" not in ModelConfig(kind="m2").to_dict()  # plain M2 files keep their old keys
    m1m2 = build_model(ModelConfig.from_dict(ok), seed=0)
    assert num_parameters(m1m2.config) == sum(p.numel() for p in m1m2.parameters())  # networks read 20 numbers
    with pytest.raises(ValueError, match="no M1 VAE yet"):
        m1m2.classify(torch.zeros(1, 1, 28, 28))


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    """A short real-MNIST M2 run from the command line: 1,000 images, 100 labels, 8 epochs
    of 20 steps, then the checkpoint it saved."""
    from explorer.cli.train import main

    out = tmp_path_factory.mktemp("m2") / "m2.safetensors"
    torch.set_num_threads(1)
    assert main(["--model", "m2", "--labels", "100", "--subset", "1000", "--hidden", "64", "--latent-dim", "8",
                 "--epochs", "8", "--batch-size", "50", "--lr", "2e-3", "--out", str(out)]) == 0
    return out


def test_short_m2_run_classifies_mnist_better_than_chance(short_run, capsys):
    checkpoint = load_checkpoint(short_run)
    assert isinstance(checkpoint.model, M2) and checkpoint.train_config.labels == 100
    errors = [r["test_classification_error"] for r in checkpoint.history]
    print("test classification error per epoch (%):", errors)
    assert len(errors) == 8 and errors[-1] < 80.0, errors  # chance is 90 %
    assert checkpoint.metrics["test_classification_error"] == pytest.approx(errors[-1])

    from explorer.cli.evaluate import main

    capsys.readouterr()
    assert main([str(short_run), "--iw-samples", "0"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["test_classification_error"] == pytest.approx(errors[-1])
    assert math.isfinite(metrics["test_neg_elbo"])


def test_cli_labels_option(tmp_path, capsys):
    from explorer.cli.train import main, parser

    args = parser().parse_args(["--model", "m2", "--labels", "100", "--out", "x.safetensors"])
    assert (args.model, args.labels) == ("m2", 100)
    assert parser().parse_args(["--out", "x"]).labels is None
    assert "--labels" in parser().format_help() and "Default: all known" in parser().format_help()
    for bad, said in (("0", "labels must be >= 1"), ("2000", "between 1 and the 1,000")):
        with pytest.raises(SystemExit):
            main(["--model", "m2", "--labels", bad, "--subset", "1000", "--hidden", "8", "--epochs", "1",
                  "--out", str(tmp_path / "y.safetensors")])
        assert said in capsys.readouterr().err
    assert not (tmp_path / "y.safetensors").exists()


def test_every_step_pairs_a_labelled_minibatch_with_an_unlabelled_one():
    from explorer.core.labels import semi_supervised_batches

    known = torch.zeros(50, dtype=torch.bool)
    known[torch.tensor([3, 9, 14, 20, 31, 40, 47])] = True  # 7 labelled of 50
    steps = semi_supervised_batches(known, 8, torch.Generator().manual_seed(0))
    assert len(steps) == 6  # ceil(43 unlabelled / 8)
    assert all(len(lab) == 7 and bool(known[lab].all()) for lab, _ in steps)  # min(8, N_l) labelled every step
    unlabelled = torch.cat([unl for _, unl in steps])
    assert not bool(known[unlabelled].any()) and sorted(unlabelled.tolist()) == (~known).nonzero().squeeze(1).tolist()
    counts = torch.bincount(torch.cat([lab for lab, _ in steps]), minlength=50)[known]
    assert int(counts.min()) == int(counts.max()) == 6  # the labelled set cycled evenly
    # every label known: one pass over the labelled rows alone
    steps = semi_supervised_batches(torch.ones(10, dtype=torch.bool), 4, torch.Generator().manual_seed(0))
    assert [len(lab) for lab, _ in steps] == [4, 4, 2] and all(len(unl) == 0 for _, unl in steps)


def test_m1_plus_m2_trains_on_the_codes_of_a_shipped_vae_and_checks_its_file(tmp_path, capsys):
    """M1+M2 (Kingma et al. 2014, Sec. 3.2) from the command line on a copy of the shipped
    z = 20 VAE: the checkpoint names the M1 file and its SHA-256, holds none of its weights,
    classifies better than chance, and is refused when the M1 file changes or goes."""
    import hashlib
    import shutil

    from explorer.cli.evaluate import main as evaluate_main
    from explorer.cli.train import main
    from explorer.core.checkpoints import CheckpointError

    m1 = tmp_path / "m1.safetensors"
    shutil.copyfile("checkpoints/mnist_vae_z20.safetensors", m1)
    out = tmp_path / "m1m2.safetensors"
    torch.set_num_threads(1)
    assert main(["--model", "m2", "--m1", str(m1), "--labels", "100", "--subset", "1000", "--hidden", "64",
                 "--latent-dim", "8", "--epochs", "6", "--batch-size", "50", "--lr", "3e-3", "--out", str(out)]) == 0
    checkpoint = load_checkpoint(out)
    config = checkpoint.model_config
    assert (config.m1, config.m1_sha256) == (str(m1), hashlib.sha256(m1.read_bytes()).hexdigest())
    assert config.likelihood == "gaussian_identity" and checkpoint.model.feature_shape == (1, 1, 20)
    assert not any(k.startswith("m1") for k in checkpoint.model.state_dict())
    errors = [r["test_classification_error"] for r in checkpoint.history]
    print("M1+M2 test classification error per epoch (%):", errors)
    assert errors[-1] < 60.0, errors  # chance is 90 %
    capsys.readouterr()
    assert evaluate_main([str(out)]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["test_classification_error"] == pytest.approx(errors[-1]) and "test_iw_nll" not in metrics

    data = bytearray(m1.read_bytes())
    data[-1] ^= 1
    m1.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="M1 VAE m1.safetensors is not the file it was trained on"):
        load_checkpoint(out)
    m1.unlink()
    with pytest.raises(CheckpointError, match="M1 VAE m1.safetensors is missing"):
        load_checkpoint(out)
    with pytest.raises(SystemExit):
        main(["--model", "vae", "--m1", "checkpoints/mnist_vae_z20.safetensors", "--out", str(tmp_path / "v.safetensors")])
    assert "use it with --model m2" in capsys.readouterr().err


def test_alpha_weighs_the_classification_loss_linearly_in_the_first_step(mnist):
    """TrainConfig.alpha_fraction (alpha / N, Kingma et al. 2014 Eq. 9) reaches the loss: the
    first step's loss (before any update: same weights, same noise) grows by the same amount
    for each 0.1 of alpha / N, the cross-entropy term times 0.1 * N / N_l."""
    from explorer.core.train import train

    config = ModelConfig(kind="m2", latent_dim=2, hidden_sizes=(16,))
    images, labels = mnist.train_images[:400], mnist.train_labels[:400]
    losses = []
    for alpha in (0.0, 0.1, 0.2):
        train_config = TrainConfig(epochs=1, batch_size=400, labels=100, seed=0, alpha_fraction=alpha)
        seen = []
        train(build_model(config, seed=0), images, None, train_config, train_labels=labels,
              on_batch=lambda p: seen.append(p.loss))
        losses.append(seen[0])
    # one step pairs all 100 labelled images with the 300 others: the loss is their means' sum,
    # so each 0.1 of alpha / N adds 0.1 * N / N_l = 0.4 times the mean -log q(y|x) of the labelled
    known = select_labels(labels, 100, 0, 10)
    with torch.no_grad():
        cross_entropy = float(torch.nn.functional.cross_entropy(build_model(config, seed=0).classify(images[known]),
                                                                labels[known]))
    assert cross_entropy > 1.0
    for low, high in zip(losses, losses[1:]):
        assert high - low == pytest.approx(0.1 * 400 / 100 * cross_entropy, abs=2e-3), losses
    with pytest.raises(ValueError, match="alpha_fraction must be finite and >= 0"):
        TrainConfig(alpha_fraction=-0.1)


def test_cli_alpha_option_and_the_m1_file_refused_unless_a_vae(tmp_path, capsys):
    from explorer.cli.train import main, parser
    from explorer.core.checkpoints import m1_fields

    assert parser().parse_args(["--out", "x"]).alpha_fraction == 0.1  # the paper's alpha = 0.1 * N
    out = tmp_path / "m2.safetensors"
    assert main(["--model", "m2", "--labels", "100", "--alpha-fraction", "0.3", "--subset", "500", "--hidden", "8",
                 "--epochs", "1", "--batch-size", "100", "--out", str(out)]) == 0
    assert load_checkpoint(out).train_config.alpha_fraction == 0.3
    capsys.readouterr()
    fields = m1_fields("checkpoints/mnist_vae_z20.safetensors")  # the same names from the page and the CLI
    assert (fields["m1"], fields["m1_latent_dim"]) == ("checkpoints/mnist_vae_z20.safetensors", 20)
    for bad, said in ((REPO_CHECKPOINTS / "mnist_cvae_z2.safetensors", "holds a model of kind 'cvae'"),
                      (out, "holds a model of kind 'm2'"), (tmp_path / "none.safetensors", "no such file")):
        with pytest.raises(ValueError, match=said):
            m1_fields(bad)
        with pytest.raises(SystemExit):
            main(["--model", "m2", "--m1", str(bad), "--labels", "100", "--out", str(tmp_path / "z.safetensors")])
        assert "--m1: " in capsys.readouterr().err
    assert not (tmp_path / "z.safetensors").exists()
