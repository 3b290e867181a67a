"""Short model names (issue 21, item 6): every shipped checkpoint's name, a file trained by a
user (named by its save time), distinct names where two would collide, and which files each
model family offers, decided by the file's content: an M2 trained here for one short epoch
is offered only to semi-supervised pages."""

from __future__ import annotations

import os
import shutil
from datetime import datetime

import pytest
import torch

from tests.helpers.paths import REPO, VAE_CHECKPOINT
from explorer.core.checkpoint_format import save_checkpoint
from explorer.core.checkpoint_summary import read_summary
from explorer.core.config import ModelConfig, TrainConfig
from explorer.core.models import build_model
from explorer.ui.state import registry
from explorer.ui.state.model_names import model_label, unique_labels

SHIPPED = {
    "mnist_vae_z2.safetensors": "VAE · z = 2 · shipped",
    "mnist_ae_z10.safetensors": "AE · z = 10 · shipped",
    "mnist_ae_z2.safetensors": "AE · z = 2 · shipped",
    "mnist_cae_z2.safetensors": "Contractive AE · z = 2 · shipped",
    "mnist_conv_vae_z2.safetensors": "Conv VAE · z = 2 · shipped",
    "mnist_strided_conv_vae_z2.safetensors": "Strided conv VAE · z = 2 · shipped",
    "mnist_cvae_z2.safetensors": "Conditional VAE · z = 2 · shipped",
    "mnist_dae_z2.safetensors": "Denoising AE · z = 2 · shipped",
    "mnist_linear_ae_z2.safetensors": "Linear AE · z = 2 · shipped",
    "mnist_vae_z10.safetensors": "VAE · z = 10 · shipped",
    "mnist_vae_z10_beta0.5.safetensors": "β-VAE (β = 0.5) · z = 10 · shipped",
    "mnist_vae_z10_beta4.safetensors": "β-VAE (β = 4) · z = 10 · shipped",
    "mnist_vae_z20.safetensors": "VAE · z = 20 · shipped",
    "mnist_vae_z5.safetensors": "VAE · z = 5 · shipped",
}


def _label(path, now=None) -> str:
    s = read_summary(path)
    return model_label(s.model_config, s.train_config, "shipped" if s.shipped else "file", s.modified, now)


def test_every_shipped_checkpoint_has_a_short_distinct_name():
    files = registry.checkpoint_files(REPO / "checkpoints")
    assert [p.name for p in files][0] == "mnist_vae_z2.safetensors"
    assert {p.name for p in files} == set(SHIPPED)  # the classifier is not a model
    assert {p.name: _label(p) for p in files} == SHIPPED
    assert read_summary(REPO / "checkpoints" / "mnist_classifier.safetensors") is None


def _tiny_vae_file(path, **config):
    model = build_model(ModelConfig(kind="vae", latent_dim=3, hidden_sizes=(8,), **config), seed=0)
    return save_checkpoint(path, model, train_config=TrainConfig(epochs=1), history=[], metrics={},
                           dataset={"name": "MNIST", "sha256": {}})


def test_a_trained_file_is_named_by_when_it_was_saved(tmp_path):
    path = _tiny_vae_file(tmp_path / "vae_z3_h8_b1_e1_s0_20261206T140300Z.safetensors")
    saved = datetime(2026, 12, 6, 14, 3, 20)  # local time, as the label shows it
    os.utime(path, (saved.timestamp(), saved.timestamp()))
    assert _label(path, now=datetime(2026, 12, 6, 18, 0)) == "VAE · z = 3 · trained 14:03 today"
    assert _label(path, now=datetime(2026, 12, 7, 9, 0)) == "VAE · z = 3 · trained 2026-12-06 14:03"
    beta = _tiny_vae_file(tmp_path / "b.safetensors", beta=4.0)
    assert _label(beta).startswith("β-VAE (β = 4) · z = 3 · trained ")
    # a copy of a shipped file is shipped by its bytes, whatever its name
    shutil.copyfile(VAE_CHECKPOINT, tmp_path / "copy.safetensors")
    assert _label(tmp_path / "copy.safetensors") == "VAE · z = 2 · shipped"
    # truncated: no name from its header (loading it says what is wrong)
    (tmp_path / "cut.safetensors").write_bytes(VAE_CHECKPOINT.read_bytes()[:-4])
    assert read_summary(tmp_path / "cut.safetensors") is None


