"""The shipped pretrained stacks (checkpoints/pretraining/) and their section on the
Denoising page: filters for masking 0, 0.25 and 0.5 with their kurtosis measured from the
files, the test errors the runs printed, and a plain message when the files are missing."""

import shutil

import pytest

from explorer.core.pretraining import build_stack
from explorer.core.stack_files import load_stack, read_results
from explorer.core.stack_filters import filter_sharpness, first_layer_filters
from explorer.ui.state.caches import PRETRAINING_DIR, RESULTS_FILE, SHOWN_FILTERS, STACK_FILES

from tests.helpers.paths import REPO

FOLDER = REPO / "checkpoints" / PRETRAINING_DIR


def test_each_shipped_stack_is_the_run_its_results_line_reports():
    runs = read_results(FOLDER / RESULTS_FILE)
    for noise, name in STACK_FILES.items():
        net, config, stored = load_stack(FOLDER / name)
        assert config.noise == noise and config.pretrain_epochs > 0
        mine = [r for r in runs if r["noise"] == noise and r["pretrain_epochs"] == config.pretrain_epochs
                and r["seed"] == config.seed]
        assert sorted(r["labels"] for r in mine) == [100, 1000]
        # the kurtosis each line printed is that of this file's first layer
        assert all(r["sharpness"] == pytest.approx(filter_sharpness(first_layer_filters(net)), abs=1e-3) for r in mine)
        assert [r["test_error"] for r in stored["runs"]] == [r["test_error"] for r in mine]
    assert sorted(r["labels"] for r in runs if r["pretrain_epochs"] == 0 and r["seed"] == config.seed) == [100, 1000]


def _open_denoising(app_test):
    at = app_test()
    at.run()
    at.switch_page("pages/denoising.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_denoising_page_shows_each_stacks_filters_kurtosis_and_test_errors(app_test):
    at = _open_denoising(app_test)
    images = at.get("image")
    assert len(images) == len(STACK_FILES)
    texts = [img.captions[0] for img in images]
    for text, (noise, name) in zip(texts, STACK_FILES.items()):
        net, _, _ = load_stack(FOLDER / name)
        shown = filter_sharpness(first_layer_filters(net, SHOWN_FILTERS))
        assert f"kurtosis {shown:.2f} (these {SHOWN_FILTERS} filters; all 500: " in text
        assert ("SAE (no noise)" if noise == 0 else f"masking {noise:g}") in text
    table = at.dataframe[-1].value  # the page's last table
    runs = read_results(FOLDER / RESULTS_FILE)
    assert list(table.index) == ["no pretraining", "SAE", "SDAE, masking 0.25", "SDAE, masking 0.5"]
    assert list(table.columns) == ["100 labels", "1,000 labels", "kurtosis"]
    assert table.loc["no pretraining", "kurtosis"] == pytest.approx(filter_sharpness(first_layer_filters(
        build_stack(load_stack(FOLDER / STACK_FILES[0.0])[1]))))  # the initial weights: about -1.2 (uniform)
    seed = load_stack(FOLDER / STACK_FILES[0.0])[1].seed
    sae_100 = next(r for r in runs if r["noise"] == 0 and r["pretrain_epochs"] > 0 and r["labels"] == 100
                   and r["seed"] == seed)
    assert table.loc["SAE", "100 labels"] == pytest.approx(100 * sae_100["test_error"])


def test_missing_stacks_are_named_and_the_rest_of_the_page_works(app_test, monkeypatch, tmp_path):
    from explorer.ui.state import registry

    for name in ("mnist_dae_z2.safetensors", "mnist_ae_z2.safetensors"):
        shutil.copy(REPO / "checkpoints" / name, tmp_path / name)
    monkeypatch.setattr(registry, "CHECKPOINT_DIR", tmp_path)  # no pretraining/ folder
    at = _open_denoising(app_test)
    message = " ".join(i.value for i in at.info)
    assert f"{STACK_FILES[0.0]} is missing" in message and "docs/stacked-autoencoders.md" in message
    assert at.get_by_key("dae_curve_chart") is not None and not at.get("image")
