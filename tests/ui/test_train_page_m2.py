"""Semi-supervised M2 and M1+M2 (Kingma et al. 2014) from the Train page, through AppTest
on real MNIST subsets: their settings show only for M2, the M1 choice lists VAE files
only, and short real runs end in saved files whose configs say what was asked."""

import shutil

import pytest

from tests.helpers.paths import REPO
from tests.helpers.charts import chart_spec
from explorer.core.checkpoint_summary import read_summary
from explorer.core.checkpoints import file_sha256, load_checkpoint
from explorer.ui.state import registry, session
from explorer.ui.views.semi_supervised import MODEL_KEY

M2_KEYS = {"train_labels", "train_alpha", "train_m1"}
#: A tiny M2: 1,000 training images (100 of them labelled), one epoch.
TINY = {"train_hidden": "64", "train_epochs": 1, "train_subset": 1000, "train_batch_size": 100, "train_lr": 3e-3}
Z20 = "mnist_vae_z20.safetensors"


@pytest.fixture
def train_page(open_page):
    return open_page("pages/train.py")


def _keys(at) -> set[str]:
    return {w.key for kind in ("number_input", "selectbox", "text_input") for w in getattr(at, kind)}


def _vae_choice(folder, name=Z20) -> str:
    return f"{registry.FILE_PREFIX}{folder / name}"


def test_m2_settings_appear_only_for_m2(train_page):
    at = train_page
    assert not M2_KEYS & _keys(at) and {"train_beta", "train_noise"} <= _keys(at)
    at.radio(key="train_kind").set_value("m2").run()
    assert not at.exception, at.exception
    keys = _keys(at)
    # M2 on pixels: labels, alpha, what it reads; no beta (J^alpha has none) and no input noise
    assert M2_KEYS <= keys and not {"train_beta", "train_noise", "train_code_std"} & keys
    assert {"train_architecture", "train_likelihood"} <= keys
    assert at.selectbox(key="train_labels").options == ["100 (10 per digit)", "600 (60 per digit)",
                                                        "1,000 (100 per digit)", "3,000 (300 per digit)"]
    assert at.number_input(key="train_alpha").value == 0.1
    for key in M2_KEYS:  # every new term explained where it appears
        widget = at.number_input(key=key) if key == "train_alpha" else at.selectbox(key=key)
        assert len(widget.help) > 100, key
    assert "0.1 * N" in at.number_input(key="train_alpha").help
    # M1+M2: a code vector in, so no network choice and no pixel likelihood, but the code's std
    at.selectbox(key="train_m1").set_value(_vae_choice(registry.CHECKPOINT_DIR)).run()
    keys = _keys(at)
    assert "train_code_std" in keys and not {"train_architecture", "train_likelihood"} & keys
    assert at.number_input(key="train_code_std").value == 0.7
    at.radio(key="train_kind").set_value("vae").run()
    assert not (M2_KEYS | {"train_code_std"}) & _keys(at) and "train_beta" in _keys(at)


def test_the_m1_choice_lists_the_vae_files_only(train_page):
    at = train_page
    at.radio(key="train_kind").set_value("m2").run()
    options = at.selectbox(key="train_m1").proto.options  # shown labels; values below
    assert options[0] == "pixels (M2)"
    offered = {c.removeprefix(registry.FILE_PREFIX) for c in registry.vae_file_options()}
    kinds = {p.name: getattr(read_summary(p), "model_config", None)
             for p in registry.CHECKPOINT_DIR.glob("*.safetensors")}
    vaes = {name for name, config in kinds.items() if config is not None and config.kind == "vae"}
    assert {str(registry.CHECKPOINT_DIR / n) for n in vaes} == offered and len(options) == 1 + len(vaes)
    assert {Z20, "mnist_vae_z2.safetensors", "mnist_conv_vae_z2.safetensors"} <= vaes
    # neither the conditional VAE, the AEs, the M1+M2 model nor the digit classifier
    assert not {"mnist_cvae_z2.safetensors", "mnist_ae_z2.safetensors", "mnist_m1m2_l100.safetensors",
                "mnist_classifier.safetensors", "mnist_cae_z2.safetensors"} & vaes
    assert "VAE · z = 20 · shipped" in options


def _train(at, **settings):
    for key, value in {**TINY, **settings}.items():
        widget = at.text_input(key=key) if key == "train_hidden" else at.number_input(key=key)
        widget.set_value(value)
    at.button(key="start_training").click().run()
    assert not at.exception, at.exception
    assert not at.main.error, [e.value for e in at.main.error]
    job = at.session_state[session.TRAINING_JOB_KEY]
    assert job.join(600), "training did not end in time"
    at.run()
    assert not at.exception, at.exception
    assert job.snapshot().state == "finished", job.snapshot().message
    return job