def test_names_that_collide_get_the_end_of_their_file_name():
    labels = {"a": "VAE · z = 2 · shipped", "b": "VAE · z = 2 · shipped", "c": "AE · z = 2 · shipped"}
    names = {"a": "mnist_vae_z2.safetensors", "b": "copy_of_the_shipped_vae_z2.safetensors", "c": "x.safetensors"}
    got = unique_labels(labels, names)
    assert got == {"a": "VAE · z = 2 · shipped · mnist_vae_z2", "b": "VAE · z = 2 · shipped · …shipped_vae_z2",
                   "c": "AE · z = 2 · shipped"}
    # a shipped file under its shipped name keeps its short name; its copy gets the suffix
    got = unique_labels(labels, names, original=frozenset({"a"}))
    assert got["a"] == "VAE · z = 2 · shipped" and got["b"] == "VAE · z = 2 · shipped · …shipped_vae_z2"
    # ends that would still collide: the whole names
    names = {"a": "run_one_vae_z2_same_end.safetensors", "b": "run_two_vae_z2_same_end.safetensors", "c": "x"}
    got = unique_labels(labels, names)
    assert got["a"].endswith(names["a"]) and got["b"].endswith(names["b"]) and len(set(got.values())) == 3


@pytest.fixture(scope="module")
def m2_file(tmp_path_factory):
    """An M2 trained here from the command line: one short epoch, 100 known labels."""
    from explorer.cli.train import main

    out = tmp_path_factory.mktemp("m2") / "m2_run.safetensors"
    torch.set_num_threads(1)
    assert main(["--model", "m2", "--labels", "100", "--subset", "500", "--hidden", "16", "--latent-dim", "2",
                 "--epochs", "1", "--batch-size", "50", "--out", str(out)]) == 0
    return out


