"""The Linear AE = PCA page through AppTest: its numbers are those of
``compare_with_pca`` for the checkpoint it finds, and a missing file is explained."""

import shutil

import pytest

from tests.helpers.paths import VAE_CHECKPOINT
from tests.helpers.charts import chart_spec, plotly_array
from explorer.core.checkpoints import load_checkpoint, save_checkpoint
from explorer.core.config import ModelConfig, TrainConfig
from explorer.core.models import build_model
from explorer.core.pca import compare_with_pca, linear_decoder_columns, pca, principal_angles
from explorer.ui.state import registry


@pytest.fixture
def checkpoint_dir(tmp_path, monkeypatch):
    """A checkpoints folder holding the shipped VAE (the sidebar's default) only."""
    shutil.copy(VAE_CHECKPOINT, tmp_path / VAE_CHECKPOINT.name)
    monkeypatch.setattr(registry, "CHECKPOINT_DIR", tmp_path)
    return tmp_path


def _open(app_test):
    at = app_test()
    at.run()
    at.switch_page("pages/linear_pca.py").run()
    assert not at.exception, at.exception
    return at


def test_missing_linear_ae_says_how_to_train_it(app_test, checkpoint_dir):
    at = _open(app_test)
    text = " ".join(i.value for i in at.info)
    assert "mnist_linear_ae_z2.safetensors" in text and "--likelihood gaussian_identity" in text
    assert not at.get("plotly_chart")


def test_page_shows_the_linear_ae_beside_pca(app_test, checkpoint_dir, mnist):
    model = build_model(ModelConfig(kind="ae", hidden_sizes=(), likelihood="gaussian_identity"), seed=3)
    path = save_checkpoint(checkpoint_dir / "mnist_linear_ae_z2.safetensors", model, train_config=TrainConfig(),
                           history=[], metrics={}, dataset={"name": "MNIST", "sha256": {}})
    model = load_checkpoint(path).model
    at = _open(app_test)
    expected = compare_with_pca(model, mnist.test_images)
    train_angles = principal_angles(linear_decoder_columns(model), pca(mnist.train_images, 2).components)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Principal angle 1"] == f"{float(train_angles[0]):.2f}°"
    assert shown["Principal angle 2"] == f"{float(train_angles[1]):.2f}°"
    assert shown["Linear AE squared error"] == f"{float(expected.ae_squared_error.mean()):.2f}"
    assert shown["PCA squared error"] == f"{float(expected.pca_squared_error.mean()):.2f}"
    assert "nats per image" in " ".join(c.value for c in at.caption)
    assert shown["Map residual"] == (f"{expected.fit.residual_rms:.2f} "
                                     f"({expected.fit.relative_residual:.1%})")
    for key, codes in (("linear_pca_ae_map", expected.fit.mapped), ("linear_pca_pca_map", expected.pca_codes)):
        traces = chart_spec(at, key)["data"]
        assert len(traces) == 10 and sum(len(plotly_array(t["x"])) for t in traces) == 10_000
        digit3 = (mnist.test_labels == 3).numpy()
        assert plotly_array(traces[3]["x"]) == pytest.approx(codes[digit3, 0].numpy(), rel=1e-5, abs=1e-5)