def _save(at, folder):
    name = at.text_input(key=session.SAVE_NAME_KEY).value
    at.button(key="save_checkpoint").click().run()
    assert f"Saved {name}" in at.success[-1].value
    return folder / name


def test_a_short_m2_run_from_the_page_saves_an_m2_file_with_its_labels(train_page, tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "CHECKPOINT_DIR", tmp_path)
    at = train_page
    at.radio(key="train_kind").set_value("m2").run()
    at.selectbox(key="train_labels").set_value(100)
    job = _train(at)
    assert (job.model_config.kind, job.train_config.labels, job.train_config.alpha_fraction) == ("m2", 100, 0.1)
    # the live curve's right axis is the classifier's test error, also shown as a number
    curves = chart_spec(at, "training_curves")
    assert "test classification error (%)" in {t["name"] for t in curves["data"]}
    error = job.snapshot().history[-1].metrics["test_classification_error"]
    assert 0 < error < 90, error  # chance is 90 %: the classifier learnt from 100 labels
    assert any("style z of q(z|x, y)" in c.value for c in at.caption)  # what the live map shows for M2
    shown = next(m for m in at.metric if m.label == "Test classification error (%)")
    assert shown.value == f"{error:.2f}"
    path = _save(at, tmp_path)
    assert path.name.startswith("m2_z2_h64_l100_a0.1_e1_n1000_s0_")
    checkpoint = load_checkpoint(path)
    assert checkpoint.model_config.kind == "m2" and checkpoint.model_config.m1 is None
    assert (checkpoint.train_config.labels, checkpoint.train_config.subset) == (100, 1000)
    assert checkpoint.metrics["test_classification_error"] == pytest.approx(error)
    # the Semi-supervised page's group lists it; the map pages' does not
    assert path in registry.checkpoint_files(tmp_path, group="semi_supervised")
    assert path not in registry.checkpoint_files(tmp_path)
    assert "Semi-supervised (M2) page's model choice" in at.info[0].value
    at.switch_page("pages/semi_supervised.py").run()
    assert not at.exception, at.exception
    choice = at.sidebar.selectbox(key=MODEL_KEY)
    # the saved file and the session's trained model (both M2 trained today), nothing else
    assert len(choice.options) == 2 and sum(o.endswith("(this session)") for o in choice.options) == 1, choice.options
    assert all(o.startswith("M2 ") for o in choice.options), choice.options
    choice.set_value(f"{registry.FILE_PREFIX}{path}").run()
    assert not at.exception, at.exception
    assert "100 of the 1,000 training digits had known labels" in at.caption[0].value
    assert at.metric[0].value == f"{checkpoint.metrics['test_classification_error']:.2f} %"


def test_a_short_m1_plus_m2_run_from_the_page_stands_on_the_chosen_vae_file(train_page, tmp_path, monkeypatch):
    shutil.copyfile(REPO / "checkpoints" / Z20, tmp_path / Z20)
    monkeypatch.setattr(registry, "CHECKPOINT_DIR", tmp_path)
    at = train_page
    at.radio(key="train_kind").set_value("m2").run()
    at.selectbox(key="train_m1").set_value(_vae_choice(tmp_path)).run()
    at.selectbox(key="train_labels").set_value(600)
    job = _train(at, train_latent_dim=8, train_alpha=0.2, train_code_std=0.5)
    path = _save(at, tmp_path)
    assert path.name.startswith("m1m2_z8_h64_l600_a0.2_c0.5_e1_n1000_s0_")
    checkpoint = load_checkpoint(path)
    config = checkpoint.model_config
    assert (config.kind, config.m1, config.m1_sha256, config.m1_latent_dim) == (
        "m2", str(tmp_path / Z20), file_sha256(tmp_path / Z20), 20)
    assert (config.likelihood, config.decoder_std, config.architecture) == ("gaussian_identity", 0.5, "mlp")
    assert (checkpoint.train_config.labels, checkpoint.train_config.alpha_fraction) == (600, 0.2)
    assert checkpoint.model.feature_shape == (1, 1, 20)  # it read the M1's 20-number codes
    assert checkpoint.metrics["test_classification_error"] < 90
    assert job.snapshot().history[-1].metrics["test_classification_error"] == pytest.approx(
        checkpoint.metrics["test_classification_error"])


def test_too_few_training_images_for_the_labels_are_refused_before_training(train_page):
    at = train_page
    at.radio(key="train_kind").set_value("m2").run()
    at.selectbox(key="train_labels").set_value(3000)
    at.number_input(key="train_subset").set_value(1000)
    at.button(key="start_training").click().run()
    assert "3,000 known labels need at least as many training images, not 1,000" in at.error[0].value
    assert at.session_state[session.TRAINING_JOB_KEY] is None