def test_semi_supervised_files_are_offered_only_to_their_own_pages(m2_file, tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    shutil.copyfile(m2_file, folder / "mnist_vae_z2.safetensors")  # the name says VAE, the content M2
    shutil.copyfile(VAE_CHECKPOINT, folder / "plain.safetensors")
    shutil.copyfile(REPO / "checkpoints" / "mnist_classifier.safetensors", folder / "c.safetensors")
    summary = read_summary(folder / "mnist_vae_z2.safetensors")
    assert summary.semi_supervised and summary.decodes_images
    assert _label(folder / "mnist_vae_z2.safetensors").startswith("M2 (100 labels) · z = 2 · trained ")
    assert [p.name for p in registry.checkpoint_files(folder)] == ["plain.safetensors"]
    assert [p.name for p in registry.checkpoint_files(folder, "semi_supervised")] == ["mnist_vae_z2.safetensors"]
    with pytest.raises(ValueError, match="group"):
        registry.checkpoint_files(folder, "m2")
    # M1+M2: its decoder writes an M1 VAE's codes, not images
    m1m2 = build_model(ModelConfig.from_dict({"kind": "m2", "m1": "mnist_vae_z20.safetensors", "m1_sha256": "0" * 64,
                                              "m1_latent_dim": 20, "likelihood": "gaussian_identity",
                                              "hidden_sizes": [8]}), seed=0)
    path = save_checkpoint(folder / "m1m2.safetensors", m1m2, train_config=TrainConfig(labels=100), history=[],
                           metrics={}, dataset={"name": "MNIST", "sha256": {}})
    summary = read_summary(path)
    assert summary.semi_supervised and not summary.decodes_images
    assert _label(path).startswith("M1+M2 (100 labels) · z = 2 · trained ")
    assert "m1m2.safetensors" not in [p.name for p in registry.checkpoint_files(folder)]


def test_the_sidebar_leaves_semi_supervised_models_out(app_test, m2_file, tmp_path, monkeypatch):
    shutil.copyfile(VAE_CHECKPOINT, tmp_path / VAE_CHECKPOINT.name)
    shutil.copyfile(m2_file, tmp_path / "m2_run.safetensors")
    shutil.copyfile(VAE_CHECKPOINT, tmp_path / "my_copy.safetensors")
    monkeypatch.setattr(registry, "CHECKPOINT_DIR", tmp_path)
    at = app_test()
    at.run()
    assert not at.exception
    box = at.sidebar.selectbox(key="model_choice")
    # no M2; the shipped file under its own name keeps the short name, its copy says which file it is
    assert box.options == ["VAE · z = 2 · shipped", "VAE · z = 2 · shipped · my_copy"]
    assert f"{tmp_path.name}/mnist_vae_z2.safetensors" in box.help
    box.set_value(f"file:{tmp_path / 'my_copy.safetensors'}").run()
    assert not at.exception and f"{tmp_path.name}/my_copy.safetensors" in at.sidebar.selectbox(key="model_choice").help


def test_a_name_that_appears_again_gets_a_number():
    from explorer.ui.state.model_names import distinct_titles

    assert distinct_titles(["VAE · z = 2 · shipped", "AE · z = 2 · shipped"]) == ["VAE · z = 2 · shipped",
                                                                                  "AE · z = 2 · shipped"]
    assert distinct_titles(["AE · z = 2 · shipped"] * 3) == ["AE · z = 2 · shipped", "AE · z = 2 · shipped #2",
                                                             "AE · z = 2 · shipped #3"]


def test_two_copies_of_one_model_side_by_side_have_different_names(app_test, mnist, tmp_path, monkeypatch):
    """The Compare page's headers over each model's tools and the Theory page's "under X and
    Y": the same file on both sides gets #2 on the right; a copy of it under another file
    name is told apart by its file name, as in the model choice."""
    from tests.helpers.apptest import click_map

    shutil.copyfile(VAE_CHECKPOINT, tmp_path / VAE_CHECKPOINT.name)
    shutil.copyfile(VAE_CHECKPOINT, tmp_path / "my_copy.safetensors")
    monkeypatch.setattr(registry, "CHECKPOINT_DIR", tmp_path)
    at = app_test()
    at.run()
    at.switch_page("pages/compare.py").run()
    vae, copy = f"file:{tmp_path / VAE_CHECKPOINT.name}", f"file:{tmp_path / 'my_copy.safetensors'}"
    at.selectbox(key="cmp_model_a").set_value(vae)
    at.selectbox(key="cmp_model_b").set_value(vae).run()
    assert not at.exception, at.exception
    headers = lambda: [m.value for m in at.markdown if m.value.startswith("**VAE")]  # noqa: E731
    assert headers()[:2] == ["**VAE · z = 2 · shipped**", "**VAE · z = 2 · shipped #2**"]
    index = 1234
    label = int(mnist.test_labels[index])
    click_map(at, [{"curve_number": label, "point_number": 0, "point_index": 0, "x": 0.0, "y": 0.0,
                    "customdata": [index, label]}], prefix="cmp_a_")
    assert not at.exception, at.exception
    at.switch_page("pages/theory.py").run()
    assert not at.exception, at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "under **VAE · z = 2 · shipped** and **VAE · z = 2 · shipped #2**" in text
    at.switch_page("pages/compare.py").run()
    at.selectbox(key="cmp_model_b").set_value(copy).run()
    assert not at.exception, at.exception
    assert headers()[:2] == ["**VAE · z = 2 · shipped**", "**VAE · z = 2 · shipped · my_copy**"]
