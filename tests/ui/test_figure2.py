"""Kingma & Welling (2013) Figure 2 on the Latent size page: train and test lower bound
against training samples evaluated, from the shipped checkpoints' stored history."""

import numpy as np

from explorer.core.checkpoints import load_checkpoint
from explorer.ui.figures.model_kind_figures import lower_bound_curves

from tests.helpers.paths import REPO
from tests.helpers.charts import chart_spec, plotly_array

CHECKPOINTS = REPO / "checkpoints"
FILES = {"z=2": "mnist_vae_z2.safetensors", "z=5": "mnist_vae_z5.safetensors", "z=10": "mnist_vae_z10.safetensors",
         "z=20": "mnist_vae_z20.safetensors"}


def test_curves_count_the_samples_of_each_epoch_and_negate_the_losses():
    history = [{"epoch": 1, "train_loss": 180.0, "test_neg_elbo": 160.0},
               {"epoch": 2, "train_loss": 150.0, "test_neg_elbo": None},  # a missing value drops the epoch
               {"epoch": 3, "train_loss": 140.0, "test_neg_elbo": 139.5}]
    c = lower_bound_curves(history, 1000)
    np.testing.assert_array_equal(c["samples"], [1000, 3000])
    np.testing.assert_array_equal(c["train"], [-180.0, -140.0])
    np.testing.assert_array_equal(c["test"], [-160.0, -139.5])


def test_the_figure2_tab_draws_each_latent_size_from_its_history(app_test):
    at = app_test()
    at.run()
    at.switch_page("pages/latent_size.py").run()
    assert not at.exception, [e.message for e in at.exception]
    traces = chart_spec(at, "ls_figure2_chart")["data"]
    assert [t["name"] for t in traces] == [f"VAE {z} {part}" for z in FILES for part in ("test", "train")]
    finals = {}
    for z, file in FILES.items():
        checkpoint = load_checkpoint(CHECKPOINTS / file)
        history = checkpoint.history
        test, train = (t for t in traces if t["name"].startswith(f"VAE {z} "))
        np.testing.assert_allclose(plotly_array(test["x"]), [r["epoch"] * 60_000 for r in history])
        np.testing.assert_allclose(plotly_array(test["y"]), [-r["test_neg_elbo"] for r in history])
        np.testing.assert_allclose(plotly_array(train["y"]), [-r["train_loss"] for r in history])
        assert test["line"]["dash"] == "solid" and train["line"]["dash"] == "dash"
        finals[z] = -history[-1]["test_neg_elbo"]
    text = " ".join(m.value for m in at.markdown)
    assert "Figure 2" in text and "wake-sleep" in text
    for z, value in finals.items():
        assert f"VAE {z} {value:.1f}" in text  # the final bounds quoted beside the chart are the drawn ones
    rising = all(np.diff(list(finals.values())) > 0)
    assert ("rises with every step up in z" in text) == rising
